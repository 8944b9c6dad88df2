"""Delivery through a real Celery worker (with embedded beat) against Redis and
PostgreSQL, as in production: nothing lost, nothing doubled.

The test process plays the web server: it runs the workflow, whose outbox events are
published to Redis on commit. The worker is a subprocess on the same test database
(`transaction=True`, so the data is committed where it can see it), consuming a queue of
its own (so that concurrent runs on one Redis do not steal each other's tasks), writing
mail to files and posting to receivers on 127.0.0.1. Leases, backoff and the sweep are
shortened through the environment so that the file runs in well under two minutes.
"""

import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import pools as kombu_pools

from certification import tasks
from certification.core import lifecycle
from certification.models import Application, Certificate, Delivery, OutboxEvent
from certification.notifications import webhooks
from certification.verification import signing
from config.celery import app as celery_app
from tests.api.conftest import client_for
from tests.certification.conftest import Flow
from tests.certification.receivers import Receiver
from tests.factories import CustomsFactory, ReviewerFactory, SecretariatFactory, state

S = Application.Status
BROKER = os.environ.get("CELERY_BROKER_URL")
BASE_DIR = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).with_name("celery")
LEASE_SECONDS = 3

pytestmark = [
    pytest.mark.worker,
    # serialized_rollback restores the data migrations that the flush after each
    # transactional test removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not BROKER,
        reason="needs a real worker: set DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL "
        "(Redis); CI sets both",
    ),
]


def wait_for(condition, timeout, what, worker=None):
    """Poll until condition() is truthy; fail after `timeout` seconds saying what."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    log = worker.output()[-4000:] if worker else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{log}")


def database_url():
    db = connection.settings_dict  # the test database pytest-django created
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def point_web_side_at(broker_url, queue):
    """Make this process publish to `broker_url`, queue `queue` (as a web server would with
    that configuration)."""
    conf = celery_app.conf
    conf.broker_url = broker_url
    conf.task_default_queue = queue
    kombu_pools.reset()  # the connection pools are global and keyed by the broker's address
    celery_app._pool = None
    amqp = celery_app.amqp
    amqp._producer_pool = None
    for cached in ("queues", "default_queue", "router"):
        amqp.__dict__.pop(cached, None)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Worker:
    def __init__(self, name, env, folder):
        self.log_path = folder / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            str(CELERY),
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--beat",
            f"--schedule={folder / (name + '-beat-schedule')}",
        ]
        # Its own process group: beat runs in a child process, killed with it.
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: b" ready." in self.log_path.read_bytes() or self.exited(), 60, name, self)
        assert not self.exited(), self.output()

    def exited(self):
        return self.process.poll() is not None

    def output(self):
        return self.log_path.read_bytes().decode(errors="replace")

    def count(self, text):
        return self.output().count(text)

    def kill(self):
        """SIGKILL, as a crash or the OOM killer would: no cleanup at all."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if not self.exited():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        else:
            with contextlib.suppress(ProcessLookupError):  # beat's child, if any is left
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


@pytest.fixture
def queue_name():
    name = f"mca-test-{uuid.uuid4().hex[:12]}"
    previous = (celery_app.conf.broker_url, celery_app.conf.task_default_queue)
    point_web_side_at(BROKER, name)
    yield name
    point_web_side_at(*previous)
    import redis

    client = redis.Redis.from_url(BROKER)
    client.delete(name)
    for key in client.scan_iter("_kombu.binding.*"):
        for member in client.smembers(key):
            if name.encode() in member:
                client.srem(key, member)
    client.close()


@pytest.fixture
def mail_dir(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def start_worker(queue_name, mail_dir, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE": queue_name,
        "EMAIL_FILE_PATH": str(mail_dir),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "WEBHOOK_TIMEOUT_SECONDS": "10",
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "OUTBOX_RETRY_BASE_SECONDS": "1",
        "OUTBOX_SWEEP_SECONDS": "1",
        "BEAT_HEARTBEAT_SECONDS": "1",
        "SIGNING_KEYS_DIR": str(settings.SIGNING_KEYS_DIR),
        "SECRETS_KEYS": ",".join(settings.SECRETS_KEYS),  # to sign with the webhooks' secrets
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "tests-only-" + "x" * 50,
        "SECURE_SSL_REDIRECT": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("EMAIL_HOST", None)
    signing.ensure_keys_present()  # workers refuse to start without them
    started = []

    def start(name="worker"):
        worker = Worker(f"{name}{len(started)}", env, tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


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


@pytest.fixture(autouse=True)
def _outbox_settings_as_the_worker(settings):
    # The web side reads these too (the lease decides when the sweep re-queues).
    settings.OUTBOX_LEASE_SECONDS = LEASE_SECONDS
    settings.OUTBOX_RETRY_BASE_SECONDS = 1


def read_mail(folder):
    messages = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(
                    email.message_from_bytes(chunk.strip(), policy=email.policy.default)
                )
    return messages


def mail_to(folder, user, event=None):
    return [
        m
        for m in read_mail(folder)
        if m["To"] == user.email and (event is None or m["X-MCA-Event"] == event)
    ]


def succeeded(worker, task_name):
    return [
        line
        for line in worker.output().splitlines()
        if f"Task {task_name}[" in line and " succeeded in " in line
    ]


def all_delivered():
    return (
        OutboxEvent.objects.exists()
        and not OutboxEvent.objects.filter(sent_at=None).exists()
        and not Delivery.objects.filter(sent_at=None).exists()
    )


def test_approval_sends_one_email_and_one_signed_webhook_per_subscriber(
    start_worker, receivers, mail_dir
):
    customs_receiver, secretariat_receiver, other_receiver = receivers(), receivers(), receivers()
    customs_hook = webhooks.subscribe(
        actor=CustomsFactory(), url=customs_receiver.url, events=["certificate.issued"]
    )
    secretariat_hook = webhooks.subscribe(
        actor=SecretariatFactory(), url=secretariat_receiver.url, events=["certificate.issued"]
    )
    webhooks.subscribe(  # a reviewer of another state: not its certificate
        actor=ReviewerFactory(member_state=state("KZ")),
        url=other_receiver.url,
        events=["certificate.issued"],
    )
    worker = start_worker()
    flow = Flow("UZ")
    app = flow.application(S.APPROVED)
    number = app.certificate.number

    wait_for(all_delivered, 45, "every delivery sent", worker)
    # Several sweeps later, still nothing doubled.
    sweeps = worker.count("certification.sweep_outbox")
    wait_for(
        lambda: worker.count("certification.sweep_outbox") >= sweeps + 3, 20, "3 sweeps", worker
    )

    approvals = mail_to(mail_dir, flow.member, "application.approved")
    assert len(approvals) == 1 and len(mail_to(mail_dir, flow.member)) == 1
    assert number in approvals[0]["Subject"]
    assert approvals[0].get_body(("html",)) is not None
    assert len(mail_to(mail_dir, flow.reviewer, "application.submitted")) == 1
    for receiver, hook in (
        (customs_receiver, customs_hook),
        (secretariat_receiver, secretariat_hook),
    ):
        (body,) = receiver.bodies()
        assert receiver.signed_by(hook.secret)
        assert body["event"] == "certificate.issued" and body["certificate"]["number"] == number
        assert body["id"] == str(OutboxEvent.objects.get(event="certificate.issued").pk)
    assert other_receiver.requests == []


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
    start_worker, receivers, mail_dir
):
    receiver = receivers(500, 503, 200)
    customs = CustomsFactory()
    hook = webhooks.subscribe(actor=customs, url=receiver.url, events=["certificate.issued"])
    worker = start_worker()
    flow = Flow("UZ")
    flow.application(S.APPROVED)

    delivery = wait_for(
        lambda: Delivery.objects.filter(subscription=hook, sent_at__isnull=False).first(),
        45,
        "the webhook delivered after retries",
        worker,
    )
    assert len(receiver.requests) == 3
    assert len({body["id"] for body in receiver.bodies()}) == 1
    assert receiver.signed_by(hook.secret)
    log = client_for(customs).get(f"/api/v1/webhooks/{hook.pk}/deliveries/").json()
    (entry,) = log["results"]
    assert entry["id"] == delivery.pk and entry["state"] == "sent" and entry["attempts"] == 3
    assert [(a["ok"], a["status_code"]) for a in entry["attempt_log"]] == [
        (False, 500),
        (False, 503),
        (True, 200),
    ]
    # The email went once, unaffected by the webhook's retries.
    wait_for(all_delivered, 20, "everything delivered", worker)
    assert len(mail_to(mail_dir, flow.member)) == 1


def test_a_worker_killed_mid_delivery_loses_nothing(start_worker, receivers, mail_dir):
    receiver = receivers(200, hang_first=True)
    hook = webhooks.subscribe(
        actor=CustomsFactory(), url=receiver.url, events=["certificate.issued"]
    )
    first = start_worker("doomed")
    flow = Flow("UZ")
    flow.application(S.APPROVED)
    assert receiver.first_arrived.wait(30), first.output()[-4000:]
    first.kill()  # while it waits for the receiver's answer
    receiver.release.set()
    delivery = Delivery.objects.get(subscription=hook)
    assert delivery.sent_at is None and delivery.lease_until is not None

    second = start_worker("rescuer")
    wait_for(
        lambda: Delivery.objects.filter(pk=delivery.pk, sent_at__isnull=False).exists(),
        45,
        "the delivery completed by the second worker",
        second,
    )
    wait_for(all_delivered, 30, "everything delivered", second)
    assert len(receiver.requests) == 2
    first_body, second_body = receiver.bodies()
    assert first_body["id"] == second_body["id"]  # the receiver can drop the duplicate
    attempts = list(delivery.attempt_log.order_by("number").values_list("ok", flat=True))
    assert attempts == [None, True]  # the killed try has no outcome
    assert len(mail_to(mail_dir, flow.member)) == 1


def test_an_approval_while_the_broker_is_down_is_delivered_after_it_returns(
    start_worker, receivers, mail_dir, queue_name
):
    receiver = receivers()
    hook = webhooks.subscribe(
        actor=CustomsFactory(), url=receiver.url, events=["certificate.issued"]
    )
    flow = Flow("UZ")
    point_web_side_at(f"redis://127.0.0.1:{closed_port()}/0", queue_name)
    started = time.monotonic()
    app = flow.application(S.APPROVED)  # submit, start review, approve: all publish fail
    assert time.monotonic() - started < 20
    assert app.status == S.APPROVED and app.certificate.number
    assert OutboxEvent.objects.filter(sent_at=None).count() == 3  # nothing dispatched

    point_web_side_at(BROKER, queue_name)  # the broker is back
    worker = start_worker()
    wait_for(all_delivered, 45, "the sweep delivering what was committed", worker)
    assert worker.count("certification.sweep_outbox") >= 1
    assert len(receiver.requests) == 1 and receiver.signed_by(hook.secret)
    assert len(mail_to(mail_dir, flow.member, "application.approved")) == 1


def test_a_reminder_job_run_three_times_sends_one_30_day_reminder(start_worker, mail_dir):
    worker = start_worker()
    flow = Flow("UZ")
    app = flow.application(S.APPROVED)
    wait_for(all_delivered, 45, "the approval's notifications", worker)
    certificate = app.certificate
    today = lifecycle.today_in(certificate.member_state)
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=today - timezone.timedelta(days=400),
        valid_until=today + timezone.timedelta(days=30),
    )
    for _ in range(3):
        tasks.send_expiry_reminders.delay()
    wait_for(
        lambda: len(succeeded(worker, "certification.send_expiry_reminders")) >= 3,
        30,
        "three runs of the reminder job",
        worker,
    )
    wait_for(all_delivered, 30, "the reminder delivered", worker)
    reminders = mail_to(mail_dir, flow.member, "certificate.expiring")
    assert len(reminders) == 1
    assert reminders[0]["Subject"] == f"Certificate {certificate.number} expires in 30 days"
    assert OutboxEvent.objects.filter(event="certificate.expiring").count() == 1
    assert OutboxEvent.objects.get(event="certificate.expiring").key == (
        f"certificate.expiring:{certificate.pk}:30"
    )
