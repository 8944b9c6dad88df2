"""Writing domain events to the outbox, in the transaction of the change they announce.
Dispatching them (mail, webhooks) is certification/notifications/dispatch.py's work: each event is
queued for it when its transaction commits, and beat's sweep queues whatever that missed
(the broker was down, a worker died)."""

from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from certification.core import lifecycle, queueing
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
# Written by the daily reminder job; mailed to the holder, never sent to webhooks.
NOTICE_EVENTS = ("certificate.expiring",)
EVENTS = APPLICATION_EVENTS + CERTIFICATE_EVENTS + NOTICE_EVENTS


def application_payload(application):
    return {
        "application": {
            "id": application.pk,
            "status": application.status,
            "product": {
                "id": application.product_id,
                "name": application.product.name,
                "hs_code": application.product.hs_code,
            },
            "producer": {"id": application.producer_id, "name": application.producer.legal_name},
            "member_state": application.member_state_id,
            "verdict": application.assessment_verdict,
            "comment": application.last_comment,
        }
    }


def certificate_payload(certificate):
    return {
        "certificate": {
            "number": certificate.number,
            # As the verification API says it at the moment of the event: valid,
            # not_yet_valid, suspended, revoked or expired.
            "status": lifecycle.derived_status(certificate),
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


def emit(event, *, application=None, certificate=None, key=None, extra=None):
    """Write one outbox event and queue its dispatch for when the transaction commits.
    Must run inside the change's transaction. `key`, when given, is unique: a scheduled
    job passes one so that its event is written once however often the job runs."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event}")
    if not connection.in_atomic_block:
        raise RuntimeError("outbox.emit must run inside the transaction of the change")
    payload = {}
    if application is not None:
        payload.update(application_payload(application))
    if certificate is not None:
        payload.update(certificate_payload(certificate))
    payload.update(extra or {})
    now = timezone.now()
    outbox_event = OutboxEvent.objects.create(
        event=event,
        application=application,
        certificate=certificate,
        payload=payload,
        occurred_at=now,
        next_attempt_at=now,
        key=key,
        # Queued on commit; should that fail, the sweep queues it after the lease time.
        queued_at=now,
    )
    transaction.on_commit(partial(_queue_dispatch, outbox_event.pk), robust=True)
    return outbox_event


def _queue_dispatch(event_id):
    queueing.queue(queueing.DISPATCH_EVENT, [event_id])
