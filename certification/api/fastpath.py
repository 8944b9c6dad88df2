"""The short way through Django for the busiest request of the registry.

``GET /api/v1/certificates/{number}/verify/`` with an API token is what border posts and
customs systems send all day (design.md section 6). Through the whole stack (eight
middleware, URL resolution, DRF's dispatch, token authentication as its own query, the
certificate as a second one) it cost about six times what the lookup itself costs. This
middleware, second in MIDDLEWARE (after SecurityMiddleware, so HTTPS redirects and security
headers apply as everywhere), answers that request itself when it can say exactly what the
API view would say:

- the token, the account behind it and the certificate come in one prepared query
  (verification.fetch_for_token);
- the same policy (policy.can_verify_certificates) and the same throttles as the view
  (VerifyView.throttle_classes), judged in one read of their counters and counted in one
  write (throttling.allow_all), each request once;
- the same Host check (ALLOWED_HOSTS, as CommonMiddleware does: a 400 otherwise), the same
  body (verification.verify_object, or the `not_found` error in the caller's language)
  and the same headers (Allow, Vary, Content-Language, X-Frame-Options,
  Content-Length), which a test compares with the full stack's.

Anything else goes on through the full stack untouched and is answered there: no or another
kind of credentials (a browser session), an unknown token, an inactive account, a role that
may not verify, a malformed or mistyped number, a throttled caller, any other method. Those
answers (401, 403, 400, 429) are rare and carry the full stack's error handling; the short
way records nothing before it is sure to answer, so nothing is counted twice.
"""

import re

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from certification import policy, verification
from certification.api.errors import error_body
from certification.api.throttling import allow_all
from certification.api.verify import VerifyView, json_response
from certification.numbering import InvalidNumber

_KEYWORD = b"token"


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
    def __init__(self, get_response):
        self.get_response = get_response
        self._route = None
        self._allow = None

    def __call__(self, request):
        if request.method == "GET":
            number = self._number(request.path_info)
            if number is not None:
                response = self.answer(request, number)
                if response is not None:
                    return response
        return self.get_response(request)

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
        """The response the API view would give, or None to leave the request to it."""
        key = _token_key(request.META.get("HTTP_AUTHORIZATION"))
        if key is None:
            return None
        # The Host check of CommonMiddleware (ALLOWED_HOSTS): DisallowedHost, a 400.
        request.get_host()
        try:
            number = verification.canonical(text)
        except InvalidNumber:
            return None
        found = verification.fetch_for_token(key, number)
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
            response = json_response(error_body("not_found", message), status=404)
        else:
            response = json_response(verification.verify_object(record, verification.Clock()))
        # What DRF's finalize_response, LocaleMiddleware, CommonMiddleware and
        # XFrameOptionsMiddleware add to the view's answer.
        response["Allow"] = self._allow
        patch_vary_headers(response, ("Accept-Language",))
        response["Content-Language"] = language
        response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
        response["Content-Length"] = str(len(response.content))
        return response


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
