"""Dispatching outbox events: nothing lost, nothing doubled (docs/operations.md).

1. Fan-out. An outbox event is claimed with a lease and turned, in one transaction, into
   one Delivery per recipient: an email per account, a POST per webhook subscription.
   Unique constraints make a second fan-out of the same event a no-op.
2. Delivery. Each delivery is claimed with a lease by a conditional UPDATE (two workers
   never send it at the same time), the try is logged, the message is sent, and only then
   is the delivery marked sent. A failure sets `next_attempt_at` with exponential backoff;
   after OUTBOX_RETRY_HOURS the delivery is marked failed (the secretariat sees it in the
   admin). A worker that dies mid-send leaves a lease that simply runs out.
3. The sweep (beat, every OUTBOX_SWEEP_SECONDS) queues every event and delivery that is
   due, unleased and not already waiting in the queue: retries, work whose task was lost
   with the broker or the worker, work committed while the broker was down.

Delivery is at least once: an email whose server accepted it just before the worker died
is sent again (it carries the same Message-ID), a webhook carries the event id for the
receiver to drop duplicates.

Functions here return what is to be queued; certification/tasks.py does the queueing.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from certification.core import policy
from certification.models import Delivery, DeliveryAttempt, OutboxEvent, WebhookSubscription
from certification.notifications import emails, webhooks
from registry.models import User

logger = logging.getLogger(__name__)

# Who is emailed about what. application.withdrawn: the manufacturer did it, nobody else
# needs a word. certificate.issued: the holder learns of it in the approval's email (one
# message for one decision); webhooks carry it.
EMAIL_AUDIENCE = {
    "application.submitted": "reviewers",
    "application.changes_requested": "holders",
    "application.approved": "holders",
    "application.rejected": "holders",
    "certificate.suspended": "holders",
    "certificate.reinstated": "holders",
    "certificate.revoked": "holders",
    "certificate.expired": "holders",
    "certificate.expiring": "holders",
}


class Cancelled(Exception):
    """The delivery can no longer be made (the account was deactivated, the subscription
    deleted): it is marked failed at once, without retries."""


# --- Claims and backoff --------------------------------------------------------------------


def _due(now):
    return Q(sent_at=None, failed_at=None, next_attempt_at__lte=now) & (
        Q(lease_until=None) | Q(lease_until__lt=now)
    )


def _claim(model, pk, now):
    """Take the lease on a due row; True for exactly one of any number of concurrent
    callers. The attempt is counted when it starts, so a try that never finished counts."""
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    updated = model.objects.filter(_due(now), pk=pk).update(
        lease_until=now + lease, attempts=F("attempts") + 1
    )
    return updated == 1


def backoff(attempts):
    """Delay after the `attempts`-th failed try: base, 2 x base, 4 x base, ... capped."""
    delay = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(delay, settings.OUTBOX_RETRY_MAX_DELAY_SECONDS))


def _after_failure(model, pk, *, attempts, since, error, now, give_up=False):
    """Schedule the next try, or mark the row failed once retrying would go past the
    retry window (counted from `since`, when the row was created)."""
    next_at = now + backoff(attempts)
    window_end = since + timedelta(hours=settings.OUTBOX_RETRY_HOURS)
    fields = {"lease_until": None, "queued_at": None, "last_error": str(error)[:2000]}
    if give_up or next_at > window_end:
        model.objects.filter(pk=pk).update(failed_at=now, **fields)
        logger.warning(
            "%s %s failed for good after %s attempts: %s", model.__name__, pk, attempts, error
        )
        return None
    model.objects.filter(pk=pk).update(next_attempt_at=next_at, **fields)
    return next_at


# --- Fan-out -------------------------------------------------------------------------------


def email_recipients(event):
    audience = EMAIL_AUDIENCE.get(event.event)
    if audience == "reviewers" and event.application_id:
        return User.objects.filter(
            role=User.Role.REVIEWER,
            member_state_id=event.application.member_state_id,
            is_active=True,
        ).order_by("id")
    if audience == "holders":
        subject = event.application if event.application_id else event.certificate
        return (
            User.objects.filter(
                role=User.Role.MANUFACTURER,
                memberships__producer_id=subject.producer_id,
                is_active=True,
            )
            .distinct()
            .order_by("id")
        )
    return User.objects.none()


def webhook_subscriptions(event):
    """Live subscriptions to this event whose owner may see the certificate (reviewers:
    their own state's)."""
    if event.event not in webhooks.SUBSCRIBABLE_EVENTS or not event.certificate_id:
        return []
    subscriptions = WebhookSubscription.objects.filter(
        deleted_at=None, owner__is_active=True
    ).select_related("owner")
    chosen, sees = [], {}
    for subscription in subscriptions:
        if event.event not in subscription.events:
            continue
        owner = subscription.owner
        if owner.pk not in sees:
            sees[owner.pk] = (
                policy.certificates_visible_to(owner).filter(pk=event.certificate_id).exists()
            )
        if sees[owner.pk]:
            chosen.append(subscription)
    return chosen


def fan_out(event_id, now=None):
    """Turn one outbox event into its deliveries. Returns the ids of the deliveries to
    queue ([] when another worker holds the event, or it is done)."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = _claim(OutboxEvent, event_id, now)
    if not claimed:
        return []
    event = OutboxEvent.objects.select_related("application", "certificate").get(pk=event_id)
    try:
        with transaction.atomic():
            rows = [
                Delivery(
                    event=event,
                    channel=Delivery.Channel.EMAIL,
                    recipient=user,
                    address=user.email,
                    created_at=now,
                    next_attempt_at=now,
                    queued_at=now,
                )
                for user in email_recipients(event)
            ] + [
                Delivery(
                    event=event,
                    channel=Delivery.Channel.WEBHOOK,
                    subscription=subscription,
                    address=webhooks.redacted(subscription.url),
                    created_at=now,
                    next_attempt_at=now,
                    queued_at=now,
                )
                for subscription in webhook_subscriptions(event)
            ]
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            OutboxEvent.objects.filter(pk=event.pk).update(
                sent_at=now, lease_until=None, queued_at=None, last_error=""
            )
            pending = Delivery.objects.filter(event=event, sent_at=None, failed_at=None)
            return list(pending.order_by("id").values_list("pk", flat=True))
    except Exception as error:
        logger.exception("Fan-out of outbox event %s failed", event_id)
        _after_failure(
            OutboxEvent,
            event.pk,
            attempts=event.attempts,
            since=event.occurred_at,
            error=f"{type(error).__name__}: {error}",
            now=timezone.now(),
        )
        return []


# --- Delivery ------------------------------------------------------------------------------


def _send(delivery):
    """Send one delivery; returns the receiver's HTTP status for a webhook."""
    event = delivery.event
    if delivery.channel == Delivery.Channel.EMAIL:
        recipient = delivery.recipient
        if not recipient.is_active:
            raise Cancelled("The account was deactivated.")
        emails.build(event, recipient, delivery_id=delivery.pk).send()
        return None
    subscription = delivery.subscription
    if subscription.deleted_at is not None:
        raise Cancelled("The subscription was deleted.")
    if not subscription.owner.is_active:
        raise Cancelled("The subscriber's account was deactivated.")
    body = webhooks.body_bytes(event, sent_at=timezone.now())
    return webhooks.post(
        subscription,
        body,
        headers={"X-MCA-Event": event.event, "X-MCA-Delivery": str(delivery.pk)},
    )


def deliver(delivery_id, now=None):
    """Make one try at one delivery. Returns "sent", "retry", "failed", or None when the
    delivery was not claimable (sent, failed, not yet due, or leased by another worker)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _claim(Delivery, delivery_id, now):
            return None
        delivery = Delivery.objects.select_related("event", "recipient", "subscription__owner").get(
            pk=delivery_id
        )
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, started_at=now
        )
    started = time.monotonic()
    status_code, error, cancelled = None, "", False
    try:
        status_code = _send(delivery)
    except Cancelled as reason:
        error, cancelled = str(reason), True
    except webhooks.TargetRefused as refusal:
        error = f"Refused: {refusal}"
    except webhooks.SendFailed as failure:
        error, status_code = str(failure), failure.status_code
    except Exception as failure:  # noqa: BLE001 - any failure is recorded and retried
        logger.exception("Delivery %s failed", delivery_id)
        error = f"{type(failure).__name__}: {failure}"
    finished = timezone.now()
    duration_ms = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=finished,
            ok=not error,
            status_code=status_code,
            error=error[:2000],
            duration_ms=duration_ms,
        )
        if not error:
            Delivery.objects.filter(pk=delivery_id).update(
                sent_at=finished, lease_until=None, queued_at=None, last_error=""
            )
            return "sent"
        next_at = _after_failure(
            Delivery,
            delivery_id,
            attempts=delivery.attempts,
            since=delivery.created_at,
            error=error,
            now=finished,
            give_up=cancelled,
        )
    logger.info(
        "Delivery %s (%s) attempt %s failed: %s",
        delivery_id,
        delivery.channel,
        attempt.number,
        error,
    )
    return "retry" if next_at else "failed"


# --- The sweep -----------------------------------------------------------------------------


def due_work(now=None, limit=500):
    """(event ids, delivery ids) that are due and not waiting in the queue already; they
    are marked queued now. A row queued more than a lease ago whose task never ran (the
    broker lost it, or it was never published) is due again."""
    now = now or timezone.now()
    requeue_before = now - timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    waiting = _due(now) & (Q(queued_at=None) | Q(queued_at__lt=requeue_before))
    found = []
    for model in (OutboxEvent, Delivery):
        with transaction.atomic():
            ids = list(
                model.objects.filter(waiting)
                .order_by("next_attempt_at")
                .values_list("pk", flat=True)[:limit]
            )
            model.objects.filter(pk__in=ids).update(queued_at=now)
        found.append(ids)
    return found[0], found[1]


def retry_now(deliveries):
    """Give failed or waiting deliveries one more try at the next sweep (an admin action;
    a delivery past its retry window that fails again is marked failed again)."""
    return deliveries.filter(sent_at=None).update(
        failed_at=None, next_attempt_at=timezone.now(), lease_until=None, queued_at=None
    )


def retry_failed(*, actor, delivery_id=None):
    """The secretariat's overview: give the failed deliveries (the one named, else every
    one) another try, as the admin's action does. Returns how many were queued."""
    policy.ensure_secretariat(actor)
    failed = Delivery.objects.filter(failed_at__isnull=False)
    if delivery_id is not None:
        failed = failed.filter(pk=delivery_id)
    count = retry_now(failed)
    logger.info("%s queued %s failed deliveries for another try", actor.email, count)
    return count


# --- Health --------------------------------------------------------------------------------


def backlog(now=None):
    """Figures for /healthz: the age of the oldest undelivered event or delivery, and how
    long the most overdue due one has been waiting (work that no worker picks up)."""
    now = now or timezone.now()
    open_events = OutboxEvent.objects.filter(sent_at=None, failed_at=None)
    open_deliveries = Delivery.objects.filter(sent_at=None, failed_at=None)
    oldest = [
        open_events.aggregate(at=Min("occurred_at"))["at"],
        open_deliveries.aggregate(at=Min("event__occurred_at"))["at"],
    ]
    overdue = [
        open_events.filter(_due(now)).aggregate(at=Min("next_attempt_at"))["at"],
        open_deliveries.filter(_due(now)).aggregate(at=Min("next_attempt_at"))["at"],
    ]
    oldest = min((at for at in oldest if at), default=None)
    overdue = min((at for at in overdue if at), default=None)
    return {
        "oldest_undelivered_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "most_overdue_seconds": int((now - overdue).total_seconds()) if overdue else 0,
        "failed_deliveries": Delivery.objects.filter(failed_at__isnull=False).count(),
    }
