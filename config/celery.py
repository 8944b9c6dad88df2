"""The Celery app. Tasks live in each app's tasks.py; configuration comes from Django
settings under the CELERY_ prefix (config/settings.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mca")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
