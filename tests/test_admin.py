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
    assert b"errornote" in response.content or b"errorlist" in response.content


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
