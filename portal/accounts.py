"""Account pages: sign up (manufacturers), sign in and out, the account's name and
language, changing and resetting the password. Django's own authentication views do the
work where they exist; these pages give them the shared design, and sign-in its limits.

Sign-in is limited per address and per account (THROTTLE_LOGIN, THROTTLE_LOGIN_ACCOUNT),
counted on every attempt, so guessing one account's password from many addresses is as
slow as from one. Whatever is wrong, the page says the same thing, and a password reset
answers the same whether the address has an account or not: no page tells whether an
email is registered."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from certification.api.throttling import AddressThrottle, AuthThrottle, allow_all
from certification.exceptions import DomainError
from certification.workflow import services
from portal import forms


class LoginAddressThrottle(AddressThrottle):
    scope = "login"


class LoginAccountThrottle(AddressThrottle):
    """Counts attempts on one account, from wherever they come. The email is hashed: the
    counter's key holds no address."""

    scope = "login_account"

    def __init__(self, email):
        super().__init__()
        self.ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


class LoginView(auth_views.LoginView):
    template_name = "portal/accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = request.POST.get("username", "")
        throttles = [LoginAddressThrottle(), LoginAccountThrottle(email)]
        if not allow_all(throttles, request):
            form = self.get_form()  # not checked at all: the limit is reached
            minutes = _minutes_to_wait(throttles)
            form.add_error(
                None,
                ngettext(
                    "Too many sign-in attempts. Wait %(minutes)d minute and try again.",
                    "Too many sign-in attempts. Wait %(minutes)d minutes and try again.",
                    minutes,
                )
                % {"minutes": minutes},
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        return _with_language(response, self.request.user.language)


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("home")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, _("You are signed out."))
        return response


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
            return _with_language(redirect("portal:account"), language)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/accounts/account.html", {"form": form}, status=status)


def _minutes_to_wait(throttles):
    waits = [throttle.wait() for throttle in throttles if hasattr(throttle, "current")]
    return max(1, round(max(waits, default=60) / 60))


def _supported(language):
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def _with_language(response, language):
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
