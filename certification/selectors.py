"""Reads for the pages people use (portal/): what a signed-in person sees of applications
and certificates, always within the policy's visible sets (certification/core/policy.py),
with the status derived as verification derives it (certification/core/lifecycle.py).

Nothing here writes; list reads take a fixed number of queries whatever their length."""

import datetime
import re
from dataclasses import dataclass

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Window
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certification.core import lifecycle, policy
from certification.models import Application, AuditEvent, Certificate, Delivery
from certification.notifications import webhooks
from certification.workflow.services import application_allows
from registry.models import MemberState, ProducerMembership, RuleSet, User
from registry.selectors import rule_set_in_force

# A certificate ending within this many days is shown as expiring and put on the
# manufacturer's dashboard (the expiry reminders start earlier: notifications/expiry.py).
EXPIRING_SOON_DAYS = 60

Status = Application.Status
OPEN_STATUSES = lifecycle.OPEN_APPLICATION_STATUSES

# What each audit action means to a person reading an application's or certificate's
# history.
HISTORY_LABELS = {
    "application.created": _("Application started"),
    "application.submitted": _("Submitted for review"),
    "application.review_started": _("Review started"),
    "application.changes_requested": _("Changes requested"),
    "application.approved": _("Approved: certificate issued"),
    "application.rejected": _("Rejected"),
    "application.withdrawn": _("Withdrawn"),
    "application.document_added": _("Document added"),
    "certificate.suspended": _("Certificate suspended"),
    "certificate.reinstated": _("Certificate reinstated"),
    "certificate.revoked": _("Certificate revoked"),
}

STANDING_LABELS = {
    lifecycle.VALID: _("valid"),
    lifecycle.NOT_YET_VALID: _("not yet valid"),
    lifecycle.EXPIRED: _("expired"),
    lifecycle.SUSPENDED: _("suspended"),
    lifecycle.REVOKED: _("revoked"),
}


@dataclass(frozen=True)
class Standing:
    """A certificate's status as its holder reads it."""

    status: str  # lifecycle.VALID, ...
    days_left: int | None  # while valid: days until the end of its last valid day

    @property
    def expiring_soon(self):
        return self.status == lifecycle.VALID and self.days_left <= EXPIRING_SOON_DAYS

    @property
    def label(self):
        return STANDING_LABELS[self.status]

    @property
    def tone(self):
        """ok, warn or bad: how the page colours the status."""
        if self.status == lifecycle.VALID:
            return "warn" if self.expiring_soon else "ok"
        return "warn" if self.status == lifecycle.NOT_YET_VALID else "bad"


def certificate_standing(certificate, today=None):
    today = today or lifecycle.today_in(certificate.member_state)
    status = lifecycle.derived_status(certificate, today)
    days_left = (certificate.valid_until - today).days if status == lifecycle.VALID else None
    return Standing(status, days_left)


def with_standing(certificates):
    """The certificates, each given its `standing`: a list, or a page of them (its rows
    are read once and kept)."""
    for certificate in certificates:
        certificate.standing = certificate_standing(certificate)
    return certificates


def certificates_newest_first(user):
    """The certificates the user may see, newest first (a query: pages of it are given
    their standing with `with_standing`). Without the assessment snapshot, which no list
    shows (it holds every language's sentences)."""
    return (
        policy.certificates_visible_to(user)
        .select_related("member_state", "producer")
        .defer("assessment")
        .order_by("-issued_at", "-id")
    )


def certificates_of(user):
    """The certificates the user may see, newest first, each with its `standing`."""
    return with_standing(list(certificates_newest_first(user)))


def certificate_for(user, number):
    """The certificate with this number if the user may see it, else None."""
    certificate = (
        policy.certificates_visible_to(user)
        .select_related("member_state__authority", "producer", "product", "application")
        .filter(number=str(number).strip().upper())
        .first()
    )
    if certificate is not None:
        certificate.standing = certificate_standing(certificate)
    return certificate


def applications_of(user, status=None):
    applications = (
        policy.applications_visible_to(user)
        .select_related("product", "producer", "renews")
        .order_by("-updated_at", "-id")
    )
    if status:
        applications = applications.filter(status=status)
    return applications


def application_for(user, application_id):
    """The application if the user may see it, else None."""
    return (
        policy.applications_visible_to(user)
        .select_related("product", "producer__member_state", "renews", "certificate")
        .filter(pk=application_id)
        .first()
    )


def open_applications_for_product(user, product_id):
    return list(applications_of(user).filter(product_id=product_id, status__in=OPEN_STATUSES))


def open_renewal(certificate):
    """The application renewing this certificate that is still open, if any."""
    return (
        Application.objects.filter(renews=certificate, status__in=OPEN_STATUSES)
        .order_by("-id")
        .first()
    )


def renewal_problem(certificate):
    """Why the holder cannot renew the certificate now (None: renewal is open to them)."""
    return lifecycle.renewal_problem(certificate, certificate.product_id)


def manufacturer_can(user, application, action):
    """Whether the manufacturer may take `action` ("submit", "withdraw", "add a document")
    on the application now: a member of its producer, in a state the action starts from."""
    return policy.is_member(user, application.producer_id) and application_allows(
        application, action
    )


@dataclass(frozen=True)
class HistoryEntry:
    at: object
    what: str
    who: str
    comment: str
    detail: str
    against_verdict: bool = False  # a decision against the engine's verdict


def _who(event):
    actor = event.actor
    if actor is None:
        return _("The registry")
    if actor.role == User.Role.REVIEWER and actor.member_state_id:
        authority = getattr(actor.member_state, "authority", None)
        name = authority.local_name if authority else actor.member_state.local_name
        return _("%(authority)s (reviewer)") % {"authority": name}
    if actor.role == User.Role.SECRETARIAT:
        return _("The secretariat")
    return actor.full_name or actor.email


def _detail(event, documents):
    data = event.data or {}
    if event.action == "application.document_added":
        return documents.get(data.get("document"), "")
    if event.action == "application.approved":
        return data.get("certificate") or ""
    return ""


def _history(events, documents=None):
    events = events.select_related("actor__member_state__authority").order_by("id")
    return [
        HistoryEntry(
            at=event.created_at,
            what=HISTORY_LABELS.get(event.action, event.action),
            who=_who(event),
            comment=event.comment,
            detail=_detail(event, documents or {}),
            against_verdict=bool((event.data or {}).get("against_verdict")),
        )
        for event in events
    ]


def application_history(application):
    """Who did what to the application, when, with their comments: its audit events."""
    documents = dict(application.documents.values_list("pk", "original_name"))
    events = AuditEvent.objects.filter(target_type="application", target_id=str(application.pk))
    return _history(events, documents)


def certificate_history(certificate):
    """The certificate's issue and every change of its status since."""
    events = AuditEvent.objects.filter(
        Q(target_type="certificate", target_id=str(certificate.pk))
        | Q(
            target_type="application",
            target_id=str(certificate.application_id),
            action="application.approved",
        )
    )
    return _history(events)


def manufacturer_dashboard(user):
    """What needs the manufacturer's attention, most urgent first: changes requested,
    certificates ending within EXPIRING_SOON_DAYS (without an open renewal), drafts not
    yet submitted; and what is waiting on the authority. Four queries."""
    applications = list(
        applications_of(user).filter(status__in=OPEN_STATUSES).order_by("updated_at", "id")
    )
    certificates = certificates_of(user)
    # Renewed already, or being renewed: nothing to do about its end.
    renewing = {a.renews_id for a in applications if a.renews_id} | {
        c.renews_id for c in certificates if c.renews_id and c.status != Certificate.Status.REVOKED
    }
    expiring = [
        certificate
        for certificate in certificates
        if certificate.standing.expiring_soon and certificate.pk not in renewing
    ]
    expiring.sort(key=lambda certificate: certificate.standing.days_left)
    return {
        "changes_requested": [a for a in applications if a.status == Status.CHANGES_REQUESTED],
        "expiring": expiring,
        "drafts": [a for a in applications if a.status == Status.DRAFT],
        "waiting": [a for a in applications if a.status in (Status.SUBMITTED, Status.UNDER_REVIEW)],
    }


# --- The reviewers' workspace ------------------------------------------------------------

# The queue's views: what a reviewer picks from. "waiting" is the default: what the
# authority has to act on.
QUEUE_VIEWS = {
    "waiting": (Status.SUBMITTED, Status.UNDER_REVIEW),
    "submitted": (Status.SUBMITTED,),
    "under_review": (Status.UNDER_REVIEW,),
    "changes_requested": (Status.CHANGES_REQUESTED,),
    "decided": (Status.APPROVED, Status.REJECTED),
}
QUEUE_VIEW_LABELS = {
    "waiting": _("Waiting (submitted or under review)"),
    "submitted": _("Submitted"),
    "under_review": _("Under review"),
    "changes_requested": _("Changes requested"),
    "decided": _("Decided"),
}


def review_queue(user, *, view="waiting", chapter=None, older_than_days=None, state=None, now=None):
    """The applications a reviewer (or the secretariat) sees in the queue: oldest
    submission first, filtered by view, by the product's HS chapter (as submitted), by
    age and by member state (the secretariat's filter). A queryset: the page slices it, so
    its cost does not grow with the queue."""
    applications = (
        policy.applications_visible_to(user)
        .filter(status__in=QUEUE_VIEWS[view])
        .select_related("producer")
        # The list shows two keys of the snapshot: read those, not the whole snapshot
        # and assessment documents of 50 rows.
        .annotate(
            product_name=KT("product_snapshot__name"),
            product_hs_code=KT("product_snapshot__hs_code"),
        )
        .defer("product_snapshot", "assessment", "last_comment", "override_reason")
        .order_by("submitted_at", "id")
    )
    if state:
        applications = applications.filter(member_state_id=state)
    if chapter:
        applications = applications.filter(product_snapshot__hs_code__startswith=chapter)
    if older_than_days:
        now = now or timezone.now()
        applications = applications.filter(
            submitted_at__lte=now - datetime.timedelta(days=older_than_days)
        )
    return applications


def waiting_count(user):
    """How many applications wait on the reviewer's authority (the navigation's badge)."""
    return policy.applications_visible_to(user).filter(status__in=QUEUE_VIEWS["waiting"]).count()


def age_in_days(application, now=None):
    if application.submitted_at is None:
        return None
    return ((now or timezone.now()) - application.submitted_at).days


# --- The secretariat's overview ----------------------------------------------------------

# The window of the lead time, and how many rows of each list the overview shows.
LEAD_TIME_WINDOW_DAYS = 365
AGAINST_VERDICT_SHOWN = 50
FAILED_DELIVERIES_SHOWN = 50
DECIDED = QUEUE_VIEWS["decided"]


@dataclass(frozen=True)
class StateQueue:
    """One member state's queue on the secretariat's overview."""

    state: MemberState
    submitted: int
    under_review: int
    changes_requested: int
    median_days: float | None  # submission to decision, decided in the window; None: none
    decisions: int  # how many decisions the median is computed from


def median_lead_times(decided, since):
    """{state code: (median lead time, number of decisions)} of the `decided` applications
    (a queryset: approved, rejected, or both) decided since `since`, from submission to
    decision. Worked out in the database: a window function numbers each state's decisions
    by lead time and only the one or two middle rows per state come back, so the answer is
    at most two rows a state however many decisions there are. One query."""
    lead = ExpressionWrapper(F("decided_at") - F("submitted_at"), output_field=DurationField())
    per_state = {"partition_by": [F("member_state_id")]}
    middle = (
        decided.filter(decided_at__gte=since, submitted_at__isnull=False)
        .order_by()
        .annotate(lead=lead)
        .annotate(
            position=Window(RowNumber(), order_by=[F("lead").asc(), F("id").asc()], **per_state),
            decisions=Window(Count("id"), **per_state),
        )
        # The middle row of an odd count (2p = n + 1), the two of an even one (2p = n, n + 2).
        .filter(decisions__lte=F("position") * 2, decisions__gte=F("position") * 2 - 2)
        .values_list("member_state_id", "lead", "decisions")
    )
    found = {}
    for state, lead_time, decisions in middle:
        found.setdefault(state, ([], decisions))[0].append(lead_time)
    return {
        state: (sum(leads, datetime.timedelta()) / len(leads), decisions)
        for state, (leads, decisions) in found.items()
    }


def state_queues(user, now=None):
    """Every member state's queue as the user may see it (the secretariat: all of it): how
    many applications are submitted, under review and waiting on changes, and the median
    lead time from submission to decision over the last LEAD_TIME_WINDOW_DAYS. Three
    queries whatever the number of applications."""
    now = now or timezone.now()
    applications = policy.applications_visible_to(user)
    open_ones = applications.filter(
        status__in=(Status.SUBMITTED, Status.UNDER_REVIEW, Status.CHANGES_REQUESTED)
    )
    counts = {
        (row["member_state_id"], row["status"]): row["count"]
        for row in open_ones.order_by()
        .values("member_state_id", "status")
        .annotate(count=Count("id"))
    }
    medians = median_lead_times(
        applications.filter(status__in=DECIDED),
        since=now - datetime.timedelta(days=LEAD_TIME_WINDOW_DAYS),
    )
    queues = []
    for state in MemberState.objects.select_related("authority").order_by("code"):
        median, decisions = medians.get(state.code, (None, 0))
        queues.append(
            StateQueue(
                state=state,
                submitted=counts.get((state.code, Status.SUBMITTED), 0),
                under_review=counts.get((state.code, Status.UNDER_REVIEW), 0),
                changes_requested=counts.get((state.code, Status.CHANGES_REQUESTED), 0),
                median_days=None if median is None else round(median.total_seconds() / 86400, 1),
                decisions=decisions,
            )
        )
    return queues


def decisions_against_verdict(user, limit=AGAINST_VERDICT_SHOWN):
    """The latest decisions against the engine's verdict (approved although the origin
    check fails, rejected although it passes), newest first, each with its written reason
    (`override_reason`). One query."""
    against = (Q(status=Status.APPROVED) & ~Q(assessment_verdict="PASS")) | Q(
        status=Status.REJECTED, assessment_verdict="PASS"
    )
    return list(
        policy.applications_visible_to(user)
        .filter(against)
        .select_related("member_state", "producer", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


# A URL's query string and fragment: integrators put tokens there (webhooks.redacted).
_URL = re.compile(r"https?://[^\s'\"<>]+", re.IGNORECASE)


def _without_url_secrets(text):
    return _URL.sub(lambda match: webhooks.redacted(match.group(0)), text or "")


def failed_deliveries(limit=FAILED_DELIVERIES_SHOWN):
    """(the latest failed deliveries, how many have failed in all). Each row's `shown_to`
    is its address as the admin shows it, a webhook's without query string or fragment,
    and `shown_error` its last error with every URL in it cut the same way. Two queries."""
    failed = Delivery.objects.filter(failed_at__isnull=False)
    rows = list(failed.select_related("event").order_by("-failed_at", "-id")[:limit])
    for delivery in rows:
        delivery.shown_to = (
            webhooks.redacted(delivery.address)
            if delivery.channel == Delivery.Channel.WEBHOOK
            else delivery.address
        )
        delivery.shown_error = _without_url_secrets(delivery.last_error)
    return rows, failed.count()


IN_FORCE, NOT_YET, ENDED, SUPERSEDED = "in_force", "not_yet", "ended", "superseded"


def rule_sets_overview(today=None):
    """Every origin rule set, newest version first within its code, with its number of
    rules and `standing`: IN_FORCE for the one the engine uses today
    (registry.selectors.rule_set_in_force), else NOT_YET, ENDED or SUPERSEDED (valid
    today, but a higher version is). A fixed number of queries."""
    today = today or timezone.localdate()
    try:
        in_force = rule_set_in_force(today).id
    except LookupError:
        in_force = None
    rule_sets = list(
        RuleSet.objects.annotate(rule_count=Count("rules")).order_by("code", "-version")
    )
    for rule_set in rule_sets:
        if rule_set.pk == in_force:
            rule_set.standing = IN_FORCE
        elif rule_set.valid_from > today:
            rule_set.standing = NOT_YET
        elif rule_set.valid_until and rule_set.valid_until < today:
            rule_set.standing = ENDED
        else:
            rule_set.standing = SUPERSEDED
    return rule_sets


# --- The reviewers' workspace: the state's certificates and producers --------------------

# The status filter of the workspace's certificate list, in the order it is offered.
CERTIFICATE_STATUS_CHOICES = tuple(
    (status, STANDING_LABELS[status])
    for status in (
        lifecycle.VALID,
        lifecycle.SUSPENDED,
        lifecycle.REVOKED,
        lifecycle.EXPIRED,
        lifecycle.NOT_YET_VALID,
    )
)


def _containing(queryset, q, *fields):
    """The rows where one of `fields` contains `q` in any case (its surrounding spaces
    ignored); all of them for no `q`."""
    term = (q or "").strip()
    if not term:
        return queryset
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": term})
    return queryset.filter(condition)


def workspace_certificates(user, *, q=None, status=None, now=None):
    """The certificates a reviewer (or the secretariat) sees, newest first: those whose
    number (in any case), producer or product name contains `q`, with the derived `status`
    (lifecycle.VALID, ...), worked out in SQL with each issuing state's own date. A
    queryset: the page slices it and gives each row its `standing` (with_standing)."""
    certificates = (
        policy.certificates_visible_to(user)
        .select_related("member_state", "producer")
        .defer("assessment")  # not shown in the list: every language's sentences
        .order_by("-issued_at", "-id")
    )
    certificates = _containing(
        certificates,
        q,
        "number",
        "producer_snapshot__legal_name",
        "producer__legal_name",
        "producer__trade_name",
        "product_snapshot__name",
        "product__name",
    )
    if status:
        states = list(MemberState.objects.all())
        certificates = certificates.filter(lifecycle.derived_status_q(status, states, now))
    return certificates


PRODUCER_ATTESTED_CHOICES = (
    ("yes", _("Identity attested")),
    ("no", _("Not yet attested")),
)


def workspace_producers(user, *, q=None, attested=None):
    """The producers a reviewer (or the secretariat) sees, by name: those whose legal or
    trade name or tax id contains `q`; `attested` "yes" or "no" keeps those whose identity
    is (or is not yet) attested. Each with its count of products and certificates. A
    queryset: the page slices it."""
    producers = (
        policy.producers_visible_to(user)
        .select_related("member_state")
        .annotate(
            product_count=Count("products", distinct=True),
            certificate_count=Count("certificates", distinct=True),
        )
        .order_by("legal_name", "id")
    )
    producers = _containing(producers, q, "legal_name", "trade_name", "tax_id")
    if attested in ("yes", "no"):
        producers = producers.filter(verified_at__isnull=attested == "no")
    return producers


def workspace_producer(user, producer_id):
    """The producer if the user may see it, else None."""
    return (
        policy.producers_visible_to(user)
        .select_related("member_state", "verified_by")
        .filter(pk=producer_id)
        .first()
    )


def producer_overview(user, producer):
    """What the workspace shows of a producer beside its details, within what the user
    may see: its members (accounts, since when), and the queries of its products,
    applications (from submission on, for a reviewer) and certificates, which the page
    shows a page at a time (a producer may have thousands; `with_standing` gives a page
    of certificates their standing)."""
    return {
        "memberships": list(
            ProducerMembership.objects.filter(producer=producer)
            .select_related("user")
            .order_by("created_at", "id")
        ),
        "products": policy.products_visible_to(user)
        .filter(producer=producer)
        .order_by("name", "id"),
        "applications": policy.applications_visible_to(user)
        .filter(producer=producer)
        .select_related("product")
        .order_by(F("submitted_at").desc(nulls_last=True), "-id"),
        "certificates": policy.certificates_visible_to(user)
        .filter(producer=producer)
        .select_related("member_state")
        .defer("assessment")
        .order_by("-issued_at", "-id"),
    }


def day_in_state(member_state, moment):
    """The calendar day of `moment` in the member state, as verification gives dates; None
    for no moment."""
    return lifecycle.today_in(member_state, moment) if moment else None


def certificate_days(certificate):
    """The days of the certificate's issue and of its last change of status in the
    issuing state's calendar."""
    state = certificate.member_state
    return {
        "issued_on": day_in_state(state, certificate.issued_at),
        "status_changed_on": day_in_state(state, certificate.status_changed_at),
    }
