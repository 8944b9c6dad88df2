"""`/healthz` for load balancers and monitoring: the database, the broker, file storage,
the outbox backlog and beat's heartbeat. 200 when every check passes, else 503; the body
says which check failed. Nothing in it is secret (no URLs, no credentials)."""

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from certification.models import Heartbeat
from certification.notifications import dispatch
from config.celery import app as celery_app


def _failure(error):
    # The type only: the text of a connection error names hosts and users.
    return {"ok": False, "error": type(error).__name__}


def check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - reported, not raised
        return _failure(error)
    return {"ok": True}


def _eager():
    return bool(celery_app.conf.task_always_eager)


def check_broker():
    if _eager():
        return {"ok": True, "detail": "tasks run eagerly in the web process (no broker)"}
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # noqa: BLE001
        return _failure(error)
    return {"ok": True}


def check_storage():
    try:
        name = default_storage.save(f"healthz/{uuid.uuid4().hex}", ContentFile(b"ok"))
        default_storage.delete(name)
    except Exception as error:  # noqa: BLE001
        return _failure(error)
    return {"ok": True}


def check_outbox():
    try:
        figures = dispatch.backlog()
    except Exception as error:  # noqa: BLE001
        return _failure(error)
    limit = settings.HEALTH_OUTBOX_MAX_DELAY_SECONDS
    return {
        "ok": figures["most_overdue_seconds"] <= limit,
        **figures,
        "max_delay_seconds": limit,
    }


def check_beat():
    if _eager():
        return {"ok": True, "detail": "no beat with eager tasks"}
    try:
        beat = Heartbeat.objects.filter(name="beat").first()
    except Exception as error:  # noqa: BLE001
        return _failure(error)
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = int((timezone.now() - beat.beat_at).total_seconds())
    limit = settings.HEALTH_BEAT_MAX_AGE_SECONDS
    return {"ok": age <= limit, "last_heartbeat_seconds": age, "max_age_seconds": limit}


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
    "outbox": check_outbox,
    "beat": check_beat,
}


@never_cache
@require_GET
def healthz(request):
    checks = {name: check() for name, check in CHECKS.items()}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "failing", "checks": checks}, status=200 if ok else 503
    )
