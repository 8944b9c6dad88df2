"""Account pages: sign up (manufacturers), sign in and out, the account's name and
language, changing and resetting the password, signing out everywhere. Django's own
authentication views do the work where they exist; these pages give them the shared design,
and sign-in its second step and its limits.

Sign-in is two steps for an account with an authenticator app (portal/two_factor.py): the
password, then a code of the app or a recovery code. A reviewer or the secretariat without
an app is signed in and sent to set one up; nothing of the workspace opens before.

Every attempt, at either step, is held up in three ways (docs/operations.md, "Accounts and
sign-in"): the growing delay of the account and this address (core/login_guard.py: three
free failures, then 1, 2, 4 … seconds up to LOGIN_DELAY_MAX_SECONDS), per address
(THROTTLE_LOGIN) and per account from any address (THROTTLE_LOGIN_ACCOUNT), counted on every
attempt so that guessing one account's password from many addresses is as slow as from one.
A browser the account signed in with before (a signed cookie) is exempt from the last: an
attacker trying a known reviewer's account from elsewhere, and repeating every hour, holds
up every other browser (and auth/token/, which nothing exempts) for as long as they go on,
never the reviewer's own. Reviewers' and the secretariat's sign-ins and failed
tries are in the audit trail (certification/workflow/accounts.py).

Whatever is wrong, the page says the same thing, and a password reset answers the same
whether the address has an account or not: no page tells whether an email is registered."""

import hashlib
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from certification.api.throttling import (
    AuthThrottle,
    LoginAccountThrottle,
    LoginAddressThrottle,
    allow_all,
    client_address,
    sign_in_wait,
)
from certification.core import login_guard
from certification.exceptions import DomainError
from certification.workflow import accounts, services
from portal import forms
from portal.sessions import LAST_SEEN
from portal.two_factor import is_verified, safe_next
from registry.models import User

PENDING = "mca_sign_in_pending"  # the account that gave its password, waiting for its code
PENDING_SECONDS = 300
KNOWN_COOKIE = "mca_known"  # the accounts this browser signed in with (hashed), signed
KNOWN_SALT = "portal.accounts.known-browser"
KNOWN_DAYS = 180


class LoginView(auth_views.LoginView):
    template_name = "portal/accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = request.POST.get("username", "")
        wait = sign_in_wait(request, email, sign_in_throttles(request, email))
        if wait:
            form = self.get_form()  # not checked at all: the limit is reached
            form.add_error(None, too_many(wait))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        email = form.data.get("username", "")
        login_guard.failed(email, client_address(self.request))
        user = User.objects.filter(email__iexact=email.strip()).first() if email else None
        accounts.sign_in_recorded(
            user,
            succeeded=False,
            step="password",
            address=client_address(self.request),
            via="pages",
        )
        return super().form_invalid(form)

    def form_valid(self, form):
        user = form.get_user()
        next_url = self.get_success_url()
        if accounts.authenticator(user) is not None:
            # The second step: nothing is signed in until the code. The session gets a new
            # key first, so that one planted in this browser beforehand (session fixation)
            # cannot finish the sign-in, nor guess codes, in its owner's place.
            self.request.session.cycle_key()
            self.request.session[PENDING] = {
                "user": user.pk,
                "backend": user.backend,
                "at": time.time(),
                "next": next_url,
            }
            return redirect("portal:login-code")
        login(self.request, user)
        response = with_language(redirect(next_url), user.language)
        if user.needs_second_factor:
            # Signed in to set up an app, and nothing else until then.
            setup = f"{reverse('portal:two-factor-setup')}?{urlencode({'next': next_url})}"
            response = with_language(redirect(setup), user.language)
        return signed_in(self.request, user, "password", response)


def sign_in_throttles(request, email):
    """The throttles an attempt counts in: per address; per account unless this browser
    signed in with the account before."""
    throttles = [LoginAddressThrottle()]
    if not is_known_browser(request, email):
        throttles.append(LoginAccountThrottle(email))
    return throttles


def too_many(wait):
    if wait < 60:
        return ngettext(
            "Too many sign-in attempts. Wait %(seconds)d second and try again.",
            "Too many sign-in attempts. Wait %(seconds)d seconds and try again.",
            wait,
        ) % {"seconds": wait}
    minutes = round(wait / 60)
    return ngettext(
        "Too many sign-in attempts. Wait %(minutes)d minute and try again.",
        "Too many sign-in attempts. Wait %(minutes)d minutes and try again.",
        minutes,
    ) % {"minutes": minutes}


def signed_in(request, user, step, response):
    """The whole sign-in went through: clear the delay, audit it, remember this browser."""
    address = client_address(request)
    login_guard.succeeded(user.email, address)
    accounts.sign_in_recorded(user, succeeded=True, step=step, address=address, via="pages")
    remember_browser(request, response, user.email)
    request.session[LAST_SEEN] = int(time.time())  # the idle time counts from here
    return response


def _pending(request):
    """(the account waiting for its code, the page after it), or (None, None)."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, None
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is not None:
        user.backend = pending["backend"]
    return user, pending["next"]


@require_http_methods(["GET", "POST"])
def login_code(request):
    """The sign-in's second step: a code of the app, or a recovery code. Also for a
    signed-in account whose session its app has not confirmed yet."""
    user, next_url = _pending(request)
    signing_in = user is not None
    if not signing_in:
        user = request.user
        if not user.is_authenticated or is_verified(user) or not accounts.authenticator(user):
            return redirect("portal:login")
        next_url = safe_next(request)
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        wait = sign_in_wait(request, user.email, sign_in_throttles(request, user.email))
        if wait:
            form = forms.CodeForm()
            form.add_error(None, too_many(wait))
            status = 429
        elif form.is_valid():
            device = accounts.verify_code(user, form.cleaned_data["code"])
            if device is not None:
                return _second_step_passed(request, user, device, signing_in, next_url)
            login_guard.failed(user.email, client_address(request))
            accounts.sign_in_recorded(
                user,
                succeeded=False,
                step="second_factor",
                address=client_address(request),
                via="pages",
            )
            form.add_error(
                "code", _("That code is not right. Type the six digits the app shows now.")
            )
        status = 400 if status == 200 else status
    context = {"form": form, "next": next_url, "signing_in": signing_in}
    return render(request, "portal/accounts/login_code.html", context, status=status)


def _second_step_passed(request, user, device, signing_in, next_url):
    if signing_in:
        login(request, user, backend=user.backend)
        request.session.pop(PENDING, None)
    accounts.verified_in_session(request, device)
    if device.recovery_code_used:
        left = device.recovery_codes.count()
        messages.warning(
            request,
            ngettext(
                "You signed in with a recovery code; %(count)d is left. Make new ones on "
                "your account's two-factor page.",
                "You signed in with a recovery code; %(count)d are left. Make new ones on "
                "your account's two-factor page.",
                left,
            )
            % {"count": left},
        )
    response = with_language(redirect(next_url), user.language)
    return signed_in(request, user, "second_factor", response)


# --- A browser the account signed in with before ------------------------------------------


def _account_mark(email):
    return hashlib.sha256(f"known-browser:{email.strip().lower()}".encode()).hexdigest()[:16]


def _known_marks(request):
    value = request.get_signed_cookie(KNOWN_COOKIE, default="", salt=KNOWN_SALT)
    return [mark for mark in value.split(",") if mark]


def is_known_browser(request, email):
    return _account_mark(email) in _known_marks(request)


def remember_browser(request, response, email):
    """Mark this browser as one the account signed in with (the last five accounts)."""
    mark = _account_mark(email)
    marks = [mark] + [other for other in _known_marks(request) if other != mark][:4]
    response.set_signed_cookie(
        KNOWN_COOKIE,
        ",".join(marks),
        salt=KNOWN_SALT,
        max_age=KNOWN_DAYS * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("home")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, _("You are signed out."))
        return response


@login_required
@require_POST
def sign_out_everywhere(request):
    """End every session of the account, this one included; API tokens stay."""
    accounts.sign_out_everywhere(actor=request.user)
    logout(request)
    messages.success(
        request,
        _(
            "You are signed out everywhere: on every browser and device. Your API tokens "
            "still work."
        ),
    )
    return redirect("portal:login")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:account")
    form = forms.SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttles = [AuthThrottle()]
        try:
            if not allow_all(throttles, request):
                message = _("Too many attempts from here. Wait a minute and try again.")
                raise DomainError(message)
            user = services.account_register(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
                language=_supported(translation.get_language()),
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your account is ready. You are signed in."))
            return redirect("portal:producers")  # the next step: register the company
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/accounts/signup.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    user = request.user
    form = forms.AccountForm(
        request.POST or None,
        initial={"full_name": user.full_name, "language": _supported(user.language)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(
                actor=user,
                full_name=form.cleaned_data["full_name"],
                language=form.cleaned_data["language"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            language = form.cleaned_data["language"]
            with translation.override(language):
                messages.success(request, _("Your account is saved."))
            return with_language(redirect("portal:account"), language)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/accounts/account.html", {"form": form}, status=status)


def _supported(language):
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def with_language(response, language):
    """Serve the pages in the account's language from now on (as set_language does)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        _supported(language),
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "portal/accounts/password_change.html"
    form_class = forms.PasswordChangeForm
    success_url = reverse_lazy("portal:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "portal/accounts/password_reset.html"
    form_class = forms.PasswordResetForm
    email_template_name = "portal/accounts/password_reset_email.txt"
    html_email_template_name = None
    subject_template_name = "portal/accounts/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password-reset-sent")

    def form_valid(self, form):
        # The link in the email points at the public address, not at the Host asked.
        self.extra_email_context = {"public_base_url": settings.PUBLIC_BASE_URL}
        return super().form_valid(form)


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "portal/accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/accounts/password_reset_confirm.html"
    form_class = forms.SetPasswordForm
    success_url = reverse_lazy("portal:login")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Sign in with it."))
        return response
