"""Sample certificates for a newcomer (``manage.py seed_demo``): in every member state,
valid ones, one suspended, one revoked, one expired and a renewal not yet in force, so that
each kind can be verified at once (``/verify/{number}/`` or the API); one producer
(maker1-uz's) holds one of each, and has applications still open (a draft, one submitted,
one with changes requested) for its overview and the reviewer's queue.

Everything goes through the real workflow services (application_create, _submit,
_start_review, _approve, certificate_suspend, _revoke), acting as the demo producers'
members and the demo reviewers of registry.demo. One exception, for the demo only: a
certificate cannot be expired, or near its end, on the day it is issued, so the expired
sample and the certificate the renewal renews have their validity moved into the past right
after issue (and their token signed again for the moved dates). Nothing else ever changes a
certificate's dates.

Idempotent: each sample is the n-th certificate of its product; the ones that exist are
kept, the missing ones are created.
"""

import datetime
from zoneinfo import ZoneInfo

from django.db import transaction

from certification.core import lifecycle
from certification.models import Application, Certificate
from certification.register import index as register
from certification.verification import lookup
from certification.workflow import services
from registry.demo import DEMO_DOMAIN
from registry.models import Product, User

VALID = "valid"
SUSPENDED = "suspended"
REVOKED = "revoked"
EXPIRED = "expired"
RENEWED = "renewed"  # valid, ends within the renewal window, renewed by the next sample
RENEWAL = "renewal"  # renews the previous sample; not yet in force

# (state, product name, [kinds of its certificates, oldest first])
SAMPLES = [
    ("UZ", "Cotton T-shirt, knitted", [RENEWED, RENEWAL]),
    # The same producer (maker1-uz) holds one certificate of every status.
    ("UZ", "Cotton bed linen set", [VALID]),
    ("UZ", "Cotton socks", [SUSPENDED]),
    ("UZ", "Terry towel", [EXPIRED]),
    ("UZ", "Women's cotton blouse", [REVOKED]),
    ("UZ", "Sun-dried raisins", [VALID]),  # an individual entrepreneur: tax id not shown
    ("KZ", "Refined copper wire 8 mm", [VALID]),
    ("KZ", "Portland cement CEM I 42.5", [SUSPENDED]),
    ("KG", "Hand-knotted wool carpet", [EXPIRED, VALID]),
    ("TJ", "Dried apricots", [VALID]),
    ("TJ", "Repacked walnuts", [REVOKED]),  # approved against the engine's verdict, revoked
    ("TM", "Cotton yarn Ne 30", [VALID]),
    ("AZ", "Pomegranate juice, not from concentrate", [VALID]),
]

NOTES = {
    RENEWED: "ends within 30 days; renewed by the next one",
    RENEWAL: "renews the previous one, in force from the day after it ends",
    REVOKED: "approved against the engine's FAIL, then revoked",
    EXPIRED: "demo only: its validity was moved into the past",
}

# The status each kind reads through verification today.
EXPECTED_STATUS = {
    VALID: lifecycle.VALID,
    RENEWED: lifecycle.VALID,
    RENEWAL: lifecycle.NOT_YET_VALID,
    SUSPENDED: lifecycle.SUSPENDED,
    REVOKED: lifecycle.REVOKED,
    EXPIRED: lifecycle.EXPIRED,
}

# What the reviewers wrote, by product.
APPROVAL_COMMENTS = {
    "Repacked walnuts": (
        "Approved on the exporter's declaration that the walnuts were cracked and shelled in "
        "Sughd, pending the laboratory report."
    ),
}
SUSPEND_REASONS = {
    "Portland cement CEM I 42.5": (
        "Inspection of the gypsum supply pending: the share of non-originating additives is "
        "under review."
    ),
    "Cotton socks": (
        "The supplier of the polyamide yarn changed; the new supplier's declaration is awaited."
    ),
}
REVOKE_REASONS = {
    "Repacked walnuts": (
        "The laboratory report and an audit show the walnuts were imported shelled: repacking "
        "alone does not confer origin (MCA-2026, insufficient operations)."
    ),
    "Women's cotton blouse": (
        "A site inspection found the blouses were sewn outside the member states and only "
        "labelled in Tashkent."
    ),
}

# Applications still open, so that the manufacturer's overview and the reviewers' queue
# have something in each state: (state, product name, status).
OPEN_APPLICATIONS = [
    ("UZ", "Men's cotton shirt", Application.Status.CHANGES_REQUESTED),
    ("UZ", "Polyester T-shirt", Application.Status.DRAFT),
    ("UZ", "Cotton hoodie", Application.Status.SUBMITTED),
]
CHANGES_COMMENT = (
    "Please upload the invoice for the shirting fabric: its origin decides whether the "
    "tolerance applies."
)
RENEWAL_DAYS_LEFT = 30  # the renewed certificate ends in 30 days: inside the 90-day window


def _actors(product):
    member = product.producer.members.order_by("id").first()
    code = product.producer.member_state_id.lower()
    reviewer = User.objects.get(email=f"reviewer-{code}@{DEMO_DOMAIN}")
    return member, reviewer


def _issue(product, member, reviewer, *, renews=None, comment=""):
    application = services.application_create(
        actor=member, product_id=product.pk, renews_number=renews.number if renews else None
    )
    services.application_submit(actor=member, application_id=application.pk)
    services.application_start_review(actor=reviewer, application_id=application.pk)
    services.application_approve(actor=reviewer, application_id=application.pk, comment=comment)
    return Certificate.objects.get(application_id=application.pk)


def _move_into_the_past(certificate, *, valid_until):
    """Demo only: shift a fresh certificate's validity so it ends on `valid_until`, as if it
    had been issued long ago, and sign its token again for the new dates."""
    state = certificate.member_state
    months = state.authority.certificate_validity_months
    valid_from = lifecycle.add_months(valid_until + datetime.timedelta(days=1), -months)
    issued_at = datetime.datetime.combine(
        valid_from, datetime.time(10, 0), tzinfo=ZoneInfo(state.time_zone)
    )
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=valid_from, valid_until=valid_until, issued_at=issued_at
    )
    certificate.refresh_from_db()
    register.reindex_certificate(certificate)  # the register follows the new dates
    return services.sign_certificate(certificate)


def _create(kind, product, previous):
    member, reviewer = _actors(product)
    today = lifecycle.today_in(product.producer.member_state)
    comment = APPROVAL_COMMENTS.get(product.name, "")
    if kind == REVOKED:
        certificate = _issue(product, member, reviewer, comment=comment)
        services.certificate_revoke(
            actor=reviewer, number=certificate.number, reason=REVOKE_REASONS[product.name]
        )
    elif kind == RENEWAL:
        certificate = _issue(product, member, reviewer, renews=previous)
    else:
        certificate = _issue(product, member, reviewer, comment=comment)
    if kind == SUSPENDED:
        services.certificate_suspend(
            actor=reviewer, number=certificate.number, reason=SUSPEND_REASONS[product.name]
        )
    elif kind == EXPIRED:
        _move_into_the_past(certificate, valid_until=today - datetime.timedelta(days=1))
    elif kind == RENEWED:
        _move_into_the_past(
            certificate, valid_until=today + datetime.timedelta(days=RENEWAL_DAYS_LEFT)
        )
    return certificate


@transaction.atomic
def seed_certificates():
    """Create the missing sample certificates; return [(kind, number, product, state, note)]
    for every sample, in the order of SAMPLES."""
    samples = []
    for code, product_name, kinds in SAMPLES:
        product = Product.objects.select_related("producer__member_state").get(
            producer__member_state_id=code, name=product_name
        )
        existing = list(
            Certificate.objects.filter(
                product=product, application__status=Application.Status.APPROVED
            ).order_by("id")
        )
        previous = None
        for index, kind in enumerate(kinds):
            if index < len(existing):
                certificate = existing[index]
            else:
                certificate = _create(kind, product, previous)
            note = NOTES.get(kind, "")
            if product.producer.is_individual:
                note = "individual entrepreneur: tax id not shown"
            samples.append((kind, certificate.number, f"{product.name}", code, note))
            previous = certificate
    return samples


@transaction.atomic
def seed_open_applications():
    """Create the open sample applications whose product has no application yet."""
    for code, product_name, status in OPEN_APPLICATIONS:
        product = Product.objects.select_related("producer").get(
            producer__member_state_id=code, name=product_name
        )
        if Application.objects.filter(product=product).exists():
            continue
        member, reviewer = _actors(product)
        application = services.application_create(actor=member, product_id=product.pk)
        if status == Application.Status.DRAFT:
            continue
        services.application_submit(actor=member, application_id=application.pk)
        if status == Application.Status.CHANGES_REQUESTED:
            services.application_start_review(actor=reviewer, application_id=application.pk)
            services.application_request_changes(
                actor=reviewer, application_id=application.pk, comment=CHANGES_COMMENT
            )


def sample_statuses(samples):
    """[(status read through verification, expected status, number, product, state, note)]."""
    results = lookup.verify_many([sample[1] for sample in samples])
    return [
        (result["status"], EXPECTED_STATUS[kind], number, product, state, note)
        for (kind, number, product, state, note), result in zip(samples, results, strict=True)
    ]
