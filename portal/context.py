"""What every page's layout needs to know about the signed-in person."""

from certification import selectors
from portal.two_factor import is_verified
from registry.models import User


def navigation(request):
    """For the navigation: how many applications wait on a reviewer's authority (one
    count query, only for reviewers, and only once the session's second factor is
    confirmed: before that the workspace tells nothing)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.role != User.Role.REVIEWER:
        return {}
    if not is_verified(user):
        return {}
    return {"waiting_count": selectors.waiting_count(user)}
