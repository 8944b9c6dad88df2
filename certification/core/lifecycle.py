"""Dates of certificates in the issuing state's time zone, and the status derived from the
stored status and those dates when read (docs/architecture.md): no scheduler is needed for
a certificate to read `expired` the day after its last valid day."""

import calendar
import datetime
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from certification.models import Application, Certificate

VALID = "valid"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
SUSPENDED = "suspended"
REVOKED = "revoked"
RENEWAL_WINDOW_DAYS = 90


def zone_of(member_state):
    return ZoneInfo(member_state.time_zone)


def today_in(member_state, now=None):
    """The calendar date in the member state's time zone."""
    return (now or timezone.now()).astimezone(zone_of(member_state)).date()


def add_months(day, months):
    """Calendar month arithmetic, clamping to the month's last day (Jan 31 + 1 = Feb 28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def validity_period(*, member_state, months, today, renews=None):
    """(valid_from, valid_until) for a certificate approved on `today` (the state's date).
    A renewal starts the day after the renewed certificate ends, or today if that is later:
    never backdated. The period is `months` calendar months, ending the day before."""
    valid_from = today
    if renews is not None:
        valid_from = max(renews.valid_until + datetime.timedelta(days=1), today)
    return valid_from, add_months(valid_from, months) - datetime.timedelta(days=1)


def derived_status(certificate, today=None):
    if certificate.status == Certificate.Status.REVOKED:
        return REVOKED
    if certificate.status == Certificate.Status.SUSPENDED:
        return SUSPENDED
    today = today or today_in(certificate.member_state)
    if today < certificate.valid_from:
        return NOT_YET_VALID
    if today > certificate.valid_until:
        return EXPIRED
    return VALID


def derived_status_q(status, member_states, now=None):
    """A filter on certificates matching derived_status(...) == status, for listing many
    in SQL: the dates are compared with each issuing state's own today, so one query
    serves certificates of states in different time zones. `member_states`: the states
    whose certificates may be among them (all six, or the reviewer's one)."""
    stored = Certificate.Status
    if status == REVOKED:
        return Q(status=stored.REVOKED)
    if status == SUSPENDED:
        return Q(status=stored.SUSPENDED)
    by_state = Q(pk__in=[])  # matches nothing: OR-ed with each state's dates below
    for state in member_states:
        today = today_in(state, now)
        dates = {
            VALID: Q(valid_from__lte=today, valid_until__gte=today),
            NOT_YET_VALID: Q(valid_from__gt=today),
            EXPIRED: Q(valid_until__lt=today),
        }[status]
        by_state |= Q(member_state=state.pk) & dates
    return Q(status=stored.ACTIVE) & by_state


# The same status from the validity period as two instants, for the public register
# (certification/register): whether a certificate is valid at a moment is then one
# comparison with the clock, in SQL too, whatever the issuing state's time zone.


def validity_instants(member_state, valid_from, valid_until):
    """(starts_at, ends_at): midnight starting valid_from, and midnight after valid_until,
    in the state's time zone. The state's date at `now` is within the period exactly when
    starts_at <= now < ends_at."""
    zone = zone_of(member_state)
    midnight = datetime.time(0, 0)
    return (
        datetime.datetime.combine(valid_from, midnight, tzinfo=zone),
        datetime.datetime.combine(valid_until + datetime.timedelta(days=1), midnight, tzinfo=zone),
    )


def status_at(entry, now):
    """derived_status, from the stored status and the validity instants: `entry` has
    `status` (the stored one), `starts_at` and `ends_at` (validity_instants)."""
    if entry.status == Certificate.Status.REVOKED:
        return REVOKED
    if entry.status == Certificate.Status.SUSPENDED:
        return SUSPENDED
    if now < entry.starts_at:
        return NOT_YET_VALID
    if now >= entry.ends_at:
        return EXPIRED
    return VALID


def status_at_sql(status, moment):
    """(SQL, params): the condition on the columns status, starts_at and ends_at of a row
    that holds exactly when status_at(row, now) == status. `moment` is now as the database
    takes it (connection.ops.adapt_datetimefield_value)."""
    stored = Certificate.Status
    if status == REVOKED:
        return "status = %s", [stored.REVOKED.value]
    if status == SUSPENDED:
        return "status = %s", [stored.SUSPENDED.value]
    dates, params = {
        VALID: ("starts_at <= %s AND ends_at > %s", [moment, moment]),
        NOT_YET_VALID: ("starts_at > %s", [moment]),
        EXPIRED: ("ends_at <= %s", [moment]),
    }[status]
    return f"(status = %s AND {dates})", [stored.ACTIVE.value, *params]


def renewal_opens_on(certificate):
    return certificate.valid_until - datetime.timedelta(days=RENEWAL_WINDOW_DAYS)


# Applications not decided yet: a renewal among them still holds its certificate.
OPEN_APPLICATION_STATUSES = (
    Application.Status.DRAFT,
    Application.Status.SUBMITTED,
    Application.Status.UNDER_REVIEW,
    Application.Status.CHANGES_REQUESTED,
)


def successor_of(certificate):
    """The number of the certificate renewing this one (not revoked), or None."""
    return (
        Certificate.objects.filter(renews=certificate)
        .exclude(status=Certificate.Status.REVOKED)
        .values_list("number", flat=True)
        .first()
    )


def renewal_problem(certificate, product_id, today=None, application=None):
    """Why `certificate` cannot be renewed for the product now, or None when it can: the
    renewal is for the same product, of an active certificate, from RENEWAL_WINDOW_DAYS
    before its end until its last day, and nothing renews it yet (neither a certificate
    nor another open application: `application` is the renewal being checked, if any)."""
    today = today or today_in(certificate.member_state)
    if certificate.product_id != product_id:
        return _("A renewal must be for the product of the certificate it renews.")
    if certificate.status != Certificate.Status.ACTIVE:
        return _("Only an active certificate can be renewed.")
    if today < renewal_opens_on(certificate):
        return _("Renewal opens %(days)s days before the certificate ends, on %(date)s.") % {
            "days": RENEWAL_WINDOW_DAYS,
            "date": date_format(renewal_opens_on(certificate), "DATE_FORMAT"),
        }
    if today > certificate.valid_until:
        return _("The certificate has expired; apply for a new one instead of renewing.")
    successor = successor_of(certificate)
    if successor:
        return _("It is renewed already, by certificate %(number)s.") % {"number": successor}
    other = (
        Application.objects.filter(renews=certificate, status__in=OPEN_APPLICATION_STATUSES)
        .exclude(pk=getattr(application, "pk", None))
        .values_list("pk", flat=True)
        .first()
    )
    if other:
        return _("A renewal application is open already: application %(id)s.") % {"id": other}
    return None
