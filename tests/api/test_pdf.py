"""GET /api/v1/certificates/{number}/pdf/ (docs/api.md): the stored PDF for the
holder, the issuing state's reviewers, customs and the secretariat; 404 to everyone else;
a "being prepared" answer until the render has stored it."""

import hashlib

import pytest

from certification.models import Application, Certificate
from certification.workflow import services
from tests.api.conftest import assert_error, client_for
from tests.certification.conftest import Flow
from tests.factories import (
    CustomsFactory,
    MembershipFactory,
    ProducerFactory,
    ReviewerFactory,
    SecretariatFactory,
    UserFactory,
    state,
)

S = Application.Status


def url(number):
    return f"/api/v1/certificates/{number}/pdf/"


@pytest.fixture
def flow(db):
    return Flow("UZ")


@pytest.fixture
def rendered(flow, django_capture_on_commit_callbacks):
    """An approved certificate whose render ran on commit, as in production."""
    app = flow.application(S.UNDER_REVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_approve(actor=flow.reviewer, application_id=app.pk)
    certificate = Certificate.objects.get(application_id=app.pk)
    assert certificate.pdf_rendered_version == certificate.version
    return certificate


@pytest.fixture
def unrendered(flow):
    """Approved, its render still waiting for a worker (the commit callbacks do not run)."""
    return flow.application(S.APPROVED).certificate


def assert_pdf(response, certificate):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{certificate.number}.pdf"'
    assert response["ETag"] == f'"{certificate.pdf_sha256}"'
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF-")
    assert hashlib.sha256(body).hexdigest() == certificate.pdf_sha256
    with certificate.pdf.open("rb") as stored:
        assert body == stored.read()


def test_holder_gets_the_pdf(flow, rendered):
    assert_pdf(client_for(flow.member).get(url(rendered.number)), rendered)


def test_issuing_states_reviewer_gets_the_pdf(rendered):
    reviewer = ReviewerFactory(member_state=state("UZ"))
    assert_pdf(client_for(reviewer).get(url(rendered.number)), rendered)


def test_customs_of_any_state_gets_the_pdf(rendered):
    customs = CustomsFactory(member_state=state("AZ"))
    assert_pdf(client_for(customs).get(url(rendered.number)), rendered)


def test_secretariat_gets_the_pdf(rendered):
    assert_pdf(client_for(SecretariatFactory()).get(url(rendered.number)), rendered)


def test_number_in_any_case_with_spaces_finds_the_pdf(flow, rendered):
    response = client_for(flow.member).get(url(f" {rendered.number.lower()} "))
    assert_pdf(response, rendered)


def test_another_states_reviewer_gets_404(rendered):
    reviewer = ReviewerFactory(member_state=state("KZ"))
    assert_error(client_for(reviewer).get(url(rendered.number)), 404, "not_found")


def test_manufacturer_of_another_producer_gets_404(rendered):
    stranger = UserFactory()
    MembershipFactory(user=stranger, producer=ProducerFactory(member_state=state("UZ")))
    assert_error(client_for(stranger).get(url(rendered.number)), 404, "not_found")


def test_anonymous_gets_401(rendered):
    assert_error(client_for(None).get(url(rendered.number)), 401)


def test_unknown_number_gets_404(flow, rendered):
    assert_error(client_for(flow.member).get(url("MCA-UZ-2026-999999-99")), 404, "not_found")


def test_being_prepared_until_the_render_has_stored_it(flow, unrendered):
    response = client_for(flow.member).get(url(unrendered.number))

    assert response.status_code == 202
    assert response.json() == {"status": "being_prepared", "retry_after": 5}
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"


def test_being_prepared_while_a_new_version_renders(flow, rendered):
    # What the PDF shows changed: the stored file is stale until the new one is stored.
    Certificate.objects.filter(pk=rendered.pk).update(version=2)
    response = client_for(flow.member).get(url(rendered.number))
    assert response.status_code == 202
    assert response.json()["status"] == "being_prepared"


def test_visibility_comes_before_being_prepared(unrendered):
    reviewer = ReviewerFactory(member_state=state("TJ"))
    assert_error(client_for(reviewer).get(url(unrendered.number)), 404, "not_found")


def test_a_pdf_reader_accepting_only_pdf_still_gets_json_answers(flow, unrendered):
    client = client_for(flow.member)
    preparing = client.get(url(unrendered.number), HTTP_ACCEPT="application/pdf")
    assert preparing.status_code == 202
    assert preparing.json()["status"] == "being_prepared"
    missing = client.get(url("MCA-UZ-2026-999999-99"), HTTP_ACCEPT="application/pdf")
    assert_error(missing, 404, "not_found")


def test_pdf_is_served_to_a_client_accepting_only_pdf(flow, rendered):
    response = client_for(flow.member).get(url(rendered.number), HTTP_ACCEPT="application/pdf")
    assert_pdf(response, rendered)


def test_current_etag_answers_304(flow, rendered):
    response = client_for(flow.member).get(
        url(rendered.number), HTTP_IF_NONE_MATCH=f'"{rendered.pdf_sha256}"'
    )
    assert response.status_code == 304
    assert response["ETag"] == f'"{rendered.pdf_sha256}"'
    assert response.content == b""


def test_stale_etag_gets_the_pdf(flow, rendered):
    response = client_for(flow.member).get(url(rendered.number), HTTP_IF_NONE_MATCH='"0000"')
    assert_pdf(response, rendered)


def test_a_file_gone_from_storage_is_rendered_again(flow, rendered):
    rendered.pdf.storage.delete(rendered.pdf.name)
    client = client_for(flow.member)

    # Tasks run inline in tests: the render queued by this answer is done when it returns.
    assert client.get(url(rendered.number)).status_code == 202
    rendered.refresh_from_db()
    assert_pdf(client.get(url(rendered.number)), rendered)
