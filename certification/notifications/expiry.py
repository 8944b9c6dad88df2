"""The daily jobs about the end of validity: reminding holders 60, 30 and 7 days before
it, and recording each expiry once (with its audit event and `certificate.expired`).

Whether a certificate is in force never depends on these jobs (it is derived when read,
certification/core/lifecycle.py); they only tell people. Both are idempotent and catch up:
run three times, or after a day beat was down, they write each event once."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from certification.core import audit, lifecycle
from certification.models import Certificate, OutboxEvent
from certification.notifications import outbox

REMINDER_DAYS = (60, 30, 7)


def reminder_threshold(days_left):
    """The reminder due for a certificate with `days_left` days of validity left: the
    smallest threshold it has reached (a job that missed the 60-day mark at 45 days left
    sends the 60-day reminder; at 29 days left, the 30-day one), or None."""
    if days_left < 0:
        return None
    reached = [days for days in REMINDER_DAYS if days_left <= days]
    return min(reached) if reached else None


def _emit_once(event, certificate, key, extra=None):
    """Emit unless an event with this key exists. True when written."""
    if OutboxEvent.objects.filter(key=key).exists():
        return False
    try:
        with transaction.atomic():
            outbox.emit(event, certificate=certificate, key=key, extra=extra)
    except IntegrityError:  # a concurrent run wrote it first
        return False
    return True


def send_expiry_reminders(now=None):
    """Write the due `certificate.expiring` events (mailed to the holder). Returns how
    many were written."""
    now = now or timezone.now()
    # Every member state's date is within a day of UTC's.
    utc_today = now.date()
    candidates = (
        Certificate.objects.filter(
            status=Certificate.Status.ACTIVE,
            valid_until__gte=utc_today - datetime.timedelta(days=1),
            valid_until__lte=utc_today + datetime.timedelta(days=max(REMINDER_DAYS) + 1),
            # A renewal already issued: nothing to remind of.
            renewed_by__isnull=True,
        )
        .select_related("member_state")
        .order_by("valid_until", "id")
    )
    written = 0
    for certificate in candidates:
        today = lifecycle.today_in(certificate.member_state, now)
        if today < certificate.valid_from:
            continue
        days_left = (certificate.valid_until - today).days
        threshold = reminder_threshold(days_left)
        if threshold is None:
            continue
        with transaction.atomic():
            written += _emit_once(
                "certificate.expiring",
                certificate,
                key=f"certificate.expiring:{certificate.pk}:{threshold}",
                extra={"reminder": {"days_left": days_left, "threshold": threshold}},
            )
    return written


def record_expiry(certificate_id, now=None):
    """Record one certificate's expiry, once: `expiry_recorded_at`, an audit event and
    `certificate.expired`. True when recorded now."""
    now = now or timezone.now()
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update()
            .select_related("member_state")
            .filter(pk=certificate_id, expiry_recorded_at=None)
            .exclude(status=Certificate.Status.REVOKED)
            .first()
        )
        if certificate is None or lifecycle.today_in(certificate.member_state, now) <= (
            certificate.valid_until
        ):
            return False
        certificate.expiry_recorded_at = now
        certificate.save(update_fields=["expiry_recorded_at"])
        audit.record(
            None,
            "certificate.expired",
            certificate,
            from_state=certificate.status,
            to_state=lifecycle.EXPIRED,
            data={"valid_until": certificate.valid_until.isoformat()},
        )
        outbox.emit(
            "certificate.expired",
            certificate=certificate,
            key=f"certificate.expired:{certificate.pk}",
        )
    return True


def record_expiries(now=None):
    """Record every expiry not yet recorded. Returns how many were recorded."""
    now = now or timezone.now()
    candidates = Certificate.objects.filter(
        expiry_recorded_at=None,
        valid_until__lt=now.date() + datetime.timedelta(days=1),
    ).exclude(status=Certificate.Status.REVOKED)
    return sum(record_expiry(pk, now) for pk in candidates.values_list("pk", flat=True))
