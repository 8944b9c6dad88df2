"""Races that only a real database shows: run on PostgreSQL (CI), skipped on SQLite, whose
in-memory test database cannot be shared between threads."""

import threading

import pytest
from django.db import connection, connections, transaction

from certification.core import audit
from certification.core.audit import verify_chain
from certification.core.numbering import parse_number
from certification.exceptions import TransitionNotAllowed
from certification.models import Application, AuditEvent, Certificate
from certification.verification import checkpoints, signing
from certification.workflow import services
from tests.certification.conftest import Flow

S = Application.Status

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback restores the data migrations (member states, HS codes, rules)
    # that the flush after each transactional test removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL); CI runs it"
    ),
]


def run_concurrently(functions):
    """Start every function at the same moment, each on its own database connection;
    return [(result or None, exception or None)] in order."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def worker(index, function):
        try:
            barrier.wait()
            results[index] = (function(), None)
        except Exception as error:  # noqa: BLE001 - collected for the assertions
            results[index] = (None, error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_connections_approving_the_same_application_yield_one_certificate():
    flow = Flow("UZ")
    app = flow.application(S.UNDER_REVIEW)

    def approve():
        return services.application_approve(actor=flow.reviewer, application_id=app.pk)

    results = run_concurrently([approve, approve])
    errors = [error for _result, error in results if error is not None]
    assert len(errors) == 1 and isinstance(errors[0], TransitionNotAllowed)
    assert Certificate.objects.filter(application=app).count() == 1
    assert AuditEvent.objects.filter(action="application.approved").count() == 1


def test_twenty_concurrent_approvals_get_consecutive_numbers_and_one_audit_chain():
    flow = Flow("KZ")
    apps = [flow.application(S.UNDER_REVIEW, product=flow.make_product()) for _ in range(20)]
    results = run_concurrently(
        [
            (
                lambda app_id: (
                    lambda: services.application_approve(actor=flow.reviewer, application_id=app_id)
                )
            )(app.pk)
            for app in apps
        ]
    )
    assert [error for _r, error in results if error is not None] == []
    numbers = Certificate.objects.filter(member_state="KZ").values_list("number", flat=True)
    sequences = sorted(parse_number(n).sequence for n in numbers)
    assert sequences == list(range(1, 21))
    assert verify_chain() is None


def test_appends_do_not_wait_while_a_checkpoint_is_checked_and_signed(monkeypatch):
    """Every audited transition locks the chain's head: a checkpoint must not hold that lock
    while it walks the chain and signs."""
    flow = Flow("UZ")
    flow.application(S.APPROVED)
    checkpoints.create()
    flow.application(S.SUBMITTED, product=flow.make_product())
    active_key, appends = signing.active_key, []

    def append():
        try:
            with transaction.atomic():
                audit.record(None, "test.appended", flow.producer)
        finally:
            connections.close_all()

    def signing_while_another_appends(owner):
        if owner == signing.SECRETARIAT and not appends:
            thread = threading.Thread(target=append)
            thread.start()
            thread.join(timeout=5)
            appends.append(thread)
        return active_key(owner)

    monkeypatch.setattr(signing, "active_key", signing_while_another_appends)
    checkpoint = checkpoints.create()
    (thread,) = appends
    waited = thread.is_alive()
    thread.join(timeout=60)
    assert not waited, "the append waited for the checkpoint to commit"
    # The checkpoint signs the head it read; the append came after it, and the chain
    # extends both.
    assert AuditEvent.objects.filter(action="test.appended").count() == 1
    assert checkpoint.sequence == AuditEvent.objects.count() - 1
    assert verify_chain([checkpoints.read_marks([checkpoint.token])[0]]) is None
