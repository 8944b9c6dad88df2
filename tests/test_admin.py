"""The admin works for the secretariat: every list and the product's origin assessment."""

import pytest
from django.contrib import admin
from django.urls import reverse

from registry.models import Criterion, Product, Rule
from tests.certification.conftest import Flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, secretariat):
    secretariat.is_staff = True
    secretariat.is_superuser = True
    secretariat.save()
    client.force_login(secretariat)
    return client


def test_every_admin_list_opens(staff_client):
    flow = Flow("UZ")
    flow.application("approved")
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = staff_client.get(url)
        assert response.status_code == 200, url


def test_product_page_shows_its_origin_assessment(staff_client):
    flow = Flow("UZ")
    polyester = flow.make_product(passing=False)
    response = staff_client.get(reverse("admin:registry_product_change", args=[polyester.pk]))
    page = response.content.decode()
    assert "FAIL" in page and "60%" in page and "Knitted polyester fabric" in page


def _rule_form(rule, **changes):
    """The admin's change form of a rule as posted, with changes to its criteria
    (by type: {field: value})."""
    criteria = list(rule.criteria.all())
    data = {
        "rule_set": rule.rule_set_id, "scope": rule.scope, "description": rule.description,
        "criteria-TOTAL_FORMS": str(len(criteria)), "criteria-INITIAL_FORMS": str(len(criteria)),
        "criteria-MIN_NUM_FORMS": "0", "criteria-MAX_NUM_FORMS": "1000",
    }
    for index, criterion in enumerate(criteria):
        fields = {
            "id": criterion.pk, "rule": rule.pk, "alternative": criterion.alternative,
            "position": criterion.position, "type": criterion.type, "pct": criterion.pct or "",
            "except_prefixes": criterion.except_prefixes, "chapters": criterion.chapters,
            "prefixes": criterion.prefixes,
        }
        fields.update(changes.get(criterion.type, {}))
        data.update({f"criteria-{index}-{key}": value for key, value in fields.items()})
    return data


def test_a_rule_that_cannot_be_evaluated_is_refused(staff_client):
    rule = Rule.objects.get(rule_set__code="MCA-2026", scope="7408")
    url = reverse("admin:registry_rule_change", args=[rule.pk])
    # MAXNOM without its percentage cannot be evaluated.
    response = staff_client.post(url, _rule_form(rule, MAXNOM={"pct": ""}))
    assert response.status_code == 200  # the form again, with the error
    assert Criterion.objects.get(rule=rule, type="MAXNOM").pct is not None
    page = response.content.decode()
    assert '<p class="errornote">' in page
    assert '<ul class="errorlist nonfield"><li>MAXNOM needs a percentage.</li></ul>' in page


def test_a_reversed_prefix_range_is_a_form_error_not_a_crash(staff_client):
    rule = Rule.objects.get(rule_set__code="MCA-2026", scope="7408")
    url = reverse("admin:registry_rule_change", args=[rule.pk])
    response = staff_client.post(url, _rule_form(rule, CTH={"except_prefixes": "5113-5111"}))
    assert response.status_code == 200
    assert "5113-5111 is not a prefix range." in response.content.decode()
    assert Criterion.objects.get(rule=rule, type="CTH").except_prefixes == ""


def test_session_callers_need_csrf_for_writes(client, manufacturer):
    client.force_login(manufacturer)
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manufacturer)
    response = strict.post("/api/v1/producers/", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in response.json()["error"]["message"]
    assert strict.get("/api/v1/producers/").status_code == 200
    assert Product.objects.count() == 0


# --- The admin opens only in a session an authenticator app confirmed ---------------------


def test_the_admin_needs_the_second_factor(client, secretariat):
    from tests.credentials import current_code, enrolled

    secretariat.is_staff = secretariat.is_superuser = True
    secretariat.save()
    client.force_login(secretariat, second_factor=False)
    response = client.get("/admin/certification/application/")
    assert response.status_code == 302
    # The admin's sign-in is the registry's second step (no app yet: set one up), and back.
    response = client.get(response["Location"])
    assert response["Location"] == (
        "/account/two-factor/setup/?next=%2Fadmin%2Fcertification%2Fapplication%2F"
    )
    enrolled(secretariat)
    response = client.get("/admin/login/?next=/admin/")
    assert response["Location"] == "/account/login/code/?next=%2Fadmin%2F"
    client.post("/account/login/code/", {"code": current_code(secretariat), "next": "/admin/"})
    assert client.get("/admin/certification/application/").status_code == 200


def test_signed_out_the_admin_sends_to_the_registrys_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/account/login/?next=%2Fadmin%2F"


def test_the_secretariat_resets_a_second_factor_in_the_admin_audited(staff_client):
    from certification.models import AuditEvent
    from registry.models import AuthenticatorDevice
    from tests.credentials import enrolled
    from tests.factories import ReviewerFactory

    reviewer = ReviewerFactory()
    enrolled(reviewer)
    listing = staff_client.get("/admin/registry/user/")
    assert listing.status_code == 200 and "second factor" in listing.content.decode().lower()
    staff_client.post(
        "/admin/registry/user/",
        {"action": "reset_second_factor", "_selected_action": [reviewer.pk]},
    )
    assert not AuthenticatorDevice.objects.filter(user=reviewer).exists()
    event = AuditEvent.objects.get(action="account.otp_reset")
    assert event.target_id == str(reviewer.pk)


def test_the_secretariat_revokes_tokens_and_sets_a_customs_lifetime_in_the_admin(staff_client):
    from django.utils import timezone

    from registry.models import ApiToken
    from tests.credentials import api_key
    from tests.factories import CustomsFactory

    customs = CustomsFactory()
    key = api_key(customs)
    token = ApiToken.objects.get()
    page = staff_client.get("/admin/registry/apitoken/").content.decode()
    assert token.prefix in page and key not in page
    staff_client.post(
        "/admin/registry/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_at <= timezone.now()
    change = staff_client.get(f"/admin/registry/user/{customs.pk}/change/").content.decode()
    assert 'name="api_token_days"' in change


def test_the_admin_has_no_password_form_of_its_own(client, reviewer, secretariat):
    """/admin/login/ checks no password, for any account: whether the password of another
    account is right or wrong, a confirmed session that is not staff gets the same refusal,
    and a staff session goes on to its page, still signed in as itself."""
    from tests.factories import PASSWORD

    secretariat.is_staff = True
    secretariat.save()
    client.force_login(reviewer)  # confirmed by its app, not staff
    answers = [
        client.post("/admin/login/", {"username": secretariat.email, "password": password})
        for password in (PASSWORD, "wrong-Password-1")
    ]
    assert [answer.status_code for answer in answers] == [403, 403]
    assert answers[0].content == answers[1].content
    assert all(b'name="password"' not in answer.content for answer in answers)
    assert client.get("/admin/login/").status_code == 403
    assert int(client.session["_auth_user_id"]) == reviewer.pk

    client.force_login(secretariat)  # staff, confirmed
    response = client.post(
        "/admin/login/?next=/admin/registry/", {"username": reviewer.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/registry/"
    assert int(client.session["_auth_user_id"]) == secretariat.pk
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/login/?next=/admin/registry/user/")["Location"] == (
        "/admin/registry/user/"
    )


def test_signed_out_the_admin_login_sends_to_the_registrys_sign_in_on_post_too(client):
    from tests.factories import PASSWORD, SecretariatFactory

    secretariat = SecretariatFactory(is_staff=True)
    response = client.post(
        "/admin/login/?next=/admin/registry/",
        {"username": secretariat.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=%2Fadmin%2Fregistry%2F"
    assert "_auth_user_id" not in client.session


def test_a_producers_names_and_identity_are_read_only_in_the_admin(staff_client):
    flow = Flow("UZ")
    url = reverse("admin:registry_producer_change", args=[flow.producer.pk])
    page = staff_client.get(url).content.decode()
    for field in ("legal_name", "trade_name", "kind", "member_state", "tax_id"):
        assert f'name="{field}"' not in page, field
    assert 'name="address"' in page
