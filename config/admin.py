"""The admin site: django-otp's OTPAdminSite, which opens only to staff whose session an
authenticator app confirmed, signing in through the registry's own two steps (the password,
then the code: portal/accounts.py) rather than a form of its own.

Installed in place of django.contrib.admin (INSTALLED_APPS: config.apps.RegistryAdminConfig),
so that ``admin.site`` and every ``@admin.register`` of the apps use it."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp.admin import OTPAdminSite


class RegistryAdminSite(OTPAdminSite):
    def __init__(self, name="admin"):
        super().__init__(name)

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        """Send to the registry's sign-in, or to its second step, and back here; or, once in,
        on to the page asked for. The admin has no password form of its own (django-otp's,
        which Django's admin would show, checks any account's password without the
        sign-in's delay, throttles or audit), whatever the request's method."""
        from certification.workflow import accounts  # models: not while the apps load

        next_url = self._next(request)
        if self.has_permission(request):
            return redirect(next_url)
        query = urlencode({"next": next_url})
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?{query}")
        if not user.is_verified():
            has_app = accounts.authenticator(user) is not None
            step = "portal:login-code" if has_app else "portal:two-factor-setup"
            return redirect(f"{reverse(step)}?{query}")
        # Signed in and confirmed, yet not staff (or deactivated): the registry's sign-in
        # would only send such an account straight back here.
        raise PermissionDenied("This account may not open the administration.")

    def _next(self, request):
        """The `next` asked for when it is a page of this site, else the admin's index."""
        target = request.POST.get("next") or request.GET.get("next") or ""
        allowed = url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return target if target and allowed else reverse("admin:index", current_app=self.name)
