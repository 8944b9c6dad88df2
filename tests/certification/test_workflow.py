import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from certification.core.numbering import parse_number
from certification.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationFailed,
)
from certification.models import Application, AuditEvent, Certificate, OutboxEvent
from certification.workflow import services
from registry.selectors import in_language
from tests.factories import CustomsFactory, ReviewerFactory, SecretariatFactory, UserFactory, state

S = Application.Status
ALLOWED_FROM = {
    "submit": {S.DRAFT, S.CHANGES_REQUESTED},
    "withdraw": {S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED},
    "start": {S.SUBMITTED},
    "changes": {S.UNDER_REVIEW},
    "approve": {S.UNDER_REVIEW},
    "reject": {S.UNDER_REVIEW},
}
REVIEWER_ACTIONS = {"start", "changes", "approve", "reject"}
RESULT = {
    "submit": S.SUBMITTED,
    "withdraw": S.WITHDRAWN,
    "start": S.UNDER_REVIEW,
    "changes": S.CHANGES_REQUESTED,
    "approve": S.APPROVED,
    "reject": S.REJECTED,
}


@pytest.mark.parametrize("action", list(ALLOWED_FROM))
@pytest.mark.parametrize("status", list(S.values))
def test_every_transition_from_every_state(flow, action, status):
    app = flow.application(status)
    events_before = AuditEvent.objects.count()
    if status in ALLOWED_FROM[action]:
        result = flow.do(action, app)
        assert result.status == RESULT[action]
        app.refresh_from_db()
        assert app.status == RESULT[action]
        assert AuditEvent.objects.count() == events_before + 1
    else:
        # A reviewer never sees an application that was not submitted: 404 before 409.
        unseen = action in REVIEWER_ACTIONS and app.submitted_at is None
        with pytest.raises(NotFound if unseen else TransitionNotAllowed) as excinfo:
            flow.do(action, app)
        assert excinfo.value.status == (404 if unseen else 409)
        app.refresh_from_db()
        assert app.status == status
        assert AuditEvent.objects.count() == events_before


EXPECTED_OUTBOX = {
    "submit": ["application.submitted"],
    "withdraw": ["application.withdrawn"],
    "start": [],
    "changes": ["application.changes_requested"],
    "approve": ["application.approved", "certificate.issued"],
    "reject": ["application.rejected"],
}
FROM_STATE = {
    "submit": S.DRAFT,
    "withdraw": S.SUBMITTED,
    "start": S.SUBMITTED,
    "changes": S.UNDER_REVIEW,
    "approve": S.UNDER_REVIEW,
    "reject": S.UNDER_REVIEW,
}
AUDIT_ACTION = {
    "submit": "application.submitted",
    "withdraw": "application.withdrawn",
    "start": "application.review_started",
    "changes": "application.changes_requested",
    "approve": "application.approved",
    "reject": "application.rejected",
}


@pytest.mark.parametrize("action", list(EXPECTED_OUTBOX))
def test_each_transition_writes_one_audit_event_and_its_outbox_events(flow, action):
    app = flow.application(FROM_STATE[action])
    last_audit = AuditEvent.objects.order_by("-id").first()
    outbox_before = set(OutboxEvent.objects.values_list("id", flat=True))
    flow.do(action, app)
    new_audit = list(AuditEvent.objects.filter(id__gt=last_audit.id))
    assert [e.action for e in new_audit] == [AUDIT_ACTION[action]]
    event = new_audit[0]
    assert (event.target_type, event.target_id) == ("application", str(app.pk))
    assert (event.from_state, event.to_state) == (FROM_STATE[action], RESULT[action])
    assert event.actor_label in (flow.member.email, flow.reviewer.email)
    new_outbox = OutboxEvent.objects.exclude(id__in=outbox_before).order_by("occurred_at")
    assert sorted(e.event for e in new_outbox) == sorted(EXPECTED_OUTBOX[action])
    for outbox_event in new_outbox:
        assert outbox_event.payload[
            "application" if outbox_event.event.startswith("app") else "certificate"
        ]
        assert outbox_event.sent_at is None and outbox_event.next_attempt_at is not None


def test_certificate_transitions_write_audit_and_outbox(flow):
    app = flow.application(S.APPROVED)
    number = app.certificate.number
    for function, kwargs, status, event in [
        (
            services.certificate_suspend,
            {"reason": "Factory audit pending"},
            "suspended",
            "certificate.suspended",
        ),
        (services.certificate_reinstate, {}, "active", "certificate.reinstated"),
        (
            services.certificate_revoke,
            {"reason": "Fraudulent invoices"},
            "revoked",
            "certificate.revoked",
        ),
    ]:
        before = AuditEvent.objects.count()
        cert = function(actor=flow.reviewer, number=number.lower(), **kwargs)
        assert cert.status == status
        assert AuditEvent.objects.count() == before + 1
        assert AuditEvent.objects.last().action == event
        assert OutboxEvent.objects.filter(certificate=cert, event=event).count() == 1
    for function in (
        services.certificate_suspend,
        services.certificate_reinstate,
        services.certificate_revoke,
    ):
        with pytest.raises(TransitionNotAllowed):
            function(actor=flow.reviewer, number=number, reason="again")
    cert = Certificate.objects.get(number=number)
    assert cert.status == "revoked" and cert.status_reason == "Fraudulent invoices"


def test_suspend_and_revoke_need_a_reason(flow):
    cert = flow.application(S.APPROVED).certificate
    for function in (services.certificate_suspend, services.certificate_revoke):
        with pytest.raises(ValidationFailed) as excinfo:
            function(actor=flow.reviewer, number=cert.number, reason="  ")
        assert "reason" in excinfo.value.fields
    cert.refresh_from_db()
    assert cert.status == "active"


def test_reject_and_request_changes_need_a_comment(flow):
    app = flow.application(S.UNDER_REVIEW)
    for action in ("reject", "changes"):
        with pytest.raises(ValidationFailed) as excinfo:
            flow.do(action, app, comment="")
        assert "comment" in excinfo.value.fields
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW


def test_failing_application_is_flagged_and_approving_it_needs_a_reason(flow):
    product = flow.make_product(passing=False)
    app = flow.application(S.UNDER_REVIEW, product=product)
    assert app.flagged and app.assessment["verdict"] == "FAIL"
    assert "60%" in app.assessment["message"]
    with pytest.raises(ValidationFailed) as excinfo:
        flow.do("approve", app)
    assert "comment" in excinfo.value.fields
    assert not Certificate.objects.exists()
    flow.do("approve", app, comment="Fabric origin proven by a later supplier declaration.")
    app.refresh_from_db()
    assert app.status == S.APPROVED
    assert app.override_reason.startswith("Fabric origin")
    assert app.certificate.origin_criterion == "Decision of the issuing authority"


def test_the_origin_criterion_is_in_english_whoever_submitted_and_approved(flow):
    """The table's notation in its own language: the same value for the API, the PDF and
    the register, whatever pages the manufacturer and the reviewer used."""
    passing = flow.application()
    with translation.override("uz"):
        flow.advance(passing, S.UNDER_REVIEW)
    with translation.override("ru"):
        flow.do("approve", passing)
    passing.refresh_from_db()
    assert passing.assessment["message"] != in_language(passing.assessment, "en")["message"]
    assert passing.certificate.origin_criterion == "CC except chapter 60"
    failing = flow.application(product=flow.make_product(passing=False))
    with translation.override("kk"):
        flow.advance(failing, S.UNDER_REVIEW)
        flow.do("approve", failing, comment="Origin proven by the supplier's declaration.")
    failing.refresh_from_db()
    assert failing.certificate.origin_criterion == "Decision of the issuing authority"


def test_approval_issues_a_numbered_certificate_with_snapshots(flow):
    app = flow.application(S.APPROVED)
    cert = app.certificate
    parsed = parse_number(cert.number)
    assert (parsed.country, parsed.sequence) == ("UZ", 1)
    assert cert.status == "active"
    assert cert.origin_criterion == "CC except chapter 60"
    assert cert.product_snapshot["name"] == flow.product.name
    assert cert.product_snapshot["materials"][0]["origin_country"] == "UZ"
    assert cert.producer_snapshot["tax_id"] == flow.producer.tax_id
    assert cert.assessment["verdict"] == "PASS"
    assert (cert.valid_until - cert.valid_from).days in range(729, 732)
    flow.producer.refresh_from_db()
    assert flow.producer.verified_by == flow.reviewer and flow.producer.verified_at
    second = flow.application(S.APPROVED, product=flow.make_product())
    assert parse_number(second.certificate.number).sequence == 2
    flow.producer.refresh_from_db()
    assert flow.producer.verified_at == cert.issued_at  # attested once, on the first


def test_edited_product_does_not_change_the_issued_certificate(flow):
    cert = flow.application(S.APPROVED).certificate
    services.product_update(
        actor=flow.member,
        product_id=flow.product.pk,
        data={"name": "Renamed shirt", "ex_works_price": Decimal("20.00")},
        materials=[
            {
                "description": "Chinese fabric",
                "hs_code": "600632",
                "origin_country": "CN",
                "value": Decimal("15.00"),
            }
        ],
    )
    cert.refresh_from_db()
    assert cert.product_snapshot["name"] != "Renamed shirt"
    assert cert.product_snapshot["materials"][0]["description"] == "Combed cotton yarn"
    assert cert.assessment["verdict"] == "PASS"


def test_snapshot_at_submit_is_what_the_reviewer_decides_on(flow):
    app = flow.application(S.SUBMITTED)
    services.product_update(
        actor=flow.member,
        product_id=flow.product.pk,
        data={},
        materials=[
            {
                "description": "Chinese fabric",
                "hs_code": "600632",
                "origin_country": "CN",
                "value": Decimal("9.00"),
            }
        ],
    )
    app.refresh_from_db()
    assert app.assessment["verdict"] == "PASS"
    assert app.product_snapshot["materials"][0]["description"] == "Combed cotton yarn"


def _issued(flow, *, valid_until, issued_days_ago=700):
    cert = flow.application(S.APPROVED).certificate
    cert.valid_from = valid_until - datetime.timedelta(days=729)
    cert.valid_until = valid_until
    cert.save()
    return cert


def test_renewal_starts_the_day_after_the_old_certificate_ends(flow):
    today = datetime.date.today()
    old = _issued(flow, valid_until=today + datetime.timedelta(days=30))
    renewal = flow.application(S.APPROVED, renews=old)
    new = renewal.certificate
    assert new.renews == old
    assert new.valid_from == old.valid_until + datetime.timedelta(days=1)


def test_renewal_approved_late_is_not_backdated(flow, time_machine=None):
    from certification.core import lifecycle

    today = lifecycle.today_in(flow.state)
    old = _issued(flow, valid_until=today + datetime.timedelta(days=10))
    app = flow.application(S.UNDER_REVIEW, renews=old)
    # The old certificate ended while the renewal waited in the queue.
    old.valid_until = today - datetime.timedelta(days=5)
    old.save()
    flow.do("approve", app)
    app.refresh_from_db()
    assert app.certificate.valid_from == today


def test_renewal_is_refused_before_its_window_and_for_other_products(flow):
    today = datetime.date.today()
    old = _issued(flow, valid_until=today + datetime.timedelta(days=200))
    with pytest.raises(ValidationFailed) as excinfo:
        flow.application(S.DRAFT, renews=old)
    assert "renews" in excinfo.value.fields and "90 days" in excinfo.value.message
    other = flow.make_product()
    old.valid_until = today + datetime.timedelta(days=20)
    old.save()
    with pytest.raises(ValidationFailed):
        flow.application(S.DRAFT, product=other, renews=old)


def test_a_certificate_is_renewed_once(flow):
    """A second renewal application is refused while one is open, and an approval finds
    a certificate renewed meanwhile (say, by an application opened before this rule) and
    refuses: never two certificates following one."""
    today = datetime.date.today()
    old = _issued(flow, valid_until=today + datetime.timedelta(days=30))
    first = flow.application(S.UNDER_REVIEW, renews=old)
    with pytest.raises(ValidationFailed) as excinfo:
        flow.application(S.DRAFT, renews=old)
    assert f"application {first.pk}" in excinfo.value.message
    # A rival that got under review anyway (data from before the rule): the approval
    # that comes second is refused.
    second = flow.application(S.UNDER_REVIEW)
    Application.objects.filter(pk=second.pk).update(renews=old)
    second.refresh_from_db()
    flow.do("approve", first)
    with pytest.raises(Conflict) as excinfo:
        flow.do("approve", second)
    assert excinfo.value.code == "already_renewed"
    assert Certificate.objects.filter(renews=old).count() == 1
    second.refresh_from_db()
    assert second.status == S.UNDER_REVIEW


def test_an_import_audits_each_product_it_creates(flow):
    data = {"hs_code": "610910", "ex_works_price": "10.00", "currency": "USD"}
    items = [{"data": {**data, "name": f"Shirt {n}"}, "materials": []} for n in range(3)]
    created = services.products_import(
        actor=flow.member, producer_id=flow.producer.pk, products=items
    )
    assert [p.name for p in created] == ["Shirt 0", "Shirt 1", "Shirt 2"]
    events = AuditEvent.objects.filter(action="product.created").order_by("id")
    assert [e.target_id for e in events] == [str(p.pk) for p in created]
    assert all(e.data == {"materials": 0, "imported": True} for e in events)


# --- Authorisation matrix ------------------------------------------------------------------

ACTORS = [
    "member",
    "other_manufacturer",
    "reviewer",
    "other_state_reviewer",
    "customs",
    "secretariat",
]
# What each actor gets when trying each action on an application in the right state.
MATRIX = {
    "submit": {
        "member": "ok",
        "other_manufacturer": NotFound,
        "reviewer": NotFound,
        "other_state_reviewer": NotFound,
        "customs": NotFound,
        "secretariat": PermissionDenied,
    },
    "withdraw": {
        "member": "ok",
        "other_manufacturer": NotFound,
        "reviewer": PermissionDenied,
        "other_state_reviewer": NotFound,
        "customs": NotFound,
        "secretariat": PermissionDenied,
    },
    "start": {
        "member": PermissionDenied,
        "other_manufacturer": NotFound,
        "reviewer": "ok",
        "other_state_reviewer": NotFound,
        "customs": NotFound,
        "secretariat": PermissionDenied,
    },
    "changes": {
        "member": PermissionDenied,
        "other_manufacturer": NotFound,
        "reviewer": "ok",
        "other_state_reviewer": NotFound,
        "customs": NotFound,
        "secretariat": PermissionDenied,
    },
    "approve": {
        "member": PermissionDenied,
        "other_manufacturer": NotFound,
        "reviewer": "ok",
        "other_state_reviewer": NotFound,
        "customs": NotFound,
        "secretariat": PermissionDenied,
    },
    "reject": {
        "member": PermissionDenied,
        "other_manufacturer": NotFound,
        "reviewer": "ok",
        "other_state_reviewer": NotFound,
        "customs": NotFound,
        "secretariat": PermissionDenied,
    },
}
START = {
    "submit": S.DRAFT,
    "withdraw": S.SUBMITTED,
    "start": S.SUBMITTED,
    "changes": S.UNDER_REVIEW,
    "approve": S.UNDER_REVIEW,
    "reject": S.UNDER_REVIEW,
}


def _actor(flow, name):
    return {
        "member": lambda: flow.member,
        "other_manufacturer": UserFactory,
        "reviewer": lambda: flow.reviewer,
        "other_state_reviewer": lambda: ReviewerFactory(member_state=state("KZ")),
        "customs": lambda: CustomsFactory(member_state=state("UZ")),
        "secretariat": SecretariatFactory,
    }[name]()


@pytest.mark.parametrize("actor_name", ACTORS)
@pytest.mark.parametrize("action", list(MATRIX))
def test_authorisation_matrix(flow, action, actor_name):
    app = flow.application(START[action])
    actor = _actor(flow, actor_name)
    expected = MATRIX[action][actor_name]
    if expected == "ok":
        assert flow.do(action, app, actor=actor).status == RESULT[action]
        return
    before = (AuditEvent.objects.count(), OutboxEvent.objects.count())
    with pytest.raises(expected):
        flow.do(action, app, actor=actor)
    app.refresh_from_db()
    assert app.status == START[action]
    assert (AuditEvent.objects.count(), OutboxEvent.objects.count()) == before


@pytest.mark.parametrize("actor_name", ACTORS)
def test_certificate_actions_only_for_the_issuing_states_reviewer(flow, actor_name):
    cert = flow.application(S.APPROVED).certificate
    actor = _actor(flow, actor_name)
    if actor_name == "reviewer":
        assert (
            services.certificate_suspend(actor=actor, number=cert.number, reason="Audit").status
            == "suspended"
        )
        return
    expected = (
        NotFound
        if actor_name in ("other_manufacturer", "other_state_reviewer")
        else PermissionDenied
    )
    for function in (services.certificate_suspend, services.certificate_revoke):
        with pytest.raises(expected):
            function(actor=actor, number=cert.number, reason="Because")
    cert.refresh_from_db()
    assert cert.status == "active"


def test_reviewer_does_not_see_drafts(flow):
    app = flow.application(S.DRAFT)
    with pytest.raises(NotFound):
        flow.do("start", app)


def test_manufacturer_cannot_apply_for_another_producers_product(flow):
    stranger = UserFactory()
    with pytest.raises(ValidationFailed) as excinfo:
        services.application_create(actor=stranger, product_id=flow.product.pk)
    assert "product" in excinfo.value.fields
    assert not Application.objects.exists()


# --- Audit chain ---------------------------------------------------------------------------


def test_audit_chain_is_intact_after_a_workflow(flow, capsys):
    flow.application(S.APPROVED)
    call_command("verify_audit_chain")
    assert "Audit chain intact" in capsys.readouterr().out


def test_tampered_audit_row_is_reported(flow):
    flow.application(S.APPROVED)
    victim = AuditEvent.objects.get(action="application.submitted")
    AuditEvent.objects.filter(pk=victim.pk).update(comment="nothing to see")
    with pytest.raises(CommandError, match=f"event {victim.pk}: .*altered"):
        call_command("verify_audit_chain")


def test_deleted_audit_row_is_reported(flow):
    flow.application(S.APPROVED)
    events = list(AuditEvent.objects.order_by("id"))
    AuditEvent.objects.filter(pk=events[2].pk).delete()
    with pytest.raises(CommandError, match=f"event {events[3].pk}: .*deleted"):
        call_command("verify_audit_chain")


def test_deleted_last_audit_row_is_reported(flow):
    from certification.models import AuditChainHead

    flow.application(S.APPROVED)
    last, previous = AuditEvent.objects.order_by("-id")[:2]
    # The head row protects the latest event; a tamperer must repoint it first.
    AuditChainHead.objects.filter(pk=1).update(last_event=previous)
    last.delete()
    with pytest.raises(CommandError, match="ends early"):
        call_command("verify_audit_chain")


def test_audit_data_masks_secrets(flow):
    from django.db import transaction

    from certification.core import audit

    with transaction.atomic():
        event = audit.record(
            flow.member,
            "test.secret",
            flow.producer,
            data={"password": "hunter2", "nested": {"api_token": "abc"}, "kept": "visible"},
        )
    assert event.data == {"password": "***", "nested": {"api_token": "***"}, "kept": "visible"}
