"""The public register's statistics (/registry/statistics/, portal/statistics.py): plain
figures worked out in the database, the same for every visitor, so cached for a few minutes.

Only public facts count: certificates of verified producers (`Producer.verified_at` set by
the reviewer who approved their first application) and those producers' approvals.

- In force: the certificate is active and today's date in its issuing state's time zone
  lies within its validity dates, as lifecycle.derived_status says `valid`. The states'
  dates differ around midnight, so each state has its own date in the query.
- Per month: certificates issued by the month of `issued_at`; suspended and revoked by the
  month of `status_changed_at` of those suspended or revoked now (a certificate suspended
  and then reinstated no longer counts as suspended). Months are UTC months.
- Approval lead time: from the application's (last) submission to its approval, for
  approvals of the last 12 months; the median per issuing state.

Every figure takes a fixed number of queries whatever the number of certificates.
"""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone

from certification import selectors
from certification.core import lifecycle
from certification.models import Application, Certificate
from registry.models import HSCode, MemberState
from registry.nomenclature import SECTION_NAMES

# Journalists' traffic comes in spikes: the figures are worked out at most once per this
# many seconds (per cache), under a key holding the UTC date.
CACHE_SECONDS = 300
CACHE_KEY = "registry-statistics:v1:{date}"
MONTHS = 24
LEAD_TIME_MONTHS = 12

UTC = datetime.UTC


@dataclass(frozen=True)
class StateFigure:
    code: str
    name: str
    value: int


@dataclass(frozen=True)
class MonthFigure:
    month: datetime.date  # its first day
    issued: int
    suspended: int
    revoked: int


@dataclass(frozen=True)
class LeadTime:
    code: str
    name: str
    approvals: int
    median: datetime.timedelta | None  # None: no approval in the period


@dataclass(frozen=True)
class Figures:
    computed_at: datetime.datetime
    in_force_by_state: tuple[StateFigure, ...]  # every member state, by code
    in_force_by_section: tuple[tuple[str, int], ...]  # (section, count), every section, in order
    per_month: tuple[MonthFigure, ...]  # the last MONTHS months, oldest first
    lead_time: tuple[LeadTime, ...]  # every member state, by code
    lead_time_since: datetime.datetime


def figures(now=None):
    """The figures, from the cache when they were worked out today (UTC) within the last
    CACHE_SECONDS."""
    now = now or timezone.now()
    key = CACHE_KEY.format(date=now.astimezone(UTC).date().isoformat())
    found = cache.get(key)
    if found is None:
        found = compute(now)
        cache.set(key, found, CACHE_SECONDS)
    return found


def public_certificates():
    return Certificate.objects.filter(producer__verified_at__isnull=False)


def compute(now):
    """Work the figures out from the database: seven queries."""
    states = list(MemberState.objects.order_by("code"))
    by_state, by_section = _in_force(states, now)
    since = _months_ago(now, LEAD_TIME_MONTHS)
    return Figures(
        computed_at=now,
        in_force_by_state=tuple(
            StateFigure(s.code, s.name, by_state.get(s.code, 0)) for s in states
        ),
        in_force_by_section=tuple(
            (section, by_section.get(section, 0)) for section in SECTION_NAMES
        ),
        per_month=_per_month(now),
        lead_time=_lead_time(states, since),
        lead_time_since=since,
    )


def _in_force(states, now):
    """Certificates in force (derived status valid, each state's date in its own time zone)
    counted by state and by HS section, from one query grouped by state and HS chapter (the
    certified product's, as snapshotted at issue)."""
    rows = (
        public_certificates()
        .filter(lifecycle.derived_status_q(lifecycle.VALID, states, now))
        .annotate(chapter=Substr(KT("product_snapshot__hs_code"), 1, 2))
        .values_list("member_state_id", "chapter")
        .annotate(count=Count("id"))
        .order_by()
    )
    section_of = dict(
        HSCode.objects.filter(level=HSCode.Level.CHAPTER).values_list("code", "section")
    )
    by_state, by_section = {}, {}
    for state, chapter, count in rows:
        by_state[state] = by_state.get(state, 0) + count
        section = section_of.get(chapter)
        if section:
            by_section[section] = by_section.get(section, 0) + count
    return by_state, by_section


def _month_start(day):
    return datetime.datetime(day.year, day.month, 1, tzinfo=UTC)


def _months_ago(now, months):
    return datetime.datetime.combine(
        lifecycle.add_months(now.astimezone(UTC).date(), -months), datetime.time(), tzinfo=UTC
    )


def _per_month(now):
    this_month = _month_start(now.astimezone(UTC))
    months = [lifecycle.add_months(this_month.date(), offset) for offset in range(1 - MONTHS, 1)]
    start = _month_start(months[0])
    end = _month_start(lifecycle.add_months(this_month.date(), 1))

    def counted(field, **filters):
        rows = (
            public_certificates()
            .filter(**{f"{field}__gte": start, f"{field}__lt": end}, **filters)
            .annotate(month=TruncMonth(field, tzinfo=UTC))
            .values_list("month")
            .annotate(count=Count("id"))
            .order_by()
        )
        return {month.date(): count for month, count in rows}

    issued = counted("issued_at")
    suspended = counted("status_changed_at", status=Certificate.Status.SUSPENDED)
    revoked = counted("status_changed_at", status=Certificate.Status.REVOKED)
    return tuple(
        MonthFigure(month, issued.get(month, 0), suspended.get(month, 0), revoked.get(month, 0))
        for month in months
    )


def _lead_time(states, since):
    """The median time from submission to approval per state, worked out in the database
    (selectors.median_lead_times: one query, at most two rows a state)."""
    medians = selectors.median_lead_times(
        Application.objects.filter(
            status=Application.Status.APPROVED, producer__verified_at__isnull=False
        ),
        since,
    )
    result = []
    for state in states:
        median, approvals = medians.get(state.code, (None, 0))
        result.append(LeadTime(state.code, state.name, approvals, median))
    return tuple(result)
