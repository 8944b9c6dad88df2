"""The certificate PDF from approval to storage (docs/api.md): rendered by a task on
commit of the approval, from the certificate's snapshots, stored with its SHA-256, and not
rendered again for a version already stored."""

import datetime
import hashlib
import io
from pathlib import Path
from unittest import mock

import pypdf
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command

from certification import tasks
from certification.documents import store
from certification.documents.render import LABELS
from certification.models import Application, Certificate
from certification.workflow import services
from tests.certification.conftest import Flow
from tests.certification.test_pdf import (
    LONG_PRODUCER,
    LONG_PRODUCT,
    decode_qr,
    embedded_fonts,
    needs_pdftoppm,
    pdf_text,
)

S = Application.Status
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
STATES = ["UZ", "KZ", "KG", "TJ", "TM", "AZ"]


def approve(flow, capture, app=None):
    """Approve through the services and run what the commit queues (the render among it)."""
    app = app or flow.application(S.UNDER_REVIEW)
    with capture(execute=True):
        services.application_approve(actor=flow.reviewer, application_id=app.pk)
    return Certificate.objects.get(application_id=app.pk)


def stored_bytes(certificate):
    with certificate.pdf.open("rb") as file:
        return file.read()


@pytest.fixture
def issued(flow, django_capture_on_commit_callbacks):
    return approve(flow, django_capture_on_commit_callbacks)


@needs_pdftoppm
@pytest.mark.parametrize("code", STATES)
def test_approval_renders_and_stores_the_certificate_pdf(
    code, db, django_capture_on_commit_callbacks, tmp_path
):
    flow = Flow(code)
    certificate = approve(flow, django_capture_on_commit_callbacks)

    assert certificate.pdf_rendered_version == certificate.version == 1
    assert certificate.pdf.name == f"certificates/{certificate.number}-v1.pdf"
    pdf = stored_bytes(certificate)
    assert hashlib.sha256(pdf).hexdigest() == certificate.pdf_sha256
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    text = pdf_text(pdf)
    assert certificate.number in text
    assert certificate.product_snapshot["name"] in text
    assert certificate.producer_snapshot["legal_name"] in text
    folded = text.casefold()
    for key in ("product", "producer", "number"):
        for language in ("en", "ru", flow.state.language):
            assert LABELS[key][language].casefold() in folded, (key, language)
    assert all("DejaVu" in font for font in embedded_fonts(pdf))
    expected_url = f"{settings.PUBLIC_BASE_URL}/verify/{certificate.number}/?t={certificate.token}"
    assert decode_qr(pdf, tmp_path) == [expected_url]

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"certificate-approved-{code}.pdf").write_bytes(pdf)


@needs_pdftoppm
def test_qr_decodes_for_64_character_cyrillic_names_end_to_end(
    db, django_capture_on_commit_callbacks, tmp_path
):
    flow = Flow("KZ")
    flow.producer.legal_name = LONG_PRODUCER
    flow.producer.save()
    flow.product.name = LONG_PRODUCT
    flow.product.save()
    certificate = approve(flow, django_capture_on_commit_callbacks)

    pdf = stored_bytes(certificate)
    assert len(store.verify_url(certificate)) > 650
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    assert LONG_PRODUCER in pdf_text(pdf) and LONG_PRODUCT in pdf_text(pdf)
    assert decode_qr(pdf, tmp_path) == [store.verify_url(certificate)]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "certificate-approved-KZ-long-cyrillic.pdf").write_bytes(pdf)


def test_render_is_queued_on_commit_not_inside_the_approval(
    flow, django_capture_on_commit_callbacks
):
    app = flow.application(S.UNDER_REVIEW)
    with mock.patch.object(store, "render_certificate_pdf") as renderer:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.application_approve(actor=flow.reviewer, application_id=app.pk)
        renderer.assert_not_called()  # nothing rendered inside the transaction
    certificate = Certificate.objects.get(application_id=app.pk)
    assert certificate.pdf_rendered_version is None and not certificate.pdf
    assert callbacks  # the render (and the notifications) wait for the commit


def test_second_run_does_not_render_again(issued):
    name, digest, content = issued.pdf.name, issued.pdf_sha256, stored_bytes(issued)

    with mock.patch.object(
        store, "render_certificate_pdf", wraps=store.render_certificate_pdf
    ) as renderer:
        tasks.render_certificate_pdf.delay(issued.pk)
        tasks.render_certificate_pdf.apply(args=(str(issued.pk),))

    renderer.assert_not_called()
    issued.refresh_from_db()
    assert (issued.pdf.name, issued.pdf_sha256) == (name, digest)
    assert stored_bytes(issued) == content


def test_a_file_gone_from_storage_is_rendered_again(issued):
    issued.pdf.storage.delete(issued.pdf.name)

    assert store.render_and_store(issued.pk) is True
    issued.refresh_from_db()
    assert hashlib.sha256(stored_bytes(issued)).hexdigest() == issued.pdf_sha256


def test_new_version_is_rendered_and_replaces_the_old_file(issued):
    old_name = issued.pdf.name
    Certificate.objects.filter(pk=issued.pk).update(version=2)

    tasks.render_certificate_pdf.delay(issued.pk)

    issued.refresh_from_db()
    assert issued.pdf_rendered_version == 2
    assert issued.pdf.name == f"certificates/{issued.number}-v2.pdf"
    assert hashlib.sha256(stored_bytes(issued)).hexdigest() == issued.pdf_sha256
    assert not issued.pdf.storage.exists(old_name)


def test_render_of_an_older_version_never_overwrites_a_newer_one(issued):
    """Two renders at once: this one read version 2; while it renders, the version is raised
    to 3 and another worker records version 3. This one's record must not land, and its
    file must go."""
    Certificate.objects.filter(pk=issued.pk).update(version=2)
    storage = issued.pdf.storage
    real_render = store.render_certificate_pdf
    newer = f"certificates/{issued.number}-v3.pdf"

    def render_while_a_newer_version_lands(context):
        pdf = real_render(context)
        storage.save(newer, ContentFile(b"%PDF- version 3"))
        Certificate.objects.filter(pk=issued.pk).update(
            version=3, pdf=newer, pdf_sha256="3" * 64, pdf_rendered_version=3
        )
        return pdf

    with mock.patch.object(
        store, "render_certificate_pdf", render_while_a_newer_version_lands
    ):
        assert store.render_and_store(issued.pk) is False

    issued.refresh_from_db()
    assert (issued.pdf.name, issued.pdf_sha256, issued.pdf_rendered_version) == (
        newer,
        "3" * 64,
        3,
    )
    assert not storage.exists(f"certificates/{issued.number}-v2.pdf")


def test_task_retries_a_failed_render(issued):
    Certificate.objects.filter(pk=issued.pk).update(version=2)
    real_render = store.render_certificate_pdf
    calls = []

    def flaky(context):
        calls.append(context["number"])
        if len(calls) == 1:
            raise OSError("font cache busy")
        return real_render(context)

    with mock.patch.object(store, "render_certificate_pdf", flaky):
        tasks.render_certificate_pdf.apply(args=(issued.pk,))

    assert len(calls) == 2
    issued.refresh_from_db()
    assert issued.pdf_rendered_version == 2


def test_pdf_shows_the_snapshot_not_the_live_product(flow, django_capture_on_commit_callbacks):
    app = flow.application(S.UNDER_REVIEW)
    certified_name = flow.product.name
    # An edit after submission never reaches the certificate (docs/architecture.md).
    flow.product.name = "Renamed after submission"
    flow.product.save()
    certificate = approve(flow, django_capture_on_commit_callbacks, app)

    text = pdf_text(stored_bytes(certificate))
    assert certified_name in text
    assert "Renamed after submission" not in text


def test_context_leaves_out_an_individual_entrepreneurs_tax_id(issued):
    issued.producer_snapshot = {**issued.producer_snapshot, "kind": "individual"}
    context = store.certificate_pdf_context(issued)
    assert context["producer"]["tax_id"] is None
    assert context["verify_url"] == (
        f"{settings.PUBLIC_BASE_URL}/verify/{issued.number}/?t={issued.token}"
    )
    assert context["state"]["language"] == "uz"
    assert context["status_note"] is None and context["renews"] is None


def test_renewal_pdf_names_the_certificate_it_renews(flow, django_capture_on_commit_callbacks):
    old = flow.application(S.APPROVED).certificate
    today = datetime.date.today()
    Certificate.objects.filter(pk=old.pk).update(
        valid_from=today - datetime.timedelta(days=699),
        valid_until=today + datetime.timedelta(days=30),
    )
    renewal = approve(
        flow, django_capture_on_commit_callbacks, flow.application(S.UNDER_REVIEW, renews=old)
    )

    text = pdf_text(stored_bytes(renewal))
    assert renewal.renews_id == old.pk
    label = LABELS["renews"]
    assert f"{label['en']} / {label['ru']} / {label['uz']}: {old.number}" in text


def test_render_missing_pdfs_queues_what_was_lost(flow):
    # Approved without running the commit callbacks: as if the broker had been down.
    certificate = flow.application(S.APPROVED).certificate
    assert certificate.pdf_rendered_version is None
    assert list(store.certificates_missing_pdf()) == [certificate]

    out = io.StringIO()
    call_command("render_missing_pdfs", stdout=out)

    certificate.refresh_from_db()
    assert certificate.pdf_rendered_version == certificate.version
    assert "Queued 1 certificate PDF(s)." in out.getvalue()
    assert list(store.certificates_missing_pdf()) == []


def test_render_missing_pdfs_now_and_with_file_check(issued):
    issued.pdf.storage.delete(issued.pdf.name)
    assert list(store.certificates_missing_pdf()) == []  # the record looks fine

    out = io.StringIO()
    call_command("render_missing_pdfs", "--now", "--check-files", stdout=out)

    assert "Rendered 1 certificate PDF(s)." in out.getvalue()
    issued.refresh_from_db()
    assert hashlib.sha256(stored_bytes(issued)).hexdigest() == issued.pdf_sha256
