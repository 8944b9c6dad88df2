"""Writing domain events to the outbox, in the transaction of the change they announce.
Dispatching them (mail, webhooks) is certification/notifications.py's work."""

from django.db import connection
from django.utils import timezone

from certification.models import OutboxEvent

APPLICATION_EVENTS = (
    "application.submitted",
    "application.changes_requested",
    "application.approved",
    "application.rejected",
    "application.withdrawn",
)
CERTIFICATE_EVENTS = (
    "certificate.issued",
    "certificate.suspended",
    "certificate.reinstated",
    "certificate.revoked",
    "certificate.expired",
)


def application_payload(application):
    return {
        "application": {
            "id": application.pk,
            "status": application.status,
            "product": {"id": application.product_id, "name": application.product.name},
            "producer": {"id": application.producer_id, "name": application.producer.legal_name},
            "member_state": application.member_state_id,
            "comment": application.last_comment,
        }
    }


def certificate_payload(certificate):
    return {
        "certificate": {
            "number": certificate.number,
            "status": certificate.status,
            "valid_from": certificate.valid_from.isoformat(),
            "valid_until": certificate.valid_until.isoformat(),
            "issuing_state": certificate.member_state_id,
            "product": {
                "name": certificate.product_snapshot["name"],
                "hs_code": certificate.product_snapshot["hs_code"],
            },
            "producer": {"name": certificate.producer_snapshot["legal_name"]},
            "reason": certificate.status_reason,
        }
    }


def emit(event, *, application=None, certificate=None):
    """Write one outbox event. Must run inside the change's transaction."""
    if event not in APPLICATION_EVENTS + CERTIFICATE_EVENTS:
        raise ValueError(f"unknown event {event}")
    if not connection.in_atomic_block:
        raise RuntimeError("outbox.emit must run inside the transaction of the change")
    payload = {}
    if application is not None:
        payload.update(application_payload(application))
    if certificate is not None:
        payload.update(certificate_payload(certificate))
    now = timezone.now()
    return OutboxEvent.objects.create(
        event=event,
        application=application,
        certificate=certificate,
        payload=payload,
        occurred_at=now,
        next_attempt_at=now,
    )
