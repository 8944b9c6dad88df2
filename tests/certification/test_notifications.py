"""Notifications with tasks run in-process: fan-out, email, webhooks, leases, backoff, the
sweep, reminders and expiry. The real-worker scenarios are in test_worker_delivery.py."""

import datetime
import json
import logging
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from certification import tasks
from certification.core import lifecycle, queueing
from certification.models import (
    Application,
    AuditEvent,
    Certificate,
    Delivery,
    DeliveryAttempt,
    OutboxEvent,
    WebhookSubscription,
)
from certification.notifications import dispatch, expiry, webhooks
from certification.workflow import services
from tests.api.conftest import client_for
from tests.certification.receivers import Receiver
from tests.factories import CustomsFactory, ReviewerFactory, SecretariatFactory, state

S = Application.Status


@pytest.fixture
def receivers(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    started = []

    def start(*answers, **kwargs):
        receiver = Receiver(answers or (200,), **kwargs)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def subscribe(owner, url, events=("certificate.issued",)):
    return webhooks.subscribe(actor=owner, url=url, events=list(events))


def approve(flow, committing):
    return committing(flow.application, S.APPROVED)


def mails_to(user):
    return [m for m in mail.outbox if m.to == [user.email]]


def make_due(*querysets):
    for queryset in querysets:
        queryset.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


# --- Email ---------------------------------------------------------------------------------


def test_approval_sends_one_email_to_the_holder_with_text_and_html(flow, committing):
    other_member = flow.member.__class__.objects.create_user(
        email="second@producer.example", password="x-Long-enough-1", full_name="Second"
    )
    flow.producer.memberships.create(user=other_member)
    app = approve(flow, committing)
    number = app.certificate.number
    to_holder = mails_to(flow.member)
    assert len(to_holder) == 1
    message = to_holder[0]
    assert number in message.subject and flow.product.name in message.subject
    assert number in message.body and f"/verify/{number}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and number in html and '<html lang="en">' in html
    assert message.extra_headers["X-MCA-Event"] == "application.approved"
    assert len(mails_to(other_member)) == 1  # every member of the producer hears of it


def test_submission_emails_the_states_reviewers_only(flow, committing):
    other_state_reviewer = ReviewerFactory(member_state=state("KZ"))
    second_uz_reviewer = ReviewerFactory(member_state=state("UZ"))
    committing(flow.application, S.SUBMITTED)
    assert [m.extra_headers["X-MCA-Event"] for m in mails_to(flow.reviewer)] == [
        "application.submitted"
    ]
    assert len(mails_to(second_uz_reviewer)) == 1
    assert mails_to(other_state_reviewer) == []
    assert mails_to(flow.member) == []


def test_emails_are_in_the_recipients_language(flow, committing):
    flow.member.language = "ru"
    flow.member.save()
    app = approve(flow, committing)
    (message,) = mails_to(flow.member)
    assert message.subject.startswith("Одобрено: сертификат " + app.certificate.number)
    assert "Здравствуйте" in message.body and "Страница проверки" in message.body
    html = message.alternatives[0][0]
    assert '<html lang="ru">' in html and "Сделано в Центральной Азии" in html
    # The reviewer reads English.
    assert mails_to(flow.reviewer)[0].subject.startswith("New application to review")


def test_an_unknown_language_falls_back_to_english(flow, committing):
    flow.member.language = "xx"
    flow.member.save()
    approve(flow, committing)
    assert mails_to(flow.member)[0].subject.startswith("Approved: certificate")


def test_changes_requested_and_rejection_emails_quote_the_reviewer(flow, committing):
    app = committing(flow.application, S.UNDER_REVIEW)
    committing(flow.do, "changes", app, comment="Attach the yarn invoice, please.")
    (message,) = mails_to(flow.member)
    assert "Changes requested" in message.subject
    assert "Attach the yarn invoice, please." in message.body
    other = committing(flow.application, S.UNDER_REVIEW, product=flow.make_product())
    mail.outbox.clear()
    committing(flow.do, "reject", other, comment="The fabric is Chinese.")
    (message,) = mails_to(flow.member)
    assert message.subject.startswith("Rejected") and "The fabric is Chinese." in message.body


def test_html_email_escapes_what_users_typed(flow, committing):
    app = committing(flow.application, S.UNDER_REVIEW)
    committing(flow.do, "changes", app, comment="<script>alert(1)</script> & more")
    (message,) = mails_to(flow.member)
    html = message.alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>alert(1)</script> & more" in message.body  # plain text stays plain


def test_certificate_status_changes_email_the_holder_with_the_reason(flow, committing):
    app = approve(flow, committing)
    number = app.certificate.number
    mail.outbox.clear()
    committing(services.certificate_suspend, actor=flow.reviewer, number=number, reason="Audit")
    committing(services.certificate_reinstate, actor=flow.reviewer, number=number)
    committing(services.certificate_revoke, actor=flow.reviewer, number=number, reason="Fraud")
    subjects = [m.subject for m in mails_to(flow.member)]
    assert subjects == [
        f"Certificate {number} is suspended",
        f"Certificate {number} is reinstated",
        f"Certificate {number} is revoked",
    ]
    assert "Fraud" in mails_to(flow.member)[2].body


def test_withdrawal_and_issue_send_no_extra_email(flow, committing):
    committing(flow.application, S.WITHDRAWN)
    assert mail.outbox == []
    assert OutboxEvent.objects.get(event="application.withdrawn").sent_at is not None


def test_email_is_not_sent_twice_when_dispatch_runs_again(flow, committing):
    approve(flow, committing)
    event = OutboxEvent.objects.get(event="application.approved")
    assert dispatch.fan_out(event.pk) == []  # already fanned out
    OutboxEvent.objects.filter(pk=event.pk).update(sent_at=None)  # as if it had crashed
    pending = dispatch.fan_out(event.pk)
    assert pending == []  # the delivery exists (unique per account) and was sent
    for delivery in Delivery.objects.all():
        assert dispatch.deliver(delivery.pk) is None  # sent: nothing to claim
    assert len(mails_to(flow.member)) == 1


# --- Webhooks ------------------------------------------------------------------------------


def test_issue_is_posted_signed_to_each_subscriber(flow, committing, receivers):
    customs, secretariat = CustomsFactory(), SecretariatFactory()
    first, second = receivers(), receivers()
    customs_hook = subscribe(customs, first.url)
    secretariat_hook = subscribe(
        secretariat, second.url, ["certificate.issued", "certificate.revoked"]
    )
    app = approve(flow, committing)
    assert first.signed_by(customs_hook.secret) and second.signed_by(secretariat_hook.secret)
    (body,) = first.bodies()
    (second_body,) = second.bodies()
    event = OutboxEvent.objects.get(event="certificate.issued")
    assert body["id"] == second_body["id"] == str(event.pk)
    assert body["event"] == "certificate.issued"
    assert body["occurred_at"] == event.occurred_at.isoformat()
    sent_at = datetime.datetime.fromisoformat(body["sent_at"])
    assert abs((timezone.now() - sent_at).total_seconds()) < 30
    certificate = body["certificate"]
    assert certificate["number"] == app.certificate.number
    assert certificate["status"] == "valid"
    assert set(certificate) >= {"valid_from", "valid_until", "product", "producer"}
    request = first.requests[0]
    assert request["path"] == "/hooks/mca?source=registry"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["headers"]["X-MCA-Event"] == "certificate.issued"
    # The raw body is what was signed: UTF-8, no \u escapes.
    assert json.loads(request["body"].decode("utf-8")) == body


def test_webhooks_go_only_to_subscribers_of_the_event_who_may_see_it(flow, committing, receivers):
    own_state, other_state, revoked_only = receivers(), receivers(), receivers()
    subscribe(ReviewerFactory(member_state=state("UZ")), own_state.url)
    subscribe(ReviewerFactory(member_state=state("KZ")), other_state.url)
    subscribe(CustomsFactory(), revoked_only.url, ["certificate.revoked"])
    approve(flow, committing)
    assert len(own_state.requests) == 1
    assert other_state.requests == [] and revoked_only.requests == []


def test_application_events_never_go_to_webhooks(flow, committing, receivers):
    receiver = receivers()
    subscribe(CustomsFactory(), receiver.url, webhooks.SUBSCRIBABLE_EVENTS)
    committing(flow.application, S.SUBMITTED)
    assert receiver.requests == []


def test_one_failing_webhook_is_retried_alone(flow, committing, receivers):
    failing, working = receivers(500, 500, 204), receivers()
    customs = CustomsFactory()
    failing_hook = subscribe(customs, failing.url)
    subscribe(SecretariatFactory(), working.url)
    approve(flow, committing)
    delivery = Delivery.objects.get(subscription=failing_hook)
    assert delivery.state == "pending" and delivery.attempts == 1
    assert "HTTP 500" in delivery.last_error
    for _ in range(2):
        make_due(Delivery.objects.filter(pk=delivery.pk))
        tasks.sweep_outbox.apply()
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.attempts == 3
    assert len(failing.requests) == 3
    assert len({body["id"] for body in failing.bodies()}) == 1  # one event id throughout
    assert len(working.requests) == 1
    assert len(mails_to(flow.member)) == 1
    log = list(delivery.attempt_log.order_by("number").values_list("ok", "status_code"))
    assert log == [(False, 500), (False, 500), (True, 204)]


def test_a_failing_receiver_never_fails_the_request(
    flow, receivers, django_capture_on_commit_callbacks
):
    dead = receivers()
    url = dead.url
    dead.stop()  # nothing listens there any more
    subscribe(CustomsFactory(), url)
    app = flow.application(S.UNDER_REVIEW)
    client = client_for(flow.reviewer)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/applications/{app.pk}/approve/", {}, format="json")
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.state == "pending" and "Could not deliver" in delivery.last_error


def test_eager_dispatch_runs_after_the_request_in_a_thread(flow, settings, monkeypatch):
    settings.OUTBOX_EAGER_IN_THREAD = True
    ran = []

    def slow_fan_out(event_id):
        time.sleep(0.5)
        ran.append(event_id)
        return []

    monkeypatch.setattr(dispatch, "fan_out", slow_fan_out)
    started = time.monotonic()
    queueing.queue(queueing.DISPATCH_EVENT, ["00000000-0000-0000-0000-000000000001"])
    assert time.monotonic() - started < 0.3 and ran == []
    deadline = time.monotonic() + 5
    while not ran and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ran == ["00000000-0000-0000-0000-000000000001"]


def test_backoff_doubles_and_is_capped(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    settings.OUTBOX_RETRY_MAX_DELAY_SECONDS = 3600
    delays = [dispatch.backoff(n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_delivery_failing_for_24_hours_is_marked_failed(flow, committing, receivers):
    receiver = receivers(503)
    hook = subscribe(CustomsFactory(), receiver.url)
    approve(flow, committing)
    delivery = Delivery.objects.get(subscription=hook)
    tries = 1
    while delivery.state == "pending":
        # Travel to the next attempt.
        Delivery.objects.filter(pk=delivery.pk).update(
            created_at=delivery.created_at - (delivery.next_attempt_at - timezone.now()),
            next_attempt_at=timezone.now(),
        )
        assert dispatch.deliver(delivery.pk) in ("retry", "failed")
        delivery.refresh_from_db()
        tries += 1
        assert tries < 40
    assert delivery.state == "failed" and delivery.failed_at is not None
    assert timezone.now() - delivery.created_at >= timedelta(hours=23)
    assert delivery.attempts == tries == len(receiver.requests)
    assert dispatch.backlog()["failed_deliveries"] == 1
    # Nothing claims or sweeps it any more.
    make_due(Delivery.objects.filter(pk=delivery.pk))
    assert dispatch.due_work() == ([], [])


def test_the_secretariat_sees_failed_deliveries_in_the_admin(
    flow, committing, receivers, client, settings
):
    # With DEBUG off (DATABASE_URL set) static files come from a manifest `collectstatic`
    # writes; the admin's pages need none of that here.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    receiver = receivers(500)
    hook = subscribe(CustomsFactory(), receiver.url)
    approve(flow, committing)
    Delivery.objects.filter(subscription=hook).update(failed_at=timezone.now())
    secretariat = SecretariatFactory(is_staff=True, is_superuser=True)
    client.force_login(secretariat)
    response = client.get("/admin/certification/delivery/?state=failed")
    assert response.status_code == 200
    assert b"HTTP 500" in response.content
    assert hook.secret.encode() not in response.content
    page = client.get(f"/admin/certification/webhooksubscription/{hook.pk}/change/")
    assert page.status_code == 200 and hook.secret.encode() not in page.content
    # Retry now puts it back in line.
    delivery = Delivery.objects.get(subscription=hook)
    response = client.post(
        "/admin/certification/delivery/",
        {"action": "retry_now", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.next_attempt_at <= timezone.now()


def test_a_deleted_subscription_stops_its_pending_deliveries(flow, committing, receivers):
    customs = CustomsFactory()
    receiver = receivers(500, 200)
    hook = subscribe(customs, receiver.url)
    approve(flow, committing)
    webhooks.unsubscribe(actor=customs, subscription_id=hook.pk)
    delivery = Delivery.objects.get(subscription=hook)
    assert delivery.state == "failed" and "deleted" in delivery.last_error
    make_due(Delivery.objects.filter(pk=delivery.pk))
    tasks.sweep_outbox.apply()
    assert len(receiver.requests) == 1


# --- Leases and the sweep ------------------------------------------------------------------


def test_only_one_claim_wins_and_a_lease_runs_out(flow, committing, settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    app = flow.application(S.APPROVED)  # on-commit dispatch not run: deliveries pending
    event = OutboxEvent.objects.get(event="application.approved", application=app)
    now = timezone.now()
    assert dispatch._claim(OutboxEvent, event.pk, now) is True
    assert dispatch._claim(OutboxEvent, event.pk, now) is False
    assert dispatch.fan_out(event.pk, now) == []  # leased by the first claim
    later = now + timedelta(seconds=61)
    assert dispatch.fan_out(event.pk, later) != []  # the lease ran out: claimed again
    event.refresh_from_db()
    assert event.attempts == 2 and event.sent_at is not None


def test_a_delivery_whose_worker_died_is_sent_after_its_lease(flow, committing, settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    app = flow.application(S.APPROVED)
    event = OutboxEvent.objects.get(event="application.approved", application=app)
    (delivery_id,) = dispatch.fan_out(event.pk)
    now = timezone.now()
    # A worker claims it and dies before sending.
    assert dispatch._claim(Delivery, delivery_id, now)
    DeliveryAttempt.objects.create(delivery_id=delivery_id, number=1, started_at=now)
    assert dispatch.due_work(now + timedelta(seconds=30)) == ([], [])  # leased
    assert mails_to(flow.member) == []
    events, deliveries = dispatch.due_work(now + timedelta(seconds=61))
    assert deliveries == [delivery_id]
    assert dispatch.deliver(delivery_id, now + timedelta(seconds=61)) == "sent"
    assert len(mails_to(flow.member)) == 1
    log = list(DeliveryAttempt.objects.filter(delivery_id=delivery_id).values_list("ok", flat=True))
    assert log == [None, True]  # the first try has no outcome: its worker died


def test_the_sweep_queues_work_once_until_the_lease_time_passes(flow, settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    flow.application(S.SUBMITTED)  # committed nothing was queued (no on-commit in this test)
    event = OutboxEvent.objects.get(event="application.submitted")
    now = timezone.now()
    # Just written: its on-commit queueing may still be on the way.
    assert dispatch.due_work(now) == ([], [])
    events, _ = dispatch.due_work(now + timedelta(seconds=61))
    assert events == [event.pk]
    assert dispatch.due_work(now + timedelta(seconds=62)) == ([], [])  # queued
    assert dispatch.due_work(now + timedelta(seconds=125))[0] == [event.pk]


def test_the_sweep_dispatches_events_the_broker_never_got(flow, settings):
    settings.OUTBOX_LEASE_SECONDS = 1
    flow.application(S.APPROVED)  # no on-commit: as if publishing had failed
    OutboxEvent.objects.update(queued_at=timezone.now() - timedelta(seconds=5))
    tasks.sweep_outbox.apply()
    assert not OutboxEvent.objects.filter(sent_at=None).exists()
    assert len(mails_to(flow.member)) == 1
    assert len(mails_to(flow.reviewer)) == 1


# --- Reminders and expiry ------------------------------------------------------------------


def _certificate_ending_in(flow, committing, days):
    app = approve(flow, committing)
    certificate = app.certificate
    today = lifecycle.today_in(certificate.member_state)
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=today - timedelta(days=300), valid_until=today + timedelta(days=days)
    )
    mail.outbox.clear()
    certificate.refresh_from_db()
    return certificate


def reminders(flow):
    return [
        m for m in mails_to(flow.member) if m.extra_headers["X-MCA-Event"] == "certificate.expiring"
    ]


@pytest.mark.parametrize("days_left, threshold", [(60, 60), (45, 60), (30, 30), (7, 7), (0, 7)])
def test_a_reminder_is_sent_once_at_each_threshold(flow, committing, days_left, threshold):
    certificate = _certificate_ending_in(flow, committing, days_left)
    for _ in range(3):
        committing(expiry.send_expiry_reminders)
    (message,) = reminders(flow)
    assert certificate.number in message.subject
    assert f"in {days_left} day" in message.body
    assert OutboxEvent.objects.get(event="certificate.expiring").key == (
        f"certificate.expiring:{certificate.pk}:{threshold}"
    )


def test_reminders_go_out_at_60_30_and_7_days_and_no_more(flow, committing):
    certificate = _certificate_ending_in(flow, committing, 70)
    sent = []
    today = lifecycle.today_in(certificate.member_state)
    for day in range(71):
        now = timezone.now() + timedelta(days=day)
        committing(expiry.send_expiry_reminders, now)
        sent += [(day, m.subject) for m in reminders(flow)]
        mail.outbox.clear()
    assert [day for day, _subject in sent] == [10, 40, 63]
    assert (certificate.valid_until - today).days == 70
    assert [s for _d, s in sent][1] == f"Certificate {certificate.number} expires in 30 days"


def test_no_reminder_for_a_renewed_or_revoked_certificate(flow, committing):
    certificate = _certificate_ending_in(flow, committing, 30)
    committing(
        services.certificate_revoke, actor=flow.reviewer, number=certificate.number, reason="X"
    )
    mail.outbox.clear()
    committing(expiry.send_expiry_reminders)
    assert reminders(flow) == []


def test_russian_reminder_uses_the_plural_forms(flow, committing):
    flow.member.language = "ru"
    flow.member.save()
    _certificate_ending_in(flow, committing, 7)
    committing(expiry.send_expiry_reminders)
    (message,) = reminders(flow)
    assert "истекает через 7 дней" in message.subject


def test_expiry_is_recorded_once_with_audit_email_and_webhook(flow, committing, receivers):
    receiver = receivers()
    hook = subscribe(CustomsFactory(), receiver.url, ["certificate.expired"])
    certificate = _certificate_ending_in(flow, committing, 0)
    committing(expiry.record_expiries)  # the last day is not over yet
    assert OutboxEvent.objects.filter(event="certificate.expired").count() == 0
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=certificate.valid_until - timedelta(days=1)
    )
    for _ in range(3):
        committing(expiry.record_expiries)
    certificate.refresh_from_db()
    assert certificate.expiry_recorded_at is not None
    assert OutboxEvent.objects.filter(event="certificate.expired").count() == 1
    audit = AuditEvent.objects.get(action="certificate.expired")
    assert audit.actor is None and audit.actor_label == "system" and audit.to_state == "expired"
    (message,) = mails_to(flow.member)
    assert message.subject == f"Certificate {certificate.number} has expired"
    (body,) = receiver.bodies()
    assert receiver.signed_by(hook.secret)
    assert body["event"] == "certificate.expired" and body["certificate"]["status"] == "expired"


def test_a_revoked_certificate_never_expires(flow, committing):
    certificate = _certificate_ending_in(flow, committing, 0)
    committing(
        services.certificate_revoke, actor=flow.reviewer, number=certificate.number, reason="X"
    )
    assert expiry.record_expiries(timezone.now() + timedelta(days=2)) == 0


# --- Translations --------------------------------------------------------------------------


def test_the_russian_catalogue_is_compiled():
    with translation.override("ru"):
        assert translation.gettext("Made in Central Asia") == "Сделано в Центральной Азии"


def test_no_secret_in_logs(flow, committing, receivers, caplog):
    caplog.set_level(logging.DEBUG)
    receiver = receivers(500)
    hook = subscribe(CustomsFactory(), receiver.url)
    approve(flow, committing)
    assert hook.secret not in caplog.text


def test_subscription_is_audited_without_its_secret(db, receivers):
    customs = CustomsFactory()
    hook = subscribe(customs, "https://example.org/h?token=abc")
    event = AuditEvent.objects.get(action="webhook.subscribed")
    assert event.target_id == str(hook.pk) and event.actor == customs
    assert hook.secret not in json.dumps(event.data)
    assert event.data == {"url": "https://example.org/h", "events": ["certificate.issued"]}
    assert WebhookSubscription.objects.get().secret == hook.secret  # kept to sign with
