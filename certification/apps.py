from django.apps import AppConfig


class CertificationConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'certification'
