"""Reviewers' and the secretariat's sessions end when left unused (docs/operations.md,
"Accounts and sign-in"): after SESSION_IDLE_MINUTES without a request the next request
finds the session signed out, and the page it asked for sends to the sign-in and back.

The moment of the last request is kept in the session, written at most once a minute so
that a busy reviewer does not cost a session write per page. Other accounts keep Django's
own session lifetime (SESSION_COOKIE_AGE). API token callers have no session: nothing here
concerns them."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import ngettext

LAST_SEEN = "mca_last_seen"
WRITE_EVERY_SECONDS = 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Without a session cookie there is no session: not even looked at (reading it
        # would add "Vary: Cookie" to every answer, the API's included).
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.needs_second_factor:
                self.check(request)
        return self.get_response(request)

    def check(self, request):
        now = int(time.time())
        last = request.session.get(LAST_SEEN)
        idle = settings.SESSION_IDLE_MINUTES
        if last is not None and now - last > idle * 60:
            logout(request)
            messages.info(
                request,
                ngettext(
                    "You were signed out after %(minutes)d minute without activity.",
                    "You were signed out after %(minutes)d minutes without activity.",
                    idle,
                )
                % {"minutes": idle},
            )
        elif last is None or now - last >= WRITE_EVERY_SECONDS:
            request.session[LAST_SEEN] = now
