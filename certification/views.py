"""Public pages of verification (docs/api.md): the JWK Set customs systems
check tokens against, each state's signed status list, the page a border officer reaches by
scanning the QR code of a certificate (``/verify/{number}/?t={token}``) or by typing its
number (``/verify/``), and the audit checkpoints with the secretariat's keys."""

import datetime
import hashlib
import json
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from certification.core.numbering import EXAMPLE, MEMBER_STATES, InvalidNumber, parse_number
from certification.verification import checkpoints, lookup, signing, status_list
from config.middleware import language_independent
from registry.models import Authority
from registry.names import country_name

# Verifiers refetch within minutes after a rotation; an unknown kid makes well-behaved JOSE
# clients refetch at once anyway. Retired keys stay published, so caching never hides a key
# that old tokens need.
JWKS_MAX_AGE = 300
# A token is ~500 characters; anything far longer is not one, and is not worth parsing.
MAX_TOKEN_LENGTH = 4096
CHECKPOINTS_PAGE_SIZE = 100
CHECKPOINTS_MAX_AGE = 60


def _public(request, response, *, etag, max_age, last_modified=None):
    """A public answer any web page may fetch (a browser-based verifier, say), cached for
    ``max_age`` seconds and answered 304 while the client's copy is current. The 304 is a
    new response keeping only some headers, so Access-Control-Allow-Origin is set on it
    too: without it a browser refuses the revalidated copy to the page that asked."""
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, public=True, max_age=max_age)
    answer = get_conditional_response(
        request, etag=etag, last_modified=last_modified, response=response
    )
    answer["Access-Control-Allow-Origin"] = "*"
    return answer


def _key_set(request, key_set):
    body = json.dumps(key_set, separators=(",", ":")).encode("ascii")
    response = HttpResponse(body, content_type="application/json")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    return _public(request, response, etag=etag, max_age=JWKS_MAX_AGE)


@language_independent
@require_safe
def jwks(request):
    """GET /.well-known/jwks.json: every authority's public keys, retired ones included."""
    return _key_set(request, signing.public_jwks())


@language_independent
@require_safe
def status_list_jws(request, country):
    """GET /.well-known/mca-status/{CC}.jws: the state's signed list of suspended and revoked
    certificates (certification/verification/status_list.py)."""
    if country not in MEMBER_STATES:
        raise Http404("No such member state.")
    published = status_list.current(country)  # without its token, which a 304 does not need

    def answer(body=b""):
        return _public(
            request,
            HttpResponse(body, content_type="application/jwt"),
            etag=published.etag,
            max_age=settings.STATUS_LIST_MAX_AGE_SECONDS,
            last_modified=int(published.issued_at.timestamp()),
        )

    response = answer()
    if response.status_code != 200:  # 304 Not Modified (or 412)
        return response
    # The token with the ETag and date of the same row: a newer list may be stored by now.
    published.refresh_from_db(fields=["token", "etag", "issued_at"])
    return answer(published.token.encode("ascii"))


@language_independent
@require_safe
def secretariat_jwks(request):
    """GET /transparency/jwks.json: the secretariat's public keys, which sign the audit
    checkpoints and nothing else."""
    return _key_set(request, signing.public_jwks(signing.SECRETARIAT_OWNERS))


@language_independent
@require_safe
def checkpoint_list(request):
    """GET /transparency/checkpoints/: the signed audit checkpoints, newest first, a page of
    CHECKPOINTS_PAGE_SIZE at a time (?page=2)."""
    paginator = Paginator(checkpoints.newest_first(), CHECKPOINTS_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except (EmptyPage, PageNotAnInteger):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "No such page."}}, status=404
        )

    def link(number):
        return request.build_absolute_uri(f"{request.path}?page={number}")

    shown = list(page)
    results = [checkpoints.as_json(checkpoint) for checkpoint in shown]
    response = JsonResponse(
        {
            "count": paginator.count,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": link(page.previous_page_number()) if page.has_previous() else None,
            "keys": request.build_absolute_uri(reverse("secretariat-jwks")),
            "results": results,
        }
    )
    etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    newest = max((checkpoint.created_at for checkpoint in shown), default=None)
    return _public(
        request,
        response,
        etag=etag,
        max_age=CHECKPOINTS_MAX_AGE,
        last_modified=int(newest.timestamp()) if newest else None,
    )


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
    # One moment: the status shown is the one read then (the verify object's checked_at).
    checked_at = timezone.now()
    found = lookup.find(canonical, now=checked_at)
    context = {
        "number": canonical,
        "found": found,
        "certificate": found.result if found else None,
        "token_check": _check(token, canonical, found.record if found else None),
        "checked_at": checked_at,
        "country": parsed.country,
        "country_name": country_name(parsed.country),
        # The verify object's dates are ISO strings (the API's); the page writes them in
        # the reader's language.
        "valid_from": _date(found.result["valid_from"]) if found else None,
        "valid_until": _date(found.result["valid_until"]) if found else None,
        "authority_name": _authority_name(parsed.country) if found else "",
        "status_list_url": reverse("status-list", kwargs={"country": parsed.country}),
        **_form_context(),
    }
    return render(request, "verify/certificate.html", context, status=200 if found else 404)


def _date(value):
    return datetime.date.fromisoformat(value) if value else None


def _authority_name(code):
    """The issuing authority's name in the reader's language (the verify object keeps the
    English one: it is the API's contract)."""
    authority = Authority.objects.filter(member_state_id=code).first()
    return authority.local_name if authority else ""


def _check(token, number, record):
    if not token:
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        return lookup.TokenCheck(False, error=_("The token is malformed."), error_code="malformed")
    return lookup.check_token(token, number, record)
