"""The short way of GET /api/v1/certificates/{number}/verify/ (certification.api.fastpath):
what it answers must be what Django answers, and whatever it does not answer must reach
Django untouched.

The test client does not go through config/wsgi.py, so these tests call the two WSGI
applications directly, with the database connections' upkeep left out as the test client
leaves it out (it would close the connection holding the test's transaction), and the
query log kept as django_assert_num_queries keeps it."""

import json
import os
import subprocess
import sys
import weakref
from datetime import timedelta
from urllib.parse import unquote_to_bytes

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import RequestFactory
from django.urls import resolve
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from certification.api import fastpath
from certification.api.fastpath import VerifyFastPath
from certification.api.verify import VerifyView
from certification.core.numbering import format_number
from certification.models import Application
from certification.workflow import services
from tests.certification.conftest import Flow
from tests.conftest import TEST_SECRETS_KEYS
from tests.credentials import api_key
from tests.factories import CustomsFactory, ReviewerFactory, UserFactory

S = Application.Status


@pytest.fixture
def flow(db):
    return Flow("KZ")


@pytest.fixture
def certificate(flow):
    return flow.application(S.APPROVED).certificate


@pytest.fixture
def customs(db):
    return CustomsFactory()


@pytest.fixture(autouse=True)
def _keys_of_this_test():
    _keys.clear()


@pytest.fixture(autouse=True)
def _connections_kept(monkeypatch):
    # As django.test.Client does: no closing of "old" connections inside a test.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    monkeypatch.setattr(fastpath, "close_old_connections", lambda: None)
    # As django_assert_num_queries does: the query log is not emptied as a request starts.
    monkeypatch.setattr(fastpath, "reset_queries", lambda: None)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def apps():
    """(the short way in front of Django, Django alone); made after any settings change."""

    def make():
        django = WSGIHandler()
        return VerifyFastPath(django), django

    return make


@pytest.fixture
def fast_calls(monkeypatch):
    """The responses the short way gave (None where it passed the request on)."""
    answers = []
    original = VerifyFastPath.respond

    def spy(self, request):
        response = original(self, request)
        answers.append(response)
        return response

    monkeypatch.setattr(VerifyFastPath, "respond", spy)
    return answers


class Answer:
    def __init__(self, status, headers, body):
        self.status_code = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)


_keys = {}  # one token per account and test (emptied by the autouse fixture below)


def _get(app, path, user=None, token=None, secure=False, **extra):
    if user is not None:
        token = _keys.get(user.pk) or _keys.setdefault(user.pk, api_key(user))
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Token {token}"
    environ = RequestFactory().get(path, secure=secure, **extra).environ
    # As a server passes it (bytes as latin-1), not as the WSGIRequest made here left it.
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("iso-8859-1")
    started = []
    result = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Answer(*started[0], body)


def _path(number):
    return f"/api/v1/certificates/{number}/verify/"


def _comparable(answer):
    body = answer.json()
    body.pop("checked_at", None)
    return answer.status_code, body, answer.headers


def _error(answer, status, code):
    assert answer.status_code == status, answer.body
    assert answer.json()["error"]["code"] == code, answer.body


def test_the_route_is_the_views_route():
    fast = VerifyFastPath(WSGIHandler())
    assert fast._number(_path("MCA-KZ-2026-000001-23")) == "MCA-KZ-2026-000001-23"
    assert resolve(_path("MCA-KZ-2026-000001-23")).func.view_class is VerifyView
    assert fast._number("/api/v1/certificates/verify/") is None
    assert fast._number("/api/v1/certificates/A/B/verify/") is None
    assert fast._number("/api/v1/certificates/A/verify/x") is None


@pytest.mark.parametrize("language", [None, "ru", "kk, ru;q=0.5"])
def test_answers_exactly_what_django_answers(
    flow, certificate, customs, apps, fast_calls, language
):
    """Same status, body (but the instant of the check) and headers, for a certificate, a
    revoked one, a lower-case number and an unknown number, in several languages."""
    revoked = flow.application(S.APPROVED, product=flow.make_product()).certificate
    services.certificate_revoke(actor=flow.reviewer, number=revoked.number, reason="Fraud")
    numbers = [
        certificate.number,
        certificate.number.lower(),
        revoked.number,
        format_number("TJ", 2026, 424242),
    ]
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    fast_app, django = apps()
    fast = [_comparable(_get(fast_app, _path(n), customs, **extra)) for n in numbers]
    full = [_comparable(_get(django, _path(n), customs, **extra)) for n in numbers]
    assert all(answer is not None for answer in fast_calls), "the short way passed one on"
    assert fast == full
    assert [status for status, _, _ in fast] == [200, 200, 200, 404]
    assert fast[2][1]["status"] == "revoked"
    assert "x-content-type-options" in fast[0][2]  # SecurityMiddleware's headers
    if language == "ru":  # the error message is in the caller's language, as in Django
        assert fast[3][2]["content-language"] == "ru"
        message = f"Сертификата с номером {numbers[3]} нет в реестре."
        assert fast[3][1]["error"]["message"] == message


def test_https_redirect_and_hsts_as_django(certificate, customs, apps, settings, fast_calls):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    fast_app, django = apps()
    path = _path(certificate.number)
    redirected = [_get(app, path, customs) for app in (fast_app, django)]
    assert [a.status_code for a in redirected] == [301, 301]
    assert redirected[0].headers["location"] == redirected[1].headers["location"]
    secure = [_comparable(_get(app, path, customs, secure=True)) for app in (fast_app, django)]
    assert secure[0] == secure[1]
    assert secure[0][0] == 200 and "strict-transport-security" in secure[0][2]
    assert [answer is not None for answer in fast_calls] == [False, True]


def test_one_query_answers_a_verification(certificate, customs, apps, django_assert_num_queries):
    fast_app, _ = apps()
    token = api_key(customs)
    with django_assert_num_queries(1):
        answer = _get(fast_app, _path(certificate.number), token=token)
    assert answer.status_code == 200 and answer.json()["number"] == certificate.number
    with django_assert_num_queries(1):
        _error(_get(fast_app, _path(format_number("KG", 2026, 5)), token=token), 404, "not_found")


def test_django_answers_what_the_short_way_does_not(flow, certificate, customs, apps, fast_calls):
    fast_app, _ = apps()
    number = certificate.number
    cases = [
        ({"token": "not-a-token"}, number, 401, "authentication_failed"),
        ({"HTTP_AUTHORIZATION": "Bearer x"}, number, 401, "not_authenticated"),
        ({"user": CustomsFactory(is_active=False)}, number, 401, "authentication_failed"),
        ({"user": UserFactory()}, number, 403, "permission_denied"),
        ({"user": customs}, number[:-2] + "00", 400, "invalid_number"),
    ]
    for credentials, asked, status, code in cases:
        _error(_get(fast_app, _path(asked), **credentials), status, code)
    assert fast_calls == [None] * len(cases)
    # Without credentials the short way is not even tried.
    _error(_get(fast_app, _path(number)), 401, "not_authenticated")
    assert len(fast_calls) == len(cases)


def test_expired_revoked_and_unconfirmed_officials_tokens_are_refused_by_django(
    certificate, customs, apps, fast_calls
):
    """The short way's WHERE keeps them out; the full stack says why, with the error body."""
    fast_app, _ = apps()
    now = timezone.now()
    cases = [
        (api_key(customs, expires_at=now - timedelta(seconds=1)), 401, "authentication_failed"),
        (api_key(customs, revoked_at=now), 401, "authentication_failed"),
        (api_key(ReviewerFactory(), second_factor=False), 403, "second_factor_required"),
    ]
    for key, status, code in cases:
        _error(_get(fast_app, _path(certificate.number), token=key), status, code)
    assert fast_calls == [None] * len(cases)


def test_a_reviewer_with_a_second_factor_takes_the_short_way_in_one_query(
    flow, certificate, apps, fast_calls, django_assert_num_queries
):
    fast_app, django = apps()
    key = api_key(ReviewerFactory(member_state=flow.state))  # with an app: its token acts
    with django_assert_num_queries(1):
        answer = _get(fast_app, _path(certificate.number), token=key)
    full = _get(django, _path(certificate.number), token=key)
    assert [call is not None for call in fast_calls] == [True]  # answered by the short way
    assert _comparable(answer) == _comparable(full)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/\U000e57fc\u00a1/origin/",
        "/api/v1/certificates/MCA-KZ-2026-\u0416\U0001f600/verify/",
        "/api/v1/certificates/%FF%FE/verify/",
    ],
)
def test_odd_paths_reach_django_as_the_server_sent_them(customs, apps, path):
    fast_app, django = apps()
    fast, full = (_get(app, path, customs) for app in (fast_app, django))
    assert fast.status_code == full.status_code < 500
    assert fast.body == full.body


def test_a_host_not_allowed_is_refused_as_by_django(certificate, customs, apps):
    fast_app, django = apps()
    answers = [
        _get(app, _path(certificate.number), customs, HTTP_HOST="evil.example")
        for app in (fast_app, django)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert b"MCA-" not in answers[0].body


def test_an_error_on_the_way_is_left_to_django(certificate, customs, apps, monkeypatch):
    fast_app, _ = apps()

    def broken(key, number):
        raise RuntimeError("database gone")

    monkeypatch.setattr(fastpath.lookup, "fetch_for_token", broken)
    answer = _get(fast_app, _path(certificate.number), customs)
    assert answer.status_code == 200 and answer.json()["number"] == certificate.number


def test_each_request_is_counted_once_and_a_throttled_caller_gets_429(
    certificate, customs, apps, monkeypatch, fast_calls
):
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"address": "1000/min", "token": "3/min", "customs": "3/min", "auth": "30/min"},
    )
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: 1_000_020.0)  # mid-minute
    fast_app, _ = apps()
    path = _path(certificate.number)
    assert [_get(fast_app, path, customs).status_code for _ in range(3)] == [200, 200, 200]
    answer = _get(fast_app, path, customs)
    _error(answer, 429, "throttled")
    assert int(answer.headers["retry-after"]) > 0
    assert [response is not None for response in fast_calls] == [True, True, True, False]


RE_CHECK = (
    "certification/api/fastpath.py answers before Django's middleware and request signals, "
    "doing by hand what they do for the verify request. Re-check there that the short way "
    "still answers exactly as the full stack would with this change (the headers it adds, "
    "the requests it must leave to Django, what runs before and after a request), extend it "
    "or leave more to Django, then update {name} in that module."
)


def _receivers(signal):
    names = []
    for _key, reference, _is_async in signal.receivers:
        # Weakly connected receivers are kept as weak references, the others as they are.
        receiver = reference() if isinstance(reference, weakref.ref) else reference
        names.append(f"{receiver.__module__}.{receiver.__qualname__}")
    return tuple(names)


def test_the_middleware_is_what_the_short_way_was_written_against(settings):
    assert tuple(settings.MIDDLEWARE) == fastpath.WRITTEN_AGAINST_MIDDLEWARE, RE_CHECK.format(
        name="WRITTEN_AGAINST_MIDDLEWARE"
    )


def test_the_request_signals_are_what_the_short_way_was_written_against():
    # In a process of its own, as the web server starts: tests connect receivers of their own.
    code = (
        "import django, json; django.setup(); import config.wsgi;"
        "from django.core import signals;"
        "from tests.api.test_fastpath import _receivers;"
        "print(json.dumps({name: _receivers(getattr(signals, name))"
        " for name in ('request_started', 'request_finished')}))"
    )
    env = {**os.environ, "SECRETS_KEYS": ",".join(TEST_SECRETS_KEYS)}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    found = {name: tuple(receivers) for name, receivers in json.loads(done.stdout).items()}
    assert found == fastpath.WRITTEN_AGAINST_RECEIVERS, RE_CHECK.format(
        name="WRITTEN_AGAINST_RECEIVERS"
    )


def test_a_new_middleware_fails_the_check_with_what_to_re_check(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_otp.middleware.OTPMiddleware"]
    with pytest.raises(AssertionError, match="fastpath.py answers before Django's middleware"):
        test_the_middleware_is_what_the_short_way_was_written_against(settings)
