"""Every page people use, checked by axe-core in Chromium against WCAG 2.1 A and AA, at a
phone's size and a desktop's: no serious or critical violation. The pages are visited
with data in them (a producer, products, applications in several states, certificates),
as the people who use them: visitors, a manufacturer, a reviewer."""

import pytest

from certification.documents import store
from certification.models import Application, Certificate
from tests.browser.conftest import MISSING, SKIP_REASON
from tests.browser.pages import accessibility_violations, sign_in
from tests.certification.conftest import Flow
from tests.factories import SecretariatFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
S = Application.Status

PUBLIC = ["/", "/account/signup/", "/account/login/", "/account/password/reset/", "/verify/"]


def manufacturer_pages(flow):
    draft = flow.application()
    changes = flow.application(S.CHANGES_REQUESTED, product=flow.make_product(passing=False))
    approved = flow.application(S.APPROVED, product=flow.make_product())
    certificate = Certificate.objects.get(application=approved)
    store.render_and_store(certificate.pk)
    producer, product = flow.producer.pk, flow.product.pk
    return [
        "/portal/",
        "/account/",
        "/account/password/",
        "/portal/producers/",
        "/portal/producers/new/",
        f"/portal/producers/{producer}/",
        f"/portal/producers/{producer}/edit/",
        "/portal/products/",
        "/portal/products/new/",
        "/portal/products/import/",
        f"/portal/products/{product}/",
        f"/portal/products/{product}/edit/",
        "/portal/applications/",
        f"/portal/applications/{draft.pk}/",
        f"/portal/applications/{changes.pk}/",
        f"/portal/applications/{approved.pk}/",
        "/portal/certificates/",
        f"/portal/certificates/{certificate.number}/",
        f"/verify/{certificate.number}/?t={certificate.token}",
    ]


def reviewer_pages(flow):
    waiting = flow.application(S.SUBMITTED)
    reviewing = flow.application(S.UNDER_REVIEW, product=flow.make_product(passing=False))
    approved = flow.application(S.APPROVED, product=flow.make_product())
    certificate = Certificate.objects.get(application=approved)
    return [
        "/workspace/",
        "/workspace/?view=decided",
        f"/workspace/applications/{waiting.pk}/",
        f"/workspace/applications/{reviewing.pk}/",
        f"/workspace/applications/{approved.pk}/",
        "/workspace/certificates/",
        f"/workspace/certificates/{certificate.number}/",
        "/workspace/producers/",
        f"/workspace/producers/{flow.producer.pk}/",
    ]


def violations_on(browser, live_server, paths):
    found = {}
    for path in paths:
        browser.get(live_server.url + path)
        assert "Server Error" not in browser.title and "Not Found" not in browser.title, path
        violations = accessibility_violations(browser)
        if violations:
            found[path] = violations
    return found


def test_public_pages(browser, live_server):
    flow = Flow("UZ")
    approved = flow.application(S.APPROVED)
    certificate = Certificate.objects.get(application=approved)
    register = [
        "/registry/",
        "/registry/?q=cotton",
        "/registry/?q=zzzzqqq",
        f"/registry/products/{flow.product.pk}/",
        f"/registry/producers/{flow.producer.pk}/",
        "/registry/statistics/",
        f"/verify/{certificate.number}/",
    ]
    assert violations_on(browser, live_server, PUBLIC + register) == {}


def test_manufacturer_pages(browser, live_server):
    flow = Flow("UZ")
    pages = manufacturer_pages(flow)
    sign_in(browser, live_server, flow.member)
    assert violations_on(browser, live_server, pages) == {}


def test_workspace_pages(browser, live_server):
    flow = Flow("UZ")
    pages = reviewer_pages(flow)
    sign_in(browser, live_server, flow.reviewer)
    assert violations_on(browser, live_server, pages) == {}


def test_secretariat_pages(browser, live_server):
    flow = Flow("UZ")
    pages = reviewer_pages(flow) + ["/workspace/overview/"]
    sign_in(browser, live_server, SecretariatFactory())
    assert violations_on(browser, live_server, pages) == {}
