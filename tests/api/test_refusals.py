"""Every endpoint's refusals, always in the error shape of docs/api.md."""

import io

import pytest

from certification.models import Application, ApplicationDocument, Certificate
from registry.models import Producer, Product
from tests.api.conftest import assert_error, client_for
from tests.certification.conftest import Flow
from tests.factories import CustomsFactory, ReviewerFactory, SecretariatFactory, UserFactory, state

pytestmark = pytest.mark.django_db
S = Application.Status
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def flow(db):
    return Flow("UZ")


AUTHENTICATED_ENDPOINTS = [
    ("get", "/api/v1/producers/"),
    ("post", "/api/v1/producers/"),
    ("get", "/api/v1/products/"),
    ("post", "/api/v1/products/"),
    ("get", "/api/v1/products/1/"),
    ("patch", "/api/v1/products/1/"),
    ("get", "/api/v1/products/1/origin/"),
    ("get", "/api/v1/applications/"),
    ("post", "/api/v1/applications/"),
    ("post", "/api/v1/applications/1/submit/"),
    ("post", "/api/v1/applications/1/approve/"),
    ("post", "/api/v1/applications/1/documents/"),
    ("get", "/api/v1/certificates/"),
    ("get", "/api/v1/certificates/MCA-UZ-2026-000123-97/"),
    ("post", "/api/v1/certificates/MCA-UZ-2026-000123-97/revoke/"),
]


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_ENDPOINTS)
def test_anonymous_callers_get_401_in_the_error_shape(method, path):
    response = getattr(client_for(), method)(path, {}, format="json")
    error = assert_error(response, 401, "not_authenticated")
    assert "credentials" in error["message"].lower()
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_wrong_token_is_401():
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(client.get("/api/v1/producers/"), 401, "authentication_failed")


def test_wrong_password_is_400_with_a_clear_message(manufacturer):
    response = client_for().post(
        "/api/v1/auth/token/", {"email": manufacturer.email, "password": "nope"}, format="json"
    )
    error = assert_error(response, 400, "invalid_credentials")
    assert "wrong" in error["message"]


def test_register_refuses_weak_password_and_duplicate_email(manufacturer):
    response = client_for().post(
        "/api/v1/auth/register/",
        {"email": "new@example.org", "password": "123", "full_name": "N"},
        format="json",
    )
    assert_error(response, 400, "validation_error", fields=["password"])
    response = client_for().post(
        "/api/v1/auth/register/",
        {
            "email": manufacturer.email.upper(),
            "password": "long-Enough-pass-7",
            "full_name": "Again",
        },
        format="json",
    )
    assert_error(response, 409, "duplicate_email", fields=["email"])


def test_second_claim_of_a_tax_id_is_409_on_tax_id(flow):
    newcomer = UserFactory()
    response = client_for(newcomer).post(
        "/api/v1/producers/",
        {
            "legal_name": "Copycat LLC",
            "member_state": "UZ",
            "tax_id": flow.producer.tax_id,
            "address": "Tashkent",
            "contact_email": "c@example.org",
        },
        format="json",
    )
    error = assert_error(response, 409, "duplicate_tax_id", fields=["tax_id"])
    assert "invite" in error["fields"]["tax_id"][0]
    assert Producer.objects.filter(tax_id=flow.producer.tax_id).count() == 1


def test_producer_field_errors(manufacturer):
    response = client_for(manufacturer).post(
        "/api/v1/producers/",
        {
            "legal_name": "Typo LLP",
            "member_state": "KZ",
            "tax_id": "12345",
            "address": "Almaty",
            "contact_email": "not-an-email",
        },
        format="json",
    )
    error = assert_error(response, 400, "validation_error", fields=["contact_email"])
    response = client_for(manufacturer).post(
        "/api/v1/producers/",
        {
            "legal_name": "Typo LLP",
            "member_state": "KZ",
            "tax_id": "12345",
            "address": "Almaty",
            "contact_email": "a@example.org",
        },
        format="json",
    )
    error = assert_error(response, 400, "validation_error", fields=["tax_id"])
    assert "12 digits" in error["fields"]["tax_id"][0]
    response = client_for(manufacturer).post(
        "/api/v1/producers/",
        {
            "legal_name": "Nowhere",
            "member_state": "RU",
            "tax_id": "1",
            "address": "x",
            "contact_email": "a@example.org",
        },
        format="json",
    )
    assert_error(response, 400, "validation_error", fields=["member_state"])
    assert not Producer.objects.exists()


def test_only_manufacturers_register_producers(customs):
    response = client_for(customs).post(
        "/api/v1/producers/",
        {
            "legal_name": "X",
            "member_state": "UZ",
            "tax_id": "301234567",
            "address": "x",
            "contact_email": "a@example.org",
        },
        format="json",
    )
    assert_error(response, 403, "permission_denied")


def test_invite_members(flow):
    colleague = UserFactory()
    member = client_for(flow.member)
    url = f"/api/v1/producers/{flow.producer.pk}/members/"
    response = member.post(url, {"email": colleague.email}, format="json")
    assert response.status_code == 201 and response.json()["email"] == colleague.email
    assert colleague.producers.filter(pk=flow.producer.pk).exists()
    assert_error(member.post(url, {"email": colleague.email}, format="json"), 409)
    assert_error(
        member.post(url, {"email": "nobody@example.org"}, format="json"), 400, fields=["email"]
    )
    assert_error(
        client_for(UserFactory()).post(url, {"email": "x@example.org"}, format="json"), 404
    )


def test_product_validation_errors_per_field_and_per_material(flow):
    member = client_for(flow.member)
    response = member.post(
        "/api/v1/products/",
        {
            "producer": flow.producer.pk,
            "name": "Shirt",
            "hs_code": "999999",
            "ex_works_price": "-5",
            "materials": [
                {"description": "ok", "hs_code": "520522", "origin_country": "UZ", "value": "1"},
                {"description": "bad", "hs_code": "52", "value": "abc"},
            ],
        },
        format="json",
    )
    error = assert_error(response, 400, "validation_error", fields=["materials"])
    assert set(error["fields"]["materials"]) == {"1"}
    assert set(error["fields"]["materials"]["1"]) == {"hs_code", "value"}
    response = member.post(
        "/api/v1/products/",
        {
            "producer": flow.producer.pk,
            "name": "Shirt",
            "hs_code": "999999",
            "ex_works_price": "5.00",
            "materials": [
                {
                    "description": "too dear",
                    "hs_code": "520522",
                    "origin_country": "XX",
                    "value": "6.00",
                }
            ],
        },
        format="json",
    )
    error = assert_error(response, 400, "validation_error", fields=["hs_code", "materials"])
    assert set(error["fields"]["materials"]["0"]) == {"origin_country", "value"}
    assert Product.objects.filter(name="Shirt").count() == 0


def test_products_of_other_producers_are_invisible(flow):
    stranger = client_for(UserFactory())
    for method, suffix in (("get", ""), ("patch", ""), ("get", "origin/")):
        response = getattr(stranger, method)(
            f"/api/v1/products/{flow.product.pk}/{suffix}", {"name": "Hijacked"}, format="json"
        )
        assert_error(response, 404, "not_found")
    flow.product.refresh_from_db()
    assert flow.product.name != "Hijacked"
    response = stranger.post(
        "/api/v1/products/",
        {
            "producer": flow.producer.pk,
            "name": "Sneaky",
            "hs_code": "610910",
            "ex_works_price": "5.00",
        },
        format="json",
    )
    assert_error(response, 400, fields=["producer"])


def test_patch_replaces_materials_and_reports_errors(flow):
    member = client_for(flow.member)
    url = f"/api/v1/products/{flow.product.pk}/"
    response = member.patch(url, {"ex_works_price": "1.00"}, format="json")
    assert_error(response, 400, fields=["ex_works_price"])
    response = member.patch(
        url,
        {
            "materials": [
                {
                    "description": "Fabric",
                    "hs_code": "600632",
                    "origin_country": "CN",
                    "value": "6.00",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert [m["description"] for m in response.json()["materials"]] == ["Fabric"]
    assert member.get(f"{url}origin/").json()["verdict"] == "FAIL"


@pytest.mark.parametrize("actor", ["member", "other_state_reviewer", "customs", "secretariat"])
def test_only_the_states_reviewer_approves(flow, actor):
    app = flow.application(S.UNDER_REVIEW)
    user = {
        "member": lambda: flow.member,
        "other_state_reviewer": lambda: ReviewerFactory(member_state=state("KZ")),
        "customs": CustomsFactory,
        "secretariat": SecretariatFactory,
    }[actor]()
    response = client_for(user).post(f"/api/v1/applications/{app.pk}/approve/")
    expected = 404 if actor in ("other_state_reviewer", "customs") else 403
    assert_error(response, expected)
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW and not Certificate.objects.exists()


def test_transition_from_the_wrong_state_is_409(flow):
    app = flow.application(S.APPROVED)
    response = client_for(flow.reviewer).post(f"/api/v1/applications/{app.pk}/approve/")
    error = assert_error(response, 409, "transition_not_allowed")
    assert "approved" in error["message"]
    assert Certificate.objects.count() == 1


def test_reject_without_comment_is_400(flow):
    app = flow.application(S.UNDER_REVIEW)
    response = client_for(flow.reviewer).post(
        f"/api/v1/applications/{app.pk}/reject/", {"comment": ""}, format="json"
    )
    assert_error(response, 400, "validation_error", fields=["comment"])


def test_application_filters(flow):
    submitted = flow.application(S.SUBMITTED)
    flow.application(S.UNDER_REVIEW, product=flow.make_product())
    failing = flow.application(S.SUBMITTED, product=flow.make_product(passing=False))
    reviewer = client_for(flow.reviewer)
    ids = [
        a["id"] for a in reviewer.get("/api/v1/applications/?status=submitted").json()["results"]
    ]
    assert ids == [submitted.pk, failing.pk]
    flagged = reviewer.get("/api/v1/applications/?flagged=true").json()["results"]
    assert [a["id"] for a in flagged] == [failing.pk] and flagged[0]["flagged"] is True
    assert_error(
        reviewer.get("/api/v1/applications/?status=nonsense"),
        400,
        "validation_error",
        fields=["status"],
    )
    later = reviewer.get("/api/v1/applications/?submitted_after=2999-01-01T00:00:00Z")
    assert later.json()["count"] == 0


def test_documents_are_checked_by_content(flow):
    app = flow.application(S.DRAFT)
    member = client_for(flow.member)
    url = f"/api/v1/applications/{app.pk}/documents/"
    fake = io.BytesIO(b"MZ\x90\x00 this is an executable")
    fake.name = "invoice.pdf"
    assert_error(member.post(url, {"file": fake}, format="multipart"), 400, fields=["file"])
    real = io.BytesIO(PDF)
    real.name = "invoice.exe"
    response = member.post(url, {"file": real}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "application/pdf" and body["size"] == len(PDF)
    import hashlib

    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    document = ApplicationDocument.objects.get()
    assert document.file.read() == PDF
    assert document.file.name.endswith(".pdf")
    assert_error(member.post(url, {}, format="multipart"), 400, fields=["file"])
    assert_error(member.post(url, {"file": "x"}, format="json"), 415, "unsupported_media_type")


def test_oversized_upload_is_413_and_nothing_is_stored(flow):
    app = flow.application(S.DRAFT)
    big = io.BytesIO(PDF + b"0" * (10 * 1024 * 1024))
    big.name = "scan.pdf"
    response = client_for(flow.member).post(
        f"/api/v1/applications/{app.pk}/documents/", {"file": big}, format="multipart"
    )
    assert_error(response, 413, "too_large")
    assert not ApplicationDocument.objects.exists()


def test_documents_only_while_the_application_is_editable(flow):
    app = flow.application(S.SUBMITTED)
    pdf = io.BytesIO(PDF)
    pdf.name = "a.pdf"
    response = client_for(flow.member).post(
        f"/api/v1/applications/{app.pk}/documents/", {"file": pdf}, format="multipart"
    )
    assert_error(response, 409, "transition_not_allowed")


def test_unknown_paths_and_methods_answer_in_the_error_shape(manufacturer):
    client = client_for(manufacturer)
    assert_error(client.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error(client.delete("/api/v1/producers/"), 405, "method_not_allowed")
    assert_error(client.put("/api/v1/products/1/", {}, format="json"), 405)
    response = client.generic(
        "POST", "/api/v1/producers/", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_unexpected_errors_are_500_in_the_error_shape(flow, monkeypatch):
    from certification.api import views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "product_assessment", explode)
    client = client_for(flow.member)
    client.raise_request_exception = False
    response = client.get(f"/api/v1/products/{flow.product.pk}/origin/")
    error = assert_error(response, 500, "server_error")
    assert "boom" not in error["message"]


def test_throttled_callers_get_429_with_retry_after(manufacturer, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"address": "1000/min", "token": "3/min", "customs": "5/min", "auth": "30/min"},
    )
    # Mid-minute: the sliding window weighs the previous minute, never a calendar boundary.
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: 1_000_030.0)
    client = client_for(manufacturer)
    statuses = [client.get("/api/v1/producers/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/producers/")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    anonymous = client_for()
    codes = [
        anonymous.post(
            "/api/v1/auth/token/", {"email": "a@b.c", "password": "x"}, format="json"
        ).status_code
        for _ in range(31)
    ]
    assert codes[:30] == [400] * 30 and codes[30] == 429


def test_application_filter_refuses_ids_beyond_the_database(flow):
    reviewer = client_for(flow.reviewer)
    for value in ("2.07e+24", "99999999999999999999999", "-1", "abc"):
        response = reviewer.get(f"/api/v1/applications/?product={value}")
        assert_error(response, 400, "validation_error", fields=["product"])


def test_ids_beyond_the_database_are_404(flow):
    member = client_for(flow.member)
    for path in (
        "/api/v1/products/99999999999999999999999/",
        "/api/v1/applications/2e24/",
        "/api/v1/producers/-1/",
    ):
        assert_error(member.get(path), 404, "not_found")


def test_a_forged_forwarded_for_header_does_not_escape_the_address_throttle(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"address": "1000/min", "token": "1000/min", "customs": "1000/min", "auth": "30/min"},
    )
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: 2_000_030.0)
    anonymous = client_for()
    responses = [
        anonymous.post(
            "/api/v1/auth/token/",
            {"email": "a@b.c", "password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}",  # a new "address" every time
        )
        for attempt in range(31)
    ]
    codes = [response.status_code for response in responses]
    assert codes[:30] == [400] * 30 and codes[30] == 429
    for response in responses[:30]:  # "a@b.c" is refused as an address, yet counted
        assert_error(response, 400, "validation_error", fields=("email",))
    assert_error(responses[30], 429, "throttled")
