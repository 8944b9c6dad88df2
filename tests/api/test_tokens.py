"""API tokens (docs/api.md, "Signing in"): issued for email, password and, where the account
has or needs a second factor, its one-time code; named, expiring, listed and revoked over
the API and on /account/tokens/; kept as their SHA-256 only; an expired or revoked token, or
a deactivated account's, is refused at once with the error body; a reviewer without a
second factor approves nothing through the API."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from certification.models import Application, AuditEvent
from registry.models import ApiToken
from tests.api.conftest import assert_error, client_for
from tests.certification.conftest import Flow
from tests.credentials import api_key, current_code, enrolled, wrong_code
from tests.factories import PASSWORD, CustomsFactory, UserFactory
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db
S = Application.Status


@pytest.fixture
def flow(db):
    return Flow("UZ")


def issue(**body):
    return APIClient().post("/api/v1/auth/token/", body, format="json")


def with_key(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- Issuing ---------------------------------------------------------------------------------


def test_a_manufacturer_gets_a_named_token_that_expires_in_90_days(manufacturer):
    response = issue(email=manufacturer.email, password=PASSWORD, name="ERP")
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("mca_") and len(body["token"]) == 47
    assert body["name"] == "ERP" and body["prefix"] == body["token"][:12]
    expires = datetime.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - timezone.now() - datetime.timedelta(days=90)).total_seconds() < 60
    assert with_key(body["token"]).get("/api/v1/producers/").status_code == 200
    # Asking again makes another token; the first keeps working.
    second = issue(email=manufacturer.email, password=PASSWORD).json()
    assert second["token"] != body["token"] and second["name"] == "API"
    assert with_key(body["token"]).get("/api/v1/producers/").status_code == 200


def test_answers_that_carry_a_new_key_are_not_stored_by_caches(manufacturer):
    issued = issue(email=manufacturer.email, password=PASSWORD, name="ERP")
    assert issued.status_code == 200 and issued.json()["token"].startswith("mca_")
    assert issued["Cache-Control"] == "no-store"
    session = APIClient()
    session.force_login(manufacturer)
    made = session.post("/api/v1/auth/tokens/", {"name": "scanner"}, format="json")
    assert made.status_code == 201 and made.json()["token"].startswith("mca_")
    assert made["Cache-Control"] == "no-store"


def test_a_reviewer_needs_the_one_time_code(flow):
    reviewer = flow.reviewer
    bare = issue(email=reviewer.email, password=PASSWORD)
    assert_error(bare, 403, "second_factor_required")
    enrolled(reviewer)
    missing = issue(email=reviewer.email, password=PASSWORD)
    assert_error(missing, 401, "otp_required")
    wrong = issue(email=reviewer.email, password=PASSWORD, otp=wrong_code(reviewer))
    assert_error(wrong, 400, "invalid_otp", fields=["otp"])
    right = issue(email=reviewer.email, password=PASSWORD, otp=current_code(reviewer))
    assert right.status_code == 200
    assert with_key(right.json()["token"]).get("/api/v1/applications/").status_code == 200
    actions = list(AuditEvent.objects.filter(target_type="user").values_list("action", "data"))
    assert (
        "account.sign_in_failed",
        {"step": "second_factor", "address": "127.0.0.1", "via": "api"},
    ) in actions
    assert ("account.signed_in", {"step": "token", "address": "127.0.0.1", "via": "api"}) in actions


def test_a_wrong_password_is_the_same_answer_as_before(manufacturer):
    assert_error(issue(email=manufacturer.email, password="x"), 400, "invalid_credentials")
    assert_error(issue(email="nobody@example.org", password="x"), 400, "invalid_credentials")


def test_issuing_waits_longer_after_failures_and_then_works(manufacturer, monkeypatch):
    from certification.core import login_guard

    now = [2_000_000.0]
    monkeypatch.setattr(login_guard, "clock", lambda: now[0])
    for _ in range(login_guard.FREE_FAILURES + 1):
        issue(email=manufacturer.email, password="wrong")
    held = issue(email=manufacturer.email, password=PASSWORD)
    assert_error(held, 429, "throttled")
    assert int(held["Retry-After"]) >= 1
    now[0] += 2
    assert issue(email=manufacturer.email, password=PASSWORD).status_code == 200


def test_a_customs_account_may_be_allowed_a_year_by_the_secretariat():
    customs = CustomsFactory()
    refused = issue(email=customs.email, password=PASSWORD, days=365)
    assert_error(refused, 400, "validation_error", fields=["days"])
    customs.api_token_days = 365
    customs.full_clean()
    customs.save()
    body = issue(email=customs.email, password=PASSWORD).json()
    token = ApiToken.objects.get(pk=body["id"])
    assert (token.expires_at - token.created_at).days == 365
    maker = UserFactory(api_token_days=365)
    with pytest.raises(ValidationError, match="only customs officers"):
        maker.full_clean()


# --- Listing and revoking ----------------------------------------------------------------------


def test_tokens_are_listed_without_keys_made_and_revoked_over_the_api(manufacturer):
    key = api_key(manufacturer, name="first")
    client = with_key(key)
    session = APIClient()
    session.force_login(manufacturer)
    made = session.post("/api/v1/auth/tokens/", {"name": "scanner", "days": 7}, format="json")
    assert made.status_code == 201
    new_key = made.json()["token"]
    listed = client.get("/api/v1/auth/tokens/").json()["results"]
    assert [(t["name"], t["status"], t["current"]) for t in listed] == [
        ("scanner", "active", False),
        ("first", "active", True),
    ]
    assert new_key not in str(listed) and key not in str(listed)
    assert all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/auth/tokens/{made.json()['id']}/").status_code == 204
    assert_error(with_key(new_key).get("/api/v1/producers/"), 401, "authentication_failed")
    again = client.delete(f"/api/v1/auth/tokens/{made.json()['id']}/")
    assert_error(again, 409, "transition_not_allowed")
    # Another account's token is not found.
    other = client_for(UserFactory())
    assert_error(other.delete(f"/api/v1/auth/tokens/{made.json()['id']}/"), 404, "not_found")
    created, revoked = AuditEvent.objects.filter(target_type="apitoken").order_by("id")
    assert (created.action, revoked.action) == ("token.created", "token.revoked")
    assert created.data["prefix"] == new_key[:12] and new_key not in str(created.data)


def test_a_token_makes_no_new_tokens_a_session_or_the_password_does(manufacturer, flow):
    key = api_key(manufacturer)
    refused = with_key(key).post("/api/v1/auth/tokens/", {"name": "more"}, format="json")
    error = assert_error(refused, 403, "session_required")
    assert "auth/token/" in error["message"]
    assert ApiToken.objects.count() == 1
    assert not AuditEvent.objects.filter(action="token.created").exists()
    # An official's token neither, though its account has its app.
    reviewer_key = api_key(flow.reviewer)
    refused = with_key(reviewer_key).post("/api/v1/auth/tokens/", {"name": "x"}, format="json")
    assert_error(refused, 403, "session_required")
    assert ApiToken.objects.count() == 2
    # A browser session makes one; so does the password at auth/token/.
    session = APIClient()
    session.force_login(manufacturer)
    assert session.post("/api/v1/auth/tokens/", {"name": "more"}, format="json").status_code == 201
    assert issue(email=manufacturer.email, password=PASSWORD).status_code == 200
    assert ApiToken.objects.filter(user=manufacturer).count() == 3


def test_an_expired_or_revoked_token_gets_401_with_the_error_body(manufacturer):
    now = timezone.now()
    expired = api_key(manufacturer, expires_at=now - datetime.timedelta(minutes=1))
    revoked = api_key(manufacturer, revoked_at=now)
    error = assert_error(with_key(expired).get("/api/v1/producers/"), 401, "authentication_failed")
    assert "expired" in error["message"]
    error = assert_error(with_key(revoked).get("/api/v1/producers/"), 401, "authentication_failed")
    assert "revoked" in error["message"]
    error = assert_error(with_key("mca_nothing").get("/api/v1/producers/"), 401)
    assert error["message"] == "Invalid token."


def test_a_deactivated_accounts_tokens_stop_at_once(manufacturer):
    client = client_for(manufacturer)
    assert client.get("/api/v1/producers/").status_code == 200
    manufacturer.is_active = False
    manufacturer.save()
    assert_error(client.get("/api/v1/producers/"), 401, "authentication_failed")


def test_token_rows_hold_no_usable_token(manufacturer):
    key = api_key(manufacturer)
    row = ApiToken.objects.values().get()
    assert key not in str(row)
    assert row["digest"] != key and len(row["digest"]) == 64 and key.startswith(row["prefix"])
    for stored in (row["digest"], row["prefix"]):
        assert_error(with_key(stored).get("/api/v1/producers/"), 401, "authentication_failed")


def test_the_portal_lists_makes_and_revokes_tokens(client, manufacturer):
    client.force_login(manufacturer)
    made = client.post("/account/tokens/", {"name": "border post 3", "days": "30"})
    page = text(made)
    key = page.split('id="new-token">')[1].split("<")[0]
    assert (
        made.status_code == 200 and key.startswith("mca_") and made["Cache-Control"] == "no-store"
    )
    assert with_key(key).get("/api/v1/producers/").status_code == 200
    listed = text(client.get("/account/tokens/"))
    assert "border post 3" in listed and key[:12] in listed and key not in listed
    token = ApiToken.objects.get()
    assert (token.expires_at - token.created_at).days == 30
    client.post(f"/account/tokens/{token.pk}/revoke/")
    assert "revoked" in text(client.get("/account/tokens/"))
    assert_error(with_key(key).get("/api/v1/producers/"), 401, "authentication_failed")


# --- A reviewer without a second factor approves nothing through the API -----------------------


def test_a_reviewer_without_a_second_factor_cannot_approve_through_the_api(flow, client):
    application = flow.application(S.UNDER_REVIEW)
    path = f"/api/v1/applications/{application.pk}/approve/"
    # A token made before the second factor was required (or kept after a reset).
    bare = client_for(flow.reviewer, second_factor=False)
    assert_error(bare.post(path, {"comment": ""}, format="json"), 403, "second_factor_required")
    # A browser session the app has not confirmed.
    session = APIClient()
    session.force_login(flow.reviewer, second_factor=False)
    assert_error(session.post(path, {"comment": ""}, format="json"), 403, "second_factor_required")
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW
    # Once the reviewer has an app, the same token acts.
    enrolled(flow.reviewer)
    assert bare.post(path, {"comment": ""}, format="json").status_code == 200


def test_second_factor_required_is_said_in_the_callers_language(flow):
    from django.utils import translation

    from certification.api.authentication import SecondFactorRequired

    bare = client_for(flow.reviewer, second_factor=False)
    english = assert_error(bare.get("/api/v1/applications/"), 403, "second_factor_required")
    russian = assert_error(
        bare.get("/api/v1/applications/", HTTP_ACCEPT_LANGUAGE="ru"), 403, "second_factor_required"
    )
    with translation.override("ru"):
        expected = str(SecondFactorRequired.default_detail)
    assert russian["message"] == expected != english["message"]
    assert "Эксперты" in russian["message"]
    assert english["message"].startswith("Reviewers and the secretariat act only")
