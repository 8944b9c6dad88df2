"""The certificate's PDF as a stored file (docs/api.md): built from what the
certificate snapshotted at issue (never the live product or producer), rendered after the
approval commits (certification/tasks.py), stored through Django's default storage with
its SHA-256.

Idempotent per certificate `version` (raised whenever what the PDF shows changes): a run
for a version already stored does nothing. Rendering takes no lock and runs in no
transaction; the result is recorded with a conditional update, so of two renders running
at once the one for an older version can never overwrite the newer one.
"""

import hashlib
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import F, Q

from certification.core import queueing
from certification.documents.render import render_certificate_pdf
from certification.models import Certificate

logger = logging.getLogger(__name__)

# How long a client waiting for the PDF is asked to wait before asking again: a render
# takes well under a second once a worker has it.
RETRY_AFTER_SECONDS = 5


def verify_url(certificate: Certificate) -> str:
    """What the QR code carries (docs/api.md)."""
    return f"{settings.PUBLIC_BASE_URL}/verify/{certificate.number}/?t={certificate.token}"


def certificate_pdf_context(certificate: Certificate) -> dict:
    """The renderer's plain-data context (certification/documents/render.py) from the certificate's
    snapshots: what was certified at issue, whatever the product has become since."""
    state = certificate.member_state
    product = certificate.product_snapshot
    producer = certificate.producer_snapshot
    # An individual entrepreneur's tax id is personal data: never printed.
    is_individual = producer.get("kind") == "individual"
    return {
        "number": certificate.number,
        "state": {
            "code": state.code,
            "name": state.name,
            "language": state.language,
            "time_zone": state.time_zone,
        },
        "authority": {"name": state.authority.name},
        "producer": {
            "legal_name": producer["legal_name"],
            "trade_name": producer.get("trade_name") or "",
            "address": producer.get("address") or "",
            "tax_id": None if is_individual else (producer.get("tax_id") or None),
        },
        "product": {
            "name": product["name"],
            "hs_code": product["hs_code"],
            "hs_description": product.get("hs_description") or "",
            "description": product.get("description") or "",
        },
        "origin_criterion": certificate.origin_criterion,
        "valid_from": certificate.valid_from,
        "valid_until": certificate.valid_until,
        "issued_at": certificate.issued_at,
        "verify_url": verify_url(certificate),
        "status_note": None,
        "renews": certificate.renews.number if certificate.renews_id else None,
    }


def file_name(certificate: Certificate, version: int) -> str:
    return f"{certificate.number}-v{version}.pdf"


def is_stored(certificate: Certificate) -> bool:
    """Whether the PDF of the certificate's current version is in storage."""
    return (
        certificate.pdf_rendered_version == certificate.version
        and bool(certificate.pdf_sha256)
        and bool(certificate.pdf.name)
        and certificate.pdf.storage.exists(certificate.pdf.name)
    )


def render_and_store(certificate_id: int) -> bool:
    """Render and store the PDF of the certificate's current version unless it is stored
    already. True when this call stored it."""
    certificate = (
        Certificate.objects.select_related("member_state__authority", "renews")
        .filter(pk=certificate_id)
        .first()
    )
    if certificate is None:
        logger.warning("No certificate %s to render.", certificate_id)
        return False
    if is_stored(certificate):
        return False
    version = certificate.version
    pdf = render_certificate_pdf(certificate_pdf_context(certificate))
    digest = hashlib.sha256(pdf).hexdigest()
    storage = certificate.pdf.storage
    name = storage.save(
        certificate.pdf.field.generate_filename(certificate, file_name(certificate, version)),
        ContentFile(pdf),
    )
    # Record it unless a render of a newer version got there first (then this file is
    # stale: remove it). A second render of the same version replaces the first, which
    # holds the same bytes (rendering is deterministic).
    recorded = (
        Certificate.objects.filter(pk=certificate.pk)
        .filter(Q(pdf_rendered_version__isnull=True) | Q(pdf_rendered_version__lte=version))
        .update(pdf=name, pdf_sha256=digest, pdf_rendered_version=version)
    )
    if not recorded:
        storage.delete(name)
        return False
    previous = certificate.pdf.name
    if previous and previous != name:
        # The file of an earlier version, or of a lost race for this one.
        storage.delete(previous)
    logger.info(
        "Stored the PDF of %s version %s (%s bytes).", certificate.number, version, len(pdf)
    )
    return True


def certificates_missing_pdf():
    """Certificates whose current version has no recorded PDF: what a lost task (broker
    down, worker gone) leaves behind. The `render_missing_pdfs` command queues them."""
    return Certificate.objects.filter(
        Q(pdf_rendered_version__isnull=True) | ~Q(pdf_rendered_version=F("version"))
    )


def queue_render(certificate_id: int) -> None:
    """Queue the render; called on commit of the approval that issued the certificate.
    On the embedded default it runs in a thread of its own, so the approval's answer never
    waits for it (certification/core/queueing.py)."""
    queueing.queue(queueing.RENDER_CERTIFICATE_PDF, [certificate_id])


def open_stored(certificate: Certificate):
    """The stored PDF of the certificate's current version, opened for reading; None while
    it is being rendered. A recorded file that has gone from storage is rendered again."""
    if certificate.pdf_rendered_version != certificate.version or not certificate.pdf.name:
        return None
    try:
        return certificate.pdf.open("rb")
    except FileNotFoundError:
        logger.warning("The PDF of %s is gone from storage; rendering it again.", certificate)
        queue_render(certificate.pk)
        return None
