"""Celery tasks: thin wrappers that take ids, call certification/notifications/ or
certification/documents/, and queue what follows (certification/core/queueing.py). They sit
above everything they call; the code below queues them by name, never by importing this
module.

Retry policy: none of these tasks is retried by Celery. A delivery's retries live in its
row (`next_attempt_at`, exponential backoff) and beat's sweep queues them, so nothing
depends on a countdown that outlives the broker's visibility timeout, and a task that runs
twice does nothing the second time (the claim fails).

The certificate PDF is the exception: `render_certificate_pdf` is retried by Celery with
exponential backoff capped at five minutes (well inside the visibility timeout), since
nothing is sent anywhere and a run for a version already stored does nothing. What its
retries do not save (broker down, worker gone) the `render_missing_pdfs` command queues
again. So are a state's status list (made again from what is committed; what its retries do
not save the hourly run does) and the mail of an audit checkpoint (one message per
checkpoint, with the same Message-ID on every try)."""

from celery import shared_task
from django.utils import timezone

from certification.core import queueing
from certification.core.queueing import (
    DELIVER,
    DISPATCH_EVENT,
    MAIL_AUDIT_CHECKPOINT,
    PUBLISH_STATUS_LIST,
    RENDER_CERTIFICATE_PDF,
)
from certification.documents import store
from certification.models import Heartbeat
from certification.notifications import dispatch, expiry
from certification.verification import checkpoints, status_list

# Tasks that only redo work from what is stored: retried with backoff, at most a minute apart.
RETRIED = {
    "autoretry_for": (Exception,),
    "max_retries": 5,
    "retry_backoff": 5,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}


@shared_task(name=DISPATCH_EVENT, ignore_result=True)
def dispatch_event(event_id):
    queueing.queue(DELIVER, dispatch.fan_out(event_id))


@shared_task(name=DELIVER, ignore_result=True)
def deliver(delivery_id):
    return dispatch.deliver(int(delivery_id))


@shared_task(name="certification.sweep_outbox", ignore_result=True)
def sweep_outbox():
    events, deliveries = dispatch.due_work()
    queueing.queue(DISPATCH_EVENT, events)
    queueing.queue(DELIVER, deliveries)
    return {"events": len(events), "deliveries": len(deliveries)}


@shared_task(
    name=RENDER_CERTIFICATE_PDF,
    ignore_result=True,
    autoretry_for=(Exception,),
    max_retries=6,
    retry_backoff=10,
    retry_backoff_max=300,
    retry_jitter=True,
)
def render_certificate_pdf(certificate_id):
    return store.render_and_store(int(certificate_id))


@shared_task(name="certification.send_expiry_reminders", ignore_result=True)
def send_expiry_reminders():
    return expiry.send_expiry_reminders()


@shared_task(name="certification.record_expiries", ignore_result=True)
def record_expiries():
    return expiry.record_expiries()


@shared_task(name="certification.heartbeat", ignore_result=True)
def heartbeat():
    Heartbeat.objects.update_or_create(name="beat", defaults={"beat_at": timezone.now()})


@shared_task(name=PUBLISH_STATUS_LIST, ignore_result=True, **RETRIED)
def publish_status_list(country):
    return status_list.publish(country).entries


@shared_task(name="certification.publish_status_lists", ignore_result=True)
def publish_status_lists():
    return status_list.publish_all()


@shared_task(name="certification.audit_checkpoint", ignore_result=True)
def audit_checkpoint():
    return checkpoints.create().sequence


@shared_task(name=MAIL_AUDIT_CHECKPOINT, ignore_result=True, **RETRIED)
def mail_audit_checkpoint(checkpoint_id):
    return checkpoints.mail(int(checkpoint_id))
