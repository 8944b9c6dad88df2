"""Public pages of verification (docs/api.md): the JWK Set customs systems
check tokens against, and the page a border officer reaches by scanning the QR code of a
certificate (``/verify/{number}/?t={token}``) or by typing its number (``/verify/``)."""

import hashlib
import json
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from certification.core.numbering import EXAMPLE, InvalidNumber, parse_number
from certification.verification import lookup, signing

# Verifiers refetch within minutes after a rotation; an unknown kid makes well-behaved JOSE
# clients refetch at once anyway. Retired keys stay published, so caching never hides a key
# that old tokens need.
JWKS_MAX_AGE = 300
# A token is ~500 characters; anything far longer is not one, and is not worth parsing.
MAX_TOKEN_LENGTH = 4096


@require_safe
def jwks(request):
    """GET /.well-known/jwks.json: every authority's public keys, retired ones included."""
    body = json.dumps(signing.public_jwks(), separators=(",", ":")).encode("ascii")
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    patch_cache_control(response, public=True, max_age=JWKS_MAX_AGE)
    # Public keys: any web page may fetch them (a browser-based verifier, say).
    response["Access-Control-Allow-Origin"] = "*"
    return get_conditional_response(request, etag=response["ETag"], response=response)


def _form_context(value="", error=None):
    return {"value": value, "error": error, "example": EXAMPLE}


@never_cache
@require_safe
def verify_form(request):
    """/verify/: type a number. A valid one goes to its page; an invalid one is explained."""
    text = request.GET.get("number")
    if text is None:
        return render(request, "verify/form.html", _form_context())
    try:
        number = parse_number(text)
    except InvalidNumber as error:
        return render(request, "verify/form.html", _form_context(text, str(error)))
    return redirect("verify-page", number=str(number))


@never_cache
@require_safe
def verify_page(request, number):
    """/verify/{number}/[?t=token]: the status in plain words and, with a token, whether its
    signature is genuine and whether it describes this certificate. Always read from the
    primary: a revocation shows at once, and nothing here is cached."""
    token = request.GET.get("t", "").strip()
    try:
        parsed = parse_number(number)
    except InvalidNumber as error:
        context = _form_context(number, str(error))
        context["token_check"] = _check(token, number, None)
        return render(request, "verify/form.html", context, status=400)
    canonical = str(parsed)
    if number != canonical:  # typed in lower case, or with spaces
        url = reverse("verify-page", kwargs={"number": canonical})
        return redirect(f"{url}?{urlencode({'t': token})}" if token else url)
    found = lookup.find(canonical)
    context = {
        "number": canonical,
        "found": found,
        "certificate": found.result if found else None,
        "token_check": _check(token, canonical, found.record if found else None),
        "checked_at": timezone.now(),
        **_form_context(),
    }
    return render(request, "verify/certificate.html", context, status=200 if found else 404)


def _check(token, number, record):
    if not token:
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        return lookup.TokenCheck(
            False, error=_("The token is malformed."), error_code="malformed"
        )
    return lookup.check_token(token, number, record)
