"""The second factor on the pages: setting up an authenticator app (a QR code, the key as
text, a first code to confirm it, ten recovery codes shown once), new recovery codes and,
for those who may, turning it off. The sign-in's second step is portal/accounts.py.

Reviewers and the secretariat act only in a session confirmed by their app:
``second_factor_required`` (the workspace's decorators use it) sends them to set one up, or
to confirm this session with a code, and back. Manufacturers and customs officers choose
for themselves on /account/two-factor/; once they have an app, their sign-in asks for it
too. The writes are certification/workflow/accounts.py; no page needs JavaScript."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from certification.exceptions import DomainError
from certification.workflow import accounts
from portal import forms
from portal.certificates import qr_svg

# --- Who must confirm ---------------------------------------------------------------------


def is_verified(user):
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def second_factor_redirect(request):
    """Where a reviewer or the secretariat must go before acting, or None: setting up an
    app when the account has none, else confirming this session with a code."""
    user = request.user
    if not user.is_authenticated or not user.needs_second_factor or is_verified(user):
        return None
    target = (
        "portal:two-factor-setup" if accounts.authenticator(user) is None else "portal:login-code"
    )
    return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


def second_factor_required(view):
    """Signed in; and for reviewers and the secretariat, confirmed by their app."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return second_factor_redirect(request) or view(request, *args, **kwargs)

    return wrapped


def safe_next(request, default="portal:dashboard"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else reverse(default)


# --- The account's second factor ----------------------------------------------------------


@login_required
def overview(request):
    """/account/two-factor/: whether the account has an app, its recovery codes left, and
    what may be done with them."""
    if accounts.authenticator(request.user) is not None:
        redirected = second_factor_redirect(request)
        if redirected is not None:
            return redirected
    return _overview(request)


def _overview(request, failed_form=None):
    device = accounts.authenticator(request.user)
    forms_shown = {
        name: failed_form
        if failed_form is not None and failed_form.prefix == name
        else forms.CodeForm(prefix=name, recovery=False)
        for name in ("renew", "off")
    }
    context = {
        "device": device,
        "codes_left": device.recovery_codes.count() if device else 0,
        "renew_form": forms_shown["renew"],
        "off_form": forms_shown["off"],
        "failed_form": failed_form,
        "may_turn_off": not request.user.needs_second_factor,
    }
    return render(
        request,
        "portal/accounts/two_factor.html",
        context,
        status=400 if failed_form is not None else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def setup(request):
    """Set up an app: the QR code and the key as text, then a first code confirms it and
    the recovery codes are shown, on this answer only."""
    user = request.user
    if accounts.authenticator(user) is not None:
        return redirect("portal:two-factor")
    restart = request.method == "POST" and "restart" in request.POST
    device = None if restart else accounts.enrolment_pending(user)
    if device is None:
        device = accounts.enrolment_start(actor=user)
    data = request.POST if request.method == "POST" and not restart else None
    form = forms.CodeForm(data, recovery=False)
    if form.is_bound and form.is_valid():
        try:
            device, codes = accounts.enrolment_confirm(actor=user, code=form.cleaned_data["code"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            # The account's other sessions ended (enrolment_confirm); this one stays.
            update_session_auth_hash(request, user)
            accounts.verified_in_session(request, device)
            return _recovery_codes_page(request, codes, safe_next(request))
    key = device.base32_key
    context = {
        "form": form,
        "qr": qr_svg(device.config_url(), _("QR code for your authenticator app")),
        "key_groups": [key[i : i + 4] for i in range(0, len(key), 4)],
        "next": safe_next(request),
    }
    status = 400 if form.errors else 200
    response = render(request, "portal/accounts/two_factor_setup.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _recovery_codes_page(request, codes, next_url):
    """The codes, on this answer only (not kept anywhere to show again, nor cached)."""
    context = {"codes": codes, "next": next_url}
    response = render(request, "portal/accounts/recovery_codes.html", context)
    response["Cache-Control"] = "no-store"
    return response


@second_factor_required
@require_POST
def recovery_codes(request):
    def renew(code):
        codes = accounts.recovery_codes_renew(actor=request.user, code=code)
        return _recovery_codes_page(request, codes, reverse("portal:two-factor"))

    return _with_code(request, "renew", renew)


@second_factor_required
@require_POST
def turn_off(request):
    def off(code):
        accounts.two_factor_turn_off(actor=request.user, code=code)
        messages.success(request, _("Two-factor sign-in is off: your password alone signs you in."))
        return redirect("portal:two-factor")

    return _with_code(request, "off", off)


def _with_code(request, prefix, act):
    """One of the overview's forms posted: `act(code)` answers when the code is well-formed,
    a refusal of the service is shown on the form."""
    form = forms.CodeForm(request.POST, prefix=prefix, recovery=False)
    if form.is_valid():
        try:
            return act(form.cleaned_data["code"])
        except DomainError as error:
            form.add_domain_error(error)
    return _overview(request, form)
