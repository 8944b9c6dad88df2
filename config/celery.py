"""The Celery app. Tasks live in each app's tasks.py; configuration comes from Django
settings under the CELERY_ prefix (config/settings.py)."""

import os
import sys

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mca")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def refuse_to_start_without_signing_keys(**kwargs):
    """Workers and beat refuse to start without every authority's signing key, or without
    SECRETS_KEYS in production (docs/operations.md), as the web server does (config/wsgi.py);
    on the embedded default the missing keys are created. Celery logs and swallows an
    Exception raised by a signal handler, so the refusal is a SystemExit."""
    import django

    django.setup()
    from django.core.exceptions import ImproperlyConfigured

    from certification.verification.signing import ensure_keys_present
    from registry.sealing import ensure_key_present

    try:
        ensure_keys_present()
        ensure_key_present()  # SECRETS_KEYS: webhook secrets are sealed with them
    except ImproperlyConfigured as error:
        # To the real stderr: by beat_init Celery has replaced sys.stderr with a logger.
        print(f"Refusing to start: {error}", file=sys.__stderr__, flush=True)
        raise SystemExit(1) from None
