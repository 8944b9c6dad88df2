"""The whole flow over HTTP, as a manufacturer, a reviewer and a customs officer would."""

import pytest

from certification.models import Certificate
from tests.api.conftest import assert_error, client_for
from tests.factories import CustomsFactory, ReviewerFactory, UserFactory, state

pytestmark = pytest.mark.django_db


def test_register_apply_review_approve_and_read_the_certificate():
    anonymous = client_for()
    response = anonymous.post(
        "/api/v1/auth/register/",
        {"email": "Owner@Silk.example", "password": "long-Enough-pass-7", "full_name": "Dilnoza"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "owner@silk.example"
    assert response.json()["role"] == "manufacturer"
    response = anonymous.post(
        "/api/v1/auth/token/",
        {"email": "owner@silk.example", "password": "long-Enough-pass-7"},
        format="json",
    )
    assert response.status_code == 200
    maker = client_for()
    maker.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")

    response = maker.post(
        "/api/v1/producers/",
        {
            "legal_name": "Samarkand Silk LLC",
            "member_state": "UZ",
            "tax_id": "301 234 567",
            "address": "Samarkand, Registan st. 1",
            "contact_email": "office@silk.example",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    producer = response.json()
    assert producer["tax_id"] == "301234567" and producer["verified"] is False

    response = maker.post(
        "/api/v1/products/",
        {
            "producer": producer["id"],
            "name": "Silk scarf fabric",
            "hs_code": "500720",
            "ex_works_price": "40.00",
            "currency": "USD",
            "process_steps": ["weaving", "dyeing"],
            "materials": [
                {
                    "description": "Silk yarn",
                    "hs_code": "500400",
                    "origin_country": "UZ",
                    "value": "18.00",
                },
                {"description": "Acid dye", "hs_code": "320412", "value": "2.00"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    product = response.json()
    assert [m["origin_country"] for m in product["materials"]] == ["UZ", None]

    response = maker.get(f"/api/v1/products/{product['id']}/origin/")
    assert response.status_code == 200
    origin = response.json()
    assert origin["verdict"] == "PASS"
    assert origin["rule"]["scope"] == "5007"
    assert {c["type"] for c in origin["criteria"]} >= {"CTH"}

    response = maker.post("/api/v1/applications/", {"product": product["id"]}, format="json")
    assert response.status_code == 201, response.content
    app_id = response.json()["id"]
    assert response.json()["status"] == "draft"
    response = maker.post(f"/api/v1/applications/{app_id}/submit/")
    assert response.json()["status"] == "submitted"
    assert response.json()["assessment"]["verdict"] == "PASS"

    reviewer = client_for(ReviewerFactory(member_state=state("UZ")))
    queue = reviewer.get("/api/v1/applications/?status=submitted").json()
    assert [a["id"] for a in queue["results"]] == [app_id]
    assert (
        reviewer.post(f"/api/v1/applications/{app_id}/start-review/").json()["status"]
        == "under_review"
    )
    response = reviewer.post(
        f"/api/v1/applications/{app_id}/request-changes/",
        {"comment": "Attach the yarn supplier's declaration."},
        format="json",
    )
    assert response.json()["status"] == "changes_requested"
    assert response.json()["last_comment"].startswith("Attach the yarn")
    assert maker.post(f"/api/v1/applications/{app_id}/submit/").json()["status"] == "submitted"
    reviewer.post(f"/api/v1/applications/{app_id}/start-review/")
    response = reviewer.post(f"/api/v1/applications/{app_id}/approve/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    certificate = body["certificate"]
    assert certificate["number"].startswith("MCA-UZ-")
    assert certificate["status"] == "valid"
    assert certificate["producer"] == {
        "name": "Samarkand Silk LLC",
        "country": "UZ",
        "tax_id": "301234567",
    }
    assert certificate["token"].count(".") == 2
    number = certificate["number"]

    holder_view = maker.get(f"/api/v1/certificates/{number.lower()}/")
    assert holder_view.status_code == 200 and holder_view.json()["number"] == number
    customs_view = client_for(CustomsFactory(member_state=state("KZ"))).get(
        f"/api/v1/certificates/{number}/"
    )
    assert customs_view.status_code == 200
    assert customs_view.json()["product"]["hs_code"] == "500720"
    stranger = client_for(UserFactory()).get(f"/api/v1/certificates/{number}/")
    assert_error(stranger, 404, "not_found")
    assert maker.get("/api/v1/producers/").json()["results"][0]["verified"] is True
    assert Certificate.objects.count() == 1
