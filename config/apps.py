from django.contrib.admin.apps import AdminConfig


class RegistryAdminConfig(AdminConfig):
    """django.contrib.admin with django-otp's admin site (config/admin.py)."""

    default_site = "config.admin.RegistryAdminSite"
