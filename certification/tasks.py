"""Celery tasks: thin wrappers that take ids, call certification/notifications.py,
certification/expiry.py or certification/certificate_pdf.py, and queue what follows.

Retry policy: none of these tasks is retried by Celery. A delivery's retries live in its
row (`next_attempt_at`, exponential backoff) and beat's sweep queues them, so nothing
depends on a countdown that outlives the broker's visibility timeout, and a task that runs
twice does nothing the second time (the claim fails).

The certificate PDF is the exception: `render_certificate_pdf` is retried by Celery with
exponential backoff capped at five minutes (well inside the visibility timeout), since
nothing is sent anywhere and a run for a version already stored does nothing. What its
retries do not save (broker down, worker gone) the `render_missing_pdfs` command queues
again."""

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import connections
from django.utils import timezone

from certification import certificate_pdf, expiry, notifications
from certification.models import Heartbeat

logger = logging.getLogger(__name__)
_inline = threading.local()


def queue(task, ids):
    """Queue `task(id)` for each id. With eager tasks (the embedded default) they run after
    the commit in a thread of their own, so a slow receiver never slows the request; with
    a broker that cannot be reached the rows stay due and the sweep queues them later."""
    ids = [str(pk) for pk in ids]
    if not ids:
        return
    app = task.app
    if app.conf.task_always_eager:
        if settings.OUTBOX_EAGER_IN_THREAD and not getattr(_inline, "active", False):
            threading.Thread(
                target=_run_in_thread, args=(task, ids), name="outbox-dispatch"
            ).start()
        else:
            _run_inline(task, ids)
        return
    for pk in ids:
        try:
            task.delay(pk)
        except Exception as error:  # noqa: BLE001 - the broker is down; the sweep recovers
            logger.warning(
                "Could not queue %s(%s): %s; beat's outbox sweep will queue it.",
                task.name,
                pk,
                type(error).__name__,
            )
            return


def _run_inline(task, ids):
    for pk in ids:
        task.apply(args=(pk,))


def _run_in_thread(task, ids):
    _inline.active = True
    try:
        _run_inline(task, ids)
    finally:
        _inline.active = False
        connections.close_all()


@shared_task(name="certification.dispatch_event", ignore_result=True)
def dispatch_event(event_id):
    queue(deliver, notifications.fan_out(event_id))


@shared_task(name="certification.deliver", ignore_result=True)
def deliver(delivery_id):
    return notifications.deliver(int(delivery_id))


@shared_task(name="certification.sweep_outbox", ignore_result=True)
def sweep_outbox():
    events, deliveries = notifications.due_work()
    queue(dispatch_event, events)
    queue(deliver, deliveries)
    return {"events": len(events), "deliveries": len(deliveries)}


@shared_task(
    name="certification.render_certificate_pdf",
    ignore_result=True,
    autoretry_for=(Exception,),
    max_retries=6,
    retry_backoff=10,
    retry_backoff_max=300,
    retry_jitter=True,
)
def render_certificate_pdf(certificate_id):
    return certificate_pdf.render_and_store(int(certificate_id))


@shared_task(name="certification.send_expiry_reminders", ignore_result=True)
def send_expiry_reminders():
    return expiry.send_expiry_reminders()


@shared_task(name="certification.record_expiries", ignore_result=True)
def record_expiries():
    return expiry.record_expiries()


@shared_task(name="certification.heartbeat", ignore_result=True)
def heartbeat():
    Heartbeat.objects.update_or_create(name="beat", defaults={"beat_at": timezone.now()})
