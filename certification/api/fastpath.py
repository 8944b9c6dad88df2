"""The short way to the busiest request of the registry.

``GET /api/v1/certificates/{number}/verify/`` with an API token is what border posts and
customs systems send all day (docs/api.md). Through the whole of Django (the
request signals, nine middleware, URL resolution, DRF's dispatch, token authentication as
its own query, the certificate as a second one) it cost about six times what the lookup
itself costs. VerifyFastPath wraps the WSGI application (config/wsgi.py) and answers that
request itself when it can say exactly what the API would say:

- the token, the account behind it and the certificate come in one prepared query
  (lookup.fetch_for_token: the key hashed here, the token in force, the account active and,
  for a reviewer or the secretariat, with a confirmed second factor, all in its WHERE);
- the same policy (policy.can_verify_certificates) and the same throttles as the view
  (VerifyView.throttle_classes), judged at once and counted once (throttling.allow_all);
- Django's own SecurityMiddleware (the HTTPS redirect, HSTS and the other security
  headers), the Host check (ALLOWED_HOSTS), the database connections' upkeep before and
  after (close_old_connections, as the request signals do) and the log line of a 404;
- the same body (lookup.verify_object, or the `not_found` error in the caller's
  language) and the same headers, which tests compare with the full stack's.

Everything else goes to Django untouched and is answered there: no or another kind of
credentials (a browser session), an unknown, revoked or expired token, an inactive account,
a reviewer or the secretariat without a second factor, a role that may not verify, a
malformed or mistyped number, a throttled caller, a Host not allowed, an HTTPS redirect, any
other method or path, and any error on the way. Those answers are rare and
carry the full stack's error handling; the short way counts nothing before it is sure to
answer, so nothing is counted twice.

The test client does not go through config/wsgi.py: tests/api/test_fastpath.py calls both
WSGI applications directly.
"""

import logging
import re
from http import HTTPStatus

from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections, reset_queries
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.log import log_response
from django.utils.translation import gettext as _

from certification.api.errors import error_body
from certification.api.throttling import allow_all
from certification.api.verify import VerifyView, json_body
from certification.core import policy
from certification.core.numbering import InvalidNumber
from certification.verification import lookup

_KEYWORD = b"token"

# What the short way was written against. It answers before Django's middleware and request
# signals run, doing by hand what they would do for this one request; a middleware or a
# receiver added later (a second factor, a session rule, a header) would be skipped here
# without a word. tests/api/test_fastpath.py fails when either set changes, and says what
# to re-check before these lists are brought up to date.
WRITTEN_AGAINST_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",  # called here: redirect and headers
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files only: not this path
    "django.contrib.sessions.middleware.SessionMiddleware",  # token callers have none
    "config.middleware.LanguageIndependentMiddleware",  # only views marked so: not this one
    "django.middleware.locale.LocaleMiddleware",  # Accept-Language read here, Vary added
    "django.middleware.common.CommonMiddleware",  # the Host check done here
    "django.middleware.csrf.CsrfViewMiddleware",  # GET with a token: nothing to check
    "django.contrib.auth.middleware.AuthenticationMiddleware",  # the token is the account
    "django_otp.middleware.OTPMiddleware",  # a session's second factor: token callers have
    # none; the query's WHERE asks a reviewer's or the secretariat's account for one
    "django.contrib.messages.middleware.MessageMiddleware",  # no messages in the API
    "portal.sessions.IdleTimeoutMiddleware",  # sessions only: token callers have none
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # its header added here
)
WRITTEN_AGAINST_RECEIVERS = {
    "request_started": ("django.db.reset_queries", "django.db.close_old_connections"),
    "request_finished": (
        "django.db.close_old_connections",  # called here, before and after
        "django.core.cache.close_caches",  # not called: the cache clients keep their pools
        "django.core.handlers.base.reset_urlconf",  # the short way never sets one
    ),
}

logger = logging.getLogger(__name__)


class _Caller:
    """What the throttles read of a request: its address (META, headers) and its account."""

    __slots__ = ("META", "headers", "user")

    def __init__(self, request, user):
        self.META = request.META
        self.headers = _Headers(request.META)
        self.user = user


class _Headers:
    """``request.headers.get(name)`` without building every header of the request."""

    __slots__ = ("meta",)

    def __init__(self, meta):
        self.meta = meta

    def get(self, name, default=None):
        return self.meta.get("HTTP_" + name.upper().replace("-", "_"), default)


class VerifyFastPath:
    """WSGI: the short way for verification, Django's application for everything else."""

    def __init__(self, application):
        self.application = application
        self.security = SecurityMiddleware(application)  # its process_request/response
        self._route = None
        self._allow = None
        self._common = {}

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("HTTP_AUTHORIZATION"):
            # A copy: WSGIRequest rewrites PATH_INFO and SCRIPT_NAME in the environ it is
            # given, and Django must get the environ as the server made it.
            answer = self.respond(WSGIRequest(dict(environ)))
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.application(environ, start_response)

    def respond(self, request):
        """(status line, headers, body) for a GET with credentials, or None to leave the
        request to Django."""
        number = self._number(request.path_info)
        if number is None or self.security.process_request(request) is not None:
            return None  # another path, or an HTTPS redirect
        try:
            request.get_host()
        except DisallowedHost:
            return None  # Django answers 400
        reset_queries()
        close_old_connections()
        try:
            answer = self.answer(request, number)
        except Exception:
            # Nothing was counted yet (the throttles count last): Django tries again and
            # answers the error its own way.
            logger.warning("Verification's short way failed; Django answers", exc_info=True)
            return None
        finally:
            close_old_connections()
        if answer is None:
            return None
        status, body, language = answer
        headers = [
            *self._headers(request.is_secure()),
            ("Content-Length", str(len(body))),
            ("Content-Language", language),
        ]
        if status == HTTPStatus.NOT_FOUND:
            log_response(
                "%s: %s",
                status.phrase,
                request.path,
                response=HttpResponse(status=status),
                request=request,
            )
        return f"{status.value} {status.phrase}", headers, body

    def _headers(self, secure):
        """The headers every answer carries, as DRF (Allow), LocaleMiddleware (Vary),
        XFrameOptionsMiddleware and SecurityMiddleware add them: worked out once, by those
        very classes, for plain and for secure requests."""
        headers = self._common.get(secure)
        if headers is None:
            request = _Secure(secure)
            response = HttpResponse(content_type="application/json")
            response["Allow"] = self._allow
            patch_vary_headers(response, ("Accept-Language",))
            XFrameOptionsMiddleware(self.application).process_response(request, response)
            self.security.process_response(request, response)
            headers = self._common[secure] = list(response.items())
        return headers

    def _number(self, path):
        if self._route is None:
            # The view's own route, from the URLconf: "/api/v1/certificates/{number}/verify/".
            marker = "0"
            prefix, suffix = reverse("api:verify-certificate", args=[marker]).split(marker)
            self._route = re.compile(f"{re.escape(prefix)}([^/]+){re.escape(suffix)}")
            view = VerifyView()
            view.setup(None)  # as for a request: HEAD comes with GET
            self._allow = ", ".join(view.allowed_methods)
        match = self._route.fullmatch(path)
        return match.group(1) if match else None

    def answer(self, request, text):
        """(HTTPStatus, JSON body, language) of the API view's answer, or None to leave the
        request to Django."""
        key = _token_key(request.META.get("HTTP_AUTHORIZATION"))
        if key is None:
            return None
        try:
            number = lookup.canonical(text)
        except InvalidNumber:
            return None
        found = lookup.fetch_for_token(key, number)
        if found is None:
            return None
        account, record = found
        if not account.is_active or not policy.can_verify_certificates(account):
            return None
        throttles = [throttle() for throttle in VerifyView.throttle_classes]
        if not allow_all(throttles, _Caller(request, account)):
            return None

        language = translation.get_language_from_request(request)
        if record is None:
            with translation.override(language):
                message = _("No certificate has the number %(number)s.") % {"number": number}
            return HTTPStatus.NOT_FOUND, json_body(error_body("not_found", message)), language
        result = lookup.verify_object(record, lookup.Clock())
        return HTTPStatus.OK, json_body(result), language


class _Secure:
    """A request that is, or is not, secure: all SecurityMiddleware.process_response and
    XFrameOptionsMiddleware ask of one."""

    def __init__(self, secure):
        self.secure = secure

    def is_secure(self):
        return self.secure


def _token_key(header):
    """The key of an `Authorization: Token <key>` header, read as DRF's TokenAuthentication
    reads it; None for anything else (left to the full stack, which explains the refusal)."""
    if not header:
        return None
    parts = header.encode("iso-8859-1", "replace").split()
    if len(parts) != 2 or parts[0].lower() != _KEYWORD:
        return None
    try:
        return parts[1].decode()
    except UnicodeError:
        return None
