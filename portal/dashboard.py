"""The page after signing in: what needs the manufacturer's attention first (changes
requested, certificates ending soon, drafts not submitted), then what waits on the
national authority. Other roles are sent to their own start page: reviewers to their
queue, the secretariat to its overview, customs to their account."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from certification import selectors
from certification.core import policy
from certification.selectors import EXPIRING_SOON_DAYS
from registry.models import User


@login_required
def dashboard(request):
    role = request.user.role
    if role == User.Role.REVIEWER:
        return redirect("workspace:queue")
    if role == User.Role.SECRETARIAT:
        return redirect("workspace:overview")
    if role != User.Role.MANUFACTURER:
        return redirect("portal:account")
    context = selectors.manufacturer_dashboard(request.user)
    context["expiring_days"] = EXPIRING_SOON_DAYS
    context["has_producer"] = policy.producers_visible_to(request.user).exists()
    return render(request, "portal/dashboard.html", context)
