"""/account/tokens/: the account's API tokens (docs/api.md, "Signing in"): listed with
their names, first characters, expiry and status; made here (the key is shown on the answer
to that form only, never again) and revoked, each at once. The writes are
certification/workflow/accounts.py; reviewers and the secretariat come here only in a
session their authenticator app confirmed."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from certification.exceptions import DomainError, NotFound
from certification.workflow import accounts
from portal import forms
from portal.two_factor import second_factor_required


def _page(request, form, *, created=None, key=None, status=200):
    now = timezone.now()
    tokens = list(accounts.tokens_of(request.user))
    for token in tokens:
        token.state = token.status(now)
        token.days_left = (token.expires_at - now).days
    context = {"form": form, "tokens": tokens, "created": created, "key": key}
    return render(request, "portal/accounts/tokens.html", context, status=status)


@second_factor_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = forms.TokenForm(request.POST or None, longest=request.user.token_days)
    if request.method == "POST" and form.is_valid():
        try:
            token, key = accounts.token_issue(
                actor=request.user,
                name=form.cleaned_data["name"],
                days=form.cleaned_data["days"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            # The key on this answer only: no redirect, nothing kept to show it again.
            fresh = forms.TokenForm(longest=request.user.token_days)
            response = _page(request, fresh, created=token, key=key)
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, form, status=400 if form.errors else 200)


@second_factor_required
@require_POST
def token_revoke(request, token_id):
    try:
        token = accounts.token_revoke(actor=request.user, token_id=token_id)
    except NotFound:
        raise Http404(_("No such token.")) from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name},
        )
    return redirect("portal:tokens")
