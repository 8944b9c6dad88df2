"""Applications in the manufacturer portal: applying from the product's page, the
application's page with its status, origin check, documents and full history, submitting,
answering a change request, withdrawing, uploading documents (checked by content, with
nothing stored on a refusal), another producer's applications not found, and constant
queries on the list."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification.models import Application, ApplicationDocument, AuditEvent
from tests.factories import MembershipFactory, ProducerFactory, ProductFactory, UserFactory
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db
S = Application.Status
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def test_the_product_page_offers_to_apply_and_applying_makes_a_draft(holder, flow):
    page = text(holder.get(f"/portal/products/{flow.product.pk}/"))
    assert "Apply for the label" in page
    assert "The product qualifies on the data you declared." in page

    response = holder.post(f"/portal/products/{flow.product.pk}/apply/", follow=True)

    application = Application.objects.get(product=flow.product)
    assert application.status == S.DRAFT and application.created_by == flow.member
    assert response.redirect_chain[-1][0] == f"/portal/applications/{application.pk}/"
    page = text(response)
    assert "Your application is started as a draft." in page
    assert "Submit to the national authority" in page
    # Before submission the check is the product's as it is now.
    assert "recorded with the application when you submit it" in page
    assert 'class="tag ok">qualifies</span>' in page
    assert AuditEvent.objects.filter(action="application.created").count() == 1
    # The product's page now links to the open application instead of offering another.
    page = text(holder.get(f"/portal/products/{flow.product.pk}/"))
    assert f"/portal/applications/{application.pk}/" in page
    assert "Apply for the label" not in page


def test_submitting_records_the_assessment_and_tells_the_reviewer(
    holder, flow, mailoutbox, django_capture_on_commit_callbacks
):
    application = flow.application()
    with django_capture_on_commit_callbacks(execute=True):
        response = holder.post(f"/portal/applications/{application.pk}/submit/", follow=True)

    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert application.assessment["verdict"] == "PASS"
    page = text(response)
    assert "Submitted. The national authority is told" in page
    assert "The origin check recorded at submission" in page
    assert "Submit to the national authority" not in page
    assert "Withdraw the application" in page
    assert [message.to for message in mailoutbox] == [[flow.reviewer.email]]


def test_a_change_request_is_shown_and_answered_by_submitting_again(holder, flow, mailoutbox):
    application = flow.application(S.CHANGES_REQUESTED)
    page = text(holder.get(f"/portal/applications/{application.pk}/"))
    assert "The reviewer asked for changes" in page
    assert "Please attach the yarn invoice." in page
    assert "Submit again" in page
    assert "Add a document" in page

    holder.post(
        f"/portal/applications/{application.pk}/documents/",
        {"file": SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf")},
    )
    response = holder.post(f"/portal/applications/{application.pk}/submit/", follow=True)

    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert "Submitted again. The reviewer is told." in text(response)
    history = text(response).split('id="history"')[1]
    for step in (
        "Application started",
        "Submitted for review",
        "Review started",
        "Changes requested",
        "Document added</strong>: invoice.pdf",
    ):
        assert step in history
    assert history.index("Changes requested") < history.index("invoice.pdf")
    assert history.count("Submitted for review") == 2
    assert f"{flow.state.authority.name} (reviewer)" in history


def test_withdrawing(holder, flow):
    application = flow.application(S.SUBMITTED)
    response = holder.post(f"/portal/applications/{application.pk}/withdraw/", follow=True)
    application.refresh_from_db()
    assert application.status == S.WITHDRAWN
    page = text(response)
    assert "The application is withdrawn." in page
    assert "Withdrawn: it will not be reviewed." in page
    assert "Withdraw the application" not in page


def test_a_transition_the_state_does_not_allow_says_why_and_changes_nothing(holder, flow):
    application = flow.application(S.UNDER_REVIEW)
    response = holder.post(f"/portal/applications/{application.pk}/withdraw/", follow=True)
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW
    assert "Cannot withdraw: the current state is under review." in text(response)
    assert not AuditEvent.objects.filter(action="application.withdrawn").exists()


def test_a_document_is_stored_with_its_hash_and_opens_in_the_browser(holder, flow):
    application = flow.application()
    upload = SimpleUploadedFile("yarn invoice.pdf", PDF, content_type="application/pdf")
    response = holder.post(
        f"/portal/applications/{application.pk}/documents/", {"file": upload}, follow=True
    )
    document = ApplicationDocument.objects.get(application=application)
    assert (
        document.original_name == "yarn invoice.pdf" and document.content_type == "application/pdf"
    )
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert "yarn invoice.pdf is added." in text(response)

    opened = holder.get(f"/portal/applications/{application.pk}/documents/{document.pk}/")
    assert opened["Content-Type"] == "application/pdf"
    assert opened["X-Content-Type-Options"] == "nosniff"
    assert b"".join(opened.streaming_content) == PDF


def test_a_document_that_is_not_pdf_png_or_jpeg_is_refused_on_the_form(holder, flow):
    application = flow.application()
    upload = SimpleUploadedFile(
        "invoice.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    response = holder.post(f"/portal/applications/{application.pk}/documents/", {"file": upload})
    assert response.status_code == 400
    page = text(response)
    assert 'id="error-summary"' in page
    assert "Only PDF, PNG and JPEG documents are accepted." in page
    assert 'aria-invalid="true"' in page
    assert not ApplicationDocument.objects.exists()


def test_an_empty_upload_form_says_to_choose_a_file(holder, flow):
    application = flow.application()
    response = holder.post(f"/portal/applications/{application.pk}/documents/", {})
    assert response.status_code == 400
    assert "This field is required." in text(response)


def test_another_producers_application_and_document_are_not_found(client, flow):
    application = flow.application()
    document = ApplicationDocument.objects.create(
        application=application,
        original_name="x.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
        uploaded_by=flow.member,
        file="applications/x.pdf",
    )
    outsider = UserFactory()
    MembershipFactory(user=outsider, producer=ProducerFactory())
    client.force_login(outsider)
    for url in (
        f"/portal/applications/{application.pk}/",
        f"/portal/applications/{application.pk}/documents/{document.pk}/",
    ):
        assert client.get(url).status_code == 404
    for url in (
        f"/portal/applications/{application.pk}/submit/",
        f"/portal/applications/{application.pk}/withdraw/",
        f"/portal/products/{flow.product.pk}/apply/",
    ):
        assert client.post(url).status_code == 404
    application.refresh_from_db()
    assert application.status == S.DRAFT
    assert Application.objects.count() == 1


def test_reviewers_and_anonymous_visitors_do_not_get_the_portal(client, flow):
    application = flow.application(S.SUBMITTED)
    url = f"/portal/applications/{application.pk}/"
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")
    client.force_login(flow.reviewer)
    assert client.get(url).status_code == 403


def test_the_list_shows_status_and_filters_by_it(holder, flow):
    draft = flow.application()
    submitted = flow.application(S.SUBMITTED, product=flow.make_product())
    page = text(holder.get("/portal/applications/"))
    assert (
        f"/portal/applications/{draft.pk}/" in page
        and f"/portal/applications/{submitted.pk}/" in page
    )
    assert ">Draft</span>" in page and ">Submitted</span>" in page

    page = text(holder.get("/portal/applications/?status=submitted"))
    assert f"/portal/applications/{submitted.pk}/" in page
    assert f"/portal/applications/{draft.pk}/" not in page


def test_the_list_takes_the_same_queries_for_one_application_or_twenty(holder, flow):
    flow.application()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert holder.get("/portal/applications/").status_code == 200
        return len(captured)

    one = queries()
    for _ in range(19):
        flow.application(product=ProductFactory(producer=flow.producer))
    assert queries() == one
