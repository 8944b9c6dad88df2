"""The secretariat's overview, under /workspace/overview/: every member state's queue with
its median lead time from submission to decision, the latest decisions against the origin
engine's verdict with their written reasons, the notifications that failed for good, and
the origin rule sets with the one in force today.

The page reads (certification/selectors.py); the one thing it changes is when a failed
delivery is tried again, through the function the admin's "retry" action uses
(certification/notifications/dispatch.py). Only the secretariat sees it: it decides
nothing, and the national authorities see their own state in the queue."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from certification import selectors
from certification.core import policy
from certification.exceptions import PermissionDenied as DomainPermissionDenied
from certification.notifications import dispatch
from portal.two_factor import second_factor_redirect

# The value of the "all" form's field: every failed delivery.
ALL = "all"


def secretariat_required(view):
    """Signed in as the secretariat (policy.ensure_secretariat), else 403; in a session its
    authenticator app confirmed (portal/two_factor.py)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            policy.ensure_secretariat(request.user)
        except DomainPermissionDenied as error:
            raise PermissionDenied(error.message) from error
        return second_factor_redirect(request) or view(request, *args, **kwargs)

    return wrapped


@secretariat_required
def overview(request):
    deliveries, failed_count = selectors.failed_deliveries()
    context = {
        "queues": selectors.state_queues(request.user),
        "window_days": selectors.LEAD_TIME_WINDOW_DAYS,
        "against": selectors.decisions_against_verdict(request.user),
        "against_shown": selectors.AGAINST_VERDICT_SHOWN,
        "deliveries": deliveries,
        "failed_count": failed_count,
        "rule_sets": selectors.rule_sets_overview(),
        # The admin's change page opens only to staff who may change rule sets.
        "can_edit_rules": request.user.is_staff
        and request.user.has_perm("registry.change_ruleset"),
        "all": ALL,
    }
    return render(request, "workspace/overview.html", context)


@secretariat_required
@require_POST
def retry(request):
    """Retry one failed delivery (`delivery` = its id) or every one (`delivery` = "all")."""
    chosen = request.POST.get("delivery", "")
    if chosen != ALL and not chosen.isdigit():
        return HttpResponseBadRequest(_("Say which delivery to retry."))
    count = dispatch.retry_failed(
        actor=request.user, delivery_id=None if chosen == ALL else int(chosen)
    )
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d failed notification is queued for another try.",
                "%(count)d failed notifications are queued for another try.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, _("Nothing was queued: no such notification has failed."))
    return redirect("workspace:overview")
