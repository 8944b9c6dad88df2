"""The reviewers' workspace: the queue of the state's applications (oldest first, age in
days, verdict, filters, the count on the navigation), the application's page with what a
decision rests on, the decisions (comments required where the rules say, against the
engine's verdict only with a reason, shown as such), two reviewers acting at once, and
every role on every page and form."""

import datetime
import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from certification.models import Application, ApplicationDocument, AuditEvent, Certificate
from certification.workflow import services
from registry import origin
from registry.selectors import product_input, rule_set_in_force
from tests.api.conftest import client_for
from tests.certification.conftest import Flow
from tests.factories import ProductFactory, ReviewerFactory, SecretariatFactory
from tests.portal.conftest import rows, text, workspace_roles

pytestmark = pytest.mark.django_db
S = Application.Status
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def test_the_queue_lists_the_states_waiting_applications_oldest_first(reviewing, flow):
    newer = flow.application(S.SUBMITTED)
    older = flow.application(S.SUBMITTED, product=flow.make_product(passing=False))
    Application.objects.filter(pk=older.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=9)
    )
    flow.application()  # a draft: not the reviewer's business
    elsewhere = Flow("KZ").application(S.SUBMITTED)

    page = text(reviewing.get("/workspace/"))

    listed = rows(page)
    assert len(listed) == 2
    assert f"/workspace/applications/{older.pk}/" in listed[0]
    assert "9 days" in listed[0] and "does not qualify" in listed[0]
    assert f"/workspace/applications/{newer.pk}/" in listed[1]
    assert "0 days" in listed[1] and "qualifies" in listed[1]
    assert f"/workspace/applications/{elsewhere.pk}/" not in page
    assert "2 applications, oldest first" in page
    # The navigation counts what waits.
    assert '<span class="badge"><span class="visually-hidden">(</span>2<' in page


def test_the_queue_filters_by_status_chapter_and_age(reviewing, flow):
    waiting = flow.application(S.SUBMITTED)
    decided = flow.application(S.APPROVED, product=flow.make_product())
    changes = flow.application(S.CHANGES_REQUESTED, product=flow.make_product())
    shoes = ProductFactory(producer=flow.producer, hs_code="640399")
    old_shoes = flow.application(S.SUBMITTED, product=shoes)
    Application.objects.filter(pk=old_shoes.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=20)
    )

    def listed(query):
        page = text(reviewing.get("/workspace/", query))
        return {
            app.pk
            for app in (waiting, decided, changes, old_shoes)
            if f"/workspace/applications/{app.pk}/" in page
        }

    assert listed({}) == {waiting.pk, old_shoes.pk}
    assert listed({"view": "decided"}) == {decided.pk}
    assert listed({"view": "changes_requested"}) == {changes.pk}
    assert listed({"chapter": "64"}) == {old_shoes.pk}
    assert listed({"older_than": "14"}) == {old_shoes.pk}
    assert listed({"older_than": "30"}) == set()


def test_a_wrong_chapter_is_a_form_error(reviewing, flow):
    response = reviewing.get("/workspace/", {"chapter": "6x"})
    assert response.status_code == 400
    page = text(response)
    assert 'id="error-summary"' in page and "An HS chapter is two digits" in page


def test_the_queue_takes_the_same_queries_for_ten_or_a_thousand_applications(reviewing, flow):
    def fill(count):
        now = timezone.now()
        snapshot = {"name": "Cotton T-shirt", "hs_code": "610910", "materials": []}
        Application.objects.bulk_create(
            Application(
                product=flow.product,
                producer=flow.producer,
                member_state=flow.state,
                created_by=flow.member,
                status=S.SUBMITTED,
                submitted_at=now - datetime.timedelta(minutes=index),
                product_snapshot=snapshot,
                assessment_verdict="PASS",
            )
            for index in range(count)
        )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = reviewing.get("/workspace/")
        assert response.status_code == 200
        return len(captured), text(response)

    fill(10)
    ten, _page = queries()
    fill(990)
    thousand, page = queries()
    assert thousand == ten
    assert "1000 applications" in page and len(rows(page)) == 50
    assert "Page 1 of 20" in page


def test_the_application_page_shows_what_the_decision_rests_on(reviewing, flow):
    application = flow.application()
    services.document_add(
        actor=flow.member,
        application_id=application.pk,
        upload=SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf"),
    )
    application = flow.advance(application, S.SUBMITTED)
    page = text(reviewing.get(f"/workspace/applications/{application.pk}/"))
    assert flow.producer.legal_name in page and "Not yet attested" in page
    assert "Combed cotton yarn" in page and "520522" in page  # the bill of materials
    assert "No non-originating material is used" in page  # the assessment
    assert "invoice.pdf" in page
    assert "Submitted for review" in page  # the history
    assert "Start review" in page and "Approve" not in page  # what the state allows

    document = ApplicationDocument.objects.get()
    opened = reviewing.get(f"/workspace/applications/{application.pk}/documents/{document.pk}/")
    assert b"".join(opened.streaming_content) == PDF


def test_the_snapshot_not_the_edited_product_is_shown(reviewing, flow):
    application = flow.application(S.SUBMITTED)
    flow.product.materials.update(description="Something else entirely")
    page = text(reviewing.get(f"/workspace/applications/{application.pk}/"))
    assert "Combed cotton yarn" in page and "Something else entirely" not in page


def test_each_reader_reads_the_snapshot_in_their_language(reviewing, flow):
    """Submitted from a Russian page; the Uzbek reviewer, the Russian manufacturer and a
    Kazakh API caller each read the same snapshot in their own language."""
    application = flow.application()
    with translation.override("ru"):
        flow.advance(application, S.SUBMITTED)
    application.refresh_from_db()
    data, rules = product_input(flow.product), rule_set_in_force()
    written = {}
    for language in ("en", "ru", "uz", "kk"):
        with translation.override(language):
            written[language] = origin.assess(data, rules).as_dict()["message"]
    assert len(set(written.values())) == 4  # four languages, four sentences
    assert application.assessment["message"] == written["ru"]  # as submitted

    url = f"/workspace/applications/{application.pk}/"
    for language in ("uz", "en"):
        page = text(reviewing.get(url, HTTP_ACCEPT_LANGUAGE=language))
        assert html.escape(written[language]) in page, language
    holder = Client()
    holder.force_login(flow.member)
    mine = text(holder.get(f"/portal/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="ru"))
    assert html.escape(written["ru"]) in mine
    answer = client_for(flow.reviewer).get(
        f"/api/v1/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="kk"
    )
    assert answer.json()["assessment"]["message"] == written["kk"]
    assert "languages" not in answer.json()["assessment"]
    # A snapshot taken before the words were kept in every language reads as stored.
    old = {k: v for k, v in application.assessment.items() if k != "languages"}
    Application.objects.filter(pk=application.pk).update(assessment=old)
    page = text(reviewing.get(url, HTTP_ACCEPT_LANGUAGE="uz"))
    assert html.escape(written["ru"]) in page


def test_a_reviewer_takes_an_application_and_approves_it(reviewing, flow):
    application = flow.application(S.SUBMITTED)
    response = reviewing.post(
        f"/workspace/applications/{application.pk}/start-review/", follow=True
    )
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW and application.reviewer == flow.reviewer
    assert "You are reviewing this application." in text(response)

    response = reviewing.post(
        f"/workspace/applications/{application.pk}/approve/",
        {"approve-comment": ""},
        follow=True,
    )
    certificate = Certificate.objects.get(application=application)
    assert f"Approved: certificate {certificate.number} is issued." in text(response)
    flow.producer.refresh_from_db()
    assert flow.producer.verified_by == flow.reviewer  # the first approval attests


def test_requesting_changes_needs_a_comment_and_changes_nothing_without(reviewing, flow):
    application = flow.application(S.UNDER_REVIEW)
    response = reviewing.post(
        f"/workspace/applications/{application.pk}/request-changes/",
        {"request-changes-comment": "  "},
    )
    assert response.status_code == 400
    page = text(response)
    assert 'id="error-summary"' in page and "Say what needs to change." in page
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW

    reviewing.post(
        f"/workspace/applications/{application.pk}/request-changes/",
        {"request-changes-comment": "Attach the yarn invoice."},
    )
    application.refresh_from_db()
    assert application.status == S.CHANGES_REQUESTED
    assert application.last_comment == "Attach the yarn invoice."


def test_rejecting_needs_a_reason(reviewing, flow):
    application = flow.application(S.UNDER_REVIEW)
    response = reviewing.post(f"/workspace/applications/{application.pk}/reject/", {})
    assert response.status_code == 400
    assert "Give the reason for the rejection." in text(response)
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW


def test_approving_against_the_verdict_needs_a_reason_and_shows_as_such(reviewing, flow):
    application = flow.application(S.UNDER_REVIEW, product=flow.make_product(passing=False))
    page = text(reviewing.get(f"/workspace/applications/{application.pk}/"))
    assert "Why you approve although the origin check fails" in page

    refused = reviewing.post(f"/workspace/applications/{application.pk}/approve/", {})
    assert refused.status_code == 400
    assert "approving needs a written reason" in text(refused)
    assert not Certificate.objects.exists()

    reason = "Laboratory report shows the fabric was knitted in Namangan."
    reviewing.post(
        f"/workspace/applications/{application.pk}/approve/", {"approve-comment": reason}
    )
    application.refresh_from_db()
    assert application.status == S.APPROVED and application.override_reason == reason
    page = text(reviewing.get(f"/workspace/applications/{application.pk}/"))
    assert "decided against the engine's verdict" in page
    history = page.split('id="history"')[1]
    assert "against the engine's verdict" in history and reason in history


def test_two_reviewers_acting_at_once_make_one_certificate_and_a_clear_message(client, flow):
    application = flow.application(S.UNDER_REVIEW)
    colleague = ReviewerFactory(member_state=flow.state)
    client.force_login(flow.reviewer)
    client.post(f"/workspace/applications/{application.pk}/approve/", {})
    client.force_login(colleague)  # had the page open, presses approve a moment later
    response = client.post(f"/workspace/applications/{application.pk}/approve/", {}, follow=True)
    assert Certificate.objects.filter(application=application).count() == 1
    assert "Nothing was changed: the application is approved now" in text(response)
    assert AuditEvent.objects.filter(action="application.approved").count() == 1


def test_emails_to_reviewers_link_to_the_workspace(
    flow, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.PUBLIC_BASE_URL = "https://registry.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        application = flow.application(S.SUBMITTED)
    (message,) = [m for m in mailoutbox if m.to == [flow.reviewer.email]]
    url = f"https://registry.example.org/workspace/applications/{application.pk}/"
    assert url in message.body and url in message.alternatives[0][0]


# --- Every role on every page and form -------------------------------------------------


@pytest.mark.parametrize(
    "role, expected",
    [
        ("anonymous", "sign in"),
        ("manufacturer", 403),
        ("reviewer of the state", "listed"),
        ("reviewer of another state", "not listed"),
        ("customs", 403),
        ("secretariat", "listed"),
    ],
)
def test_who_sees_the_queue(client, flow, role, expected):
    application = flow.application(S.SUBMITTED)
    user = workspace_roles(flow)[role]
    if user:
        client.force_login(user)
    response = client.get("/workspace/")
    if expected == "sign in":
        assert response.status_code == 302 and response["Location"].startswith("/account/login/")
    elif expected == 403:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        listed = f"/workspace/applications/{application.pk}/" in text(response)
        assert listed == (expected == "listed")


@pytest.mark.parametrize(
    "role, page, forms",
    [
        ("anonymous", "sign in", False),
        ("manufacturer", 403, False),
        ("reviewer of the state", 200, True),
        ("reviewer of another state", 404, False),
        ("customs", 403, False),
        ("secretariat", 200, False),  # reads, never decides
    ],
)
def test_who_sees_the_application_and_may_decide(client, flow, role, page, forms):
    application = flow.application(S.UNDER_REVIEW)
    user = workspace_roles(flow)[role]
    if user:
        client.force_login(user)
    url = f"/workspace/applications/{application.pk}/"
    response = client.get(url)
    if page == "sign in":
        assert response.status_code == 302
    else:
        assert response.status_code == page
    if page == 200:
        assert flow.product.name in text(response)
        assert ("Your decision" in text(response)) == forms

    for action, data in (
        ("approve", {}),
        ("reject", {"reject-comment": "No."}),
        ("request-changes", {"request-changes-comment": "More."}),
    ):
        response = client.post(url + f"{action}/", data)
        if forms:
            break  # the reviewer's decisions are tested above
        expected = {"sign in": 302, 403: 403, 404: 404, 200: 403}[page]
        assert response.status_code == expected, (role, action)
    if not forms:
        application.refresh_from_db()
        assert application.status == S.UNDER_REVIEW
        assert not Certificate.objects.exists()


def test_a_manufacturer_account_cannot_use_the_workspace_even_for_its_own(client, flow):
    application = flow.application(S.SUBMITTED)
    client.force_login(flow.member)
    assert client.get(f"/workspace/applications/{application.pk}/").status_code == 403


def test_comments_the_decision_needs_are_marked_required_not_optional(reviewing, flow):
    application = flow.application(S.UNDER_REVIEW, product=flow.make_product(passing=False))
    page = text(reviewing.get(f"/workspace/applications/{application.pk}/"))
    for label in (
        "What needs to change",
        "Reason for the rejection",
        "Why you approve although the origin check fails",
    ):
        label_html = page.split(label, 1)[1].split("</label>", 1)[0]
        assert "optional" not in label_html, label
    passing = flow.application(S.UNDER_REVIEW)
    page = text(reviewing.get(f"/workspace/applications/{passing.pk}/"))
    # Approving with the verdict: the comment is the reviewer's choice.
    approve = page.split('id="id_approve-comment"', 1)[0].rsplit("<label", 1)[1]
    assert "(optional)" in approve


def test_a_decision_is_checked_for_permission_and_state_before_its_input(client, flow):
    application = flow.application(S.SUBMITTED)
    client.force_login(SecretariatFactory())
    long_text = "x" * 6000  # too long for the form: still a 403 for who may not decide
    response = client.post(
        f"/workspace/applications/{application.pk}/reject/", {"reject-comment": long_text}
    )
    assert response.status_code == 403
    client.force_login(flow.reviewer)
    response = client.post(
        f"/workspace/applications/{application.pk}/reject/",
        {"reject-comment": long_text},
        follow=True,
    )
    assert "Nothing was changed: the application is submitted now" in text(response)
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


def test_the_queue_count_waits_for_the_second_factor(client, flow):
    flow.application(S.SUBMITTED)
    client.force_login(flow.reviewer, second_factor=False)
    page = text(client.get("/account/"))
    assert 'class="badge"' not in page
    client.force_login(flow.reviewer)
    assert 'class="badge"' in text(client.get("/account/"))
