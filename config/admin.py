"""The admin site: django-otp's OTPAdminSite, which opens only to staff whose session an
authenticator app confirmed, signing in through the registry's own two steps (the password,
then the code: portal/accounts.py) rather than a form of its own.

Installed in place of django.contrib.admin (INSTALLED_APPS: config.apps.RegistryAdminConfig),
so that ``admin.site`` and every ``@admin.register`` of the apps use it."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class RegistryAdminSite(OTPAdminSite):
    def __init__(self, name="admin"):
        super().__init__(name)

    def login(self, request, extra_context=None):
        """Send to the registry's sign-in, or to its second step, and back here."""
        from certification.workflow import accounts  # models: not while the apps load

        query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?{query}")
        if not user.is_verified():
            has_app = accounts.authenticator(user) is not None
            step = "portal:login-code" if has_app else "portal:two-factor-setup"
            return redirect(f"{reverse(step)}?{query}")
        # Confirmed, yet not staff: Django's page says that this account may not enter.
        return super().login(request, extra_context)
