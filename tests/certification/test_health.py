"""/healthz: 200 when database, broker, storage, outbox and beat are fine, else 503 naming
the failing check."""

from datetime import timedelta

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from certification import health
from certification.models import Heartbeat, OutboxEvent
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_broker(monkeypatch):
    """As in production: a broker and beat, not eager tasks."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False

    class Connection:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def ensure_connection(self, **kwargs):
            pass

    monkeypatch.setattr(celery_app, "connection_for_write", lambda: Connection())
    yield
    celery_app.conf.task_always_eager = previous


def test_healthy_on_the_embedded_default(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage", "outbox", "beat"}
    assert body["checks"]["outbox"]["oldest_undelivered_seconds"] == 0
    assert "no-cache" in response["Cache-Control"]


def test_healthy_with_broker_and_a_fresh_heartbeat(client, with_broker):
    Heartbeat.objects.create(name="beat", beat_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["beat"]["last_heartbeat_seconds"] <= 1


def test_a_stale_or_missing_heartbeat_fails(client, with_broker, settings):
    assert client.get("/healthz").status_code == 503
    Heartbeat.objects.create(
        name="beat",
        beat_at=timezone.now() - timedelta(seconds=settings.HEALTH_BEAT_MAX_AGE_SECONDS + 5),
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["ok"] is False
    assert response.json()["status"] == "failing"


def test_an_unreachable_broker_fails(client, with_broker, monkeypatch):
    Heartbeat.objects.create(name="beat", beat_at=timezone.now())

    def refuse():
        raise ConnectionRefusedError("redis://secret@10.0.0.1")

    monkeypatch.setattr(celery_app, "connection_for_write", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "error": "ConnectionRefusedError"}
    assert b"secret" not in response.content


def test_overdue_outbox_work_fails_and_reports_its_age(client, flow, settings):
    flow.application("submitted")  # an event no worker picked up (no on-commit here)
    response = client.get("/healthz")
    assert response.status_code == 200  # due just now: not overdue yet
    old = timezone.now() - timedelta(seconds=settings.HEALTH_OUTBOX_MAX_DELAY_SECONDS + 60)
    OutboxEvent.objects.update(occurred_at=old, next_attempt_at=old)
    response = client.get("/healthz")
    assert response.status_code == 503
    outbox = response.json()["checks"]["outbox"]
    assert outbox["ok"] is False
    assert outbox["oldest_undelivered_seconds"] >= settings.HEALTH_OUTBOX_MAX_DELAY_SECONDS + 60


def test_work_waiting_for_its_backoff_is_not_a_failure(client, flow, settings):
    flow.application("submitted")
    old = timezone.now() - timedelta(hours=2)
    OutboxEvent.objects.update(occurred_at=old, next_attempt_at=timezone.now() + timedelta(hours=1))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["outbox"]["oldest_undelivered_seconds"] >= 7200


def test_a_broken_storage_fails(client, monkeypatch):
    def broken(*args, **kwargs):
        raise PermissionError("read-only file system")

    # On the class: default_storage is a lazy object that settings changes may re-create.
    monkeypatch.setattr(FileSystemStorage, "save", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {"ok": False, "error": "PermissionError"}


def test_a_database_failure_fails(client, monkeypatch):
    monkeypatch.setitem(
        health.CHECKS, "database", lambda: {"ok": False, "error": "OperationalError"}
    )
    assert client.get("/healthz").status_code == 503


def test_healthz_answers_plain_http_even_with_ssl_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
