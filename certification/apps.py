from django.apps import AppConfig


class CertificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "certification"

    def ready(self):
        # Register the Celery tasks in every process (web, worker, commands): the code
        # below them queues them by name (certification/core/queueing.py).
        from certification import tasks  # noqa: F401
