"""The short way of GET /api/v1/certificates/{number}/verify/ (certification.api.fastpath):
what it answers must be what the full stack answers, and whatever it does not answer must
reach the full stack untouched."""

import pytest
from django.urls import resolve
from rest_framework.throttling import SimpleRateThrottle

from certification import services
from certification.api.fastpath import VerifyFastPath
from certification.api.verify import VerifyView
from certification.models import Application
from certification.numbering import format_number
from tests.api.conftest import assert_error, client_for
from tests.certification.conftest import Flow
from tests.factories import CustomsFactory, SecretariatFactory, UserFactory

S = Application.Status
FAST = "certification.api.fastpath.VerifyFastPath"


@pytest.fixture
def flow(db):
    return Flow("KZ")


@pytest.fixture
def certificate(flow):
    return flow.application(S.APPROVED).certificate


@pytest.fixture
def customs(db):
    return CustomsFactory()


@pytest.fixture
def without_fast_path(settings):
    def use():
        settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != FAST]

    return use


@pytest.fixture
def fast_calls(monkeypatch):
    """The responses the short way gave (None where it passed the request on)."""
    answers = []
    original = VerifyFastPath.answer

    def spy(self, request, text):
        response = original(self, request, text)
        answers.append(response)
        return response

    monkeypatch.setattr(VerifyFastPath, "answer", spy)
    return answers


def _path(number):
    return f"/api/v1/certificates/{number}/verify/"


def _comparable(response):
    body = response.json()
    body.pop("checked_at", None)
    headers = {name.lower(): value for name, value in response.headers.items()}
    return response.status_code, body, headers


def test_the_route_is_the_views_route():
    assert VerifyFastPath(lambda request: None)._number(_path("MCA-KZ-2026-000001-23")) == (
        "MCA-KZ-2026-000001-23"
    )
    assert resolve(_path("MCA-KZ-2026-000001-23")).func.view_class is VerifyView
    fast = VerifyFastPath(lambda request: None)
    assert fast._number("/api/v1/certificates/verify/") is None
    assert fast._number("/api/v1/certificates/A/B/verify/") is None
    assert fast._number("/api/v1/certificates/A/verify/x") is None


@pytest.mark.parametrize("language", [None, "ru", "kk, ru;q=0.5"])
def test_answers_exactly_what_the_full_stack_answers(
    flow, certificate, customs, without_fast_path, fast_calls, language
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
    fast = [_comparable(client_for(customs).get(_path(n), **extra)) for n in numbers]
    assert all(answer is not None for answer in fast_calls), "the short way passed one on"
    without_fast_path()
    full = [_comparable(client_for(customs).get(_path(n), **extra)) for n in numbers]
    assert len(fast_calls) == len(numbers)  # the full stack never reached the short way
    assert fast == full
    assert [status for status, _, _ in fast] == [200, 200, 200, 404]
    assert fast[2][1]["status"] == "revoked"
    if language == "ru":  # the error message is in the caller's language, as on the full way
        assert fast[3][2]["content-language"] == "ru"
        message = f"Сертификата с номером {numbers[3]} нет в реестре."
        assert fast[3][1]["error"]["message"] == message


def test_one_query_answers_a_verification(certificate, customs, django_assert_num_queries):
    client = client_for(customs)
    with django_assert_num_queries(1):
        response = client.get(_path(certificate.number))
    assert response.status_code == 200 and response.json()["number"] == certificate.number
    with django_assert_num_queries(1):
        assert_error(client.get(_path(format_number("KG", 2026, 5))), 404, "not_found")


def test_the_full_stack_answers_what_the_short_way_does_not(flow, certificate, customs, fast_calls):
    number = certificate.number
    inactive = CustomsFactory(is_active=False)
    cases = [
        (client_for(), number, 401, "not_authenticated"),
        (_with_header("Token not-a-token"), number, 401, "authentication_failed"),
        (_with_header("Bearer x"), number, 401, "not_authenticated"),
        (client_for(inactive), number, 401, "authentication_failed"),
        (client_for(UserFactory()), number, 403, "permission_denied"),
        (client_for(customs), number[:-2] + "00", 400, "invalid_number"),
    ]
    for client, asked, status, code in cases:
        assert_error(client.get(_path(asked)), status, code)
    assert fast_calls == [None] * len(cases)


def test_a_host_not_allowed_is_refused_as_on_the_full_stack(
    certificate, customs, without_fast_path
):
    fast = client_for(customs).get(_path(certificate.number), HTTP_HOST="evil.example")
    without_fast_path()
    full = client_for(customs).get(_path(certificate.number), HTTP_HOST="evil.example")
    assert fast.status_code == full.status_code == 400
    assert b"MCA-" not in fast.content


def test_a_session_is_answered_by_the_full_stack(certificate, fast_calls):
    secretariat = SecretariatFactory()
    client = client_for()
    client.force_login(secretariat)
    response = client.get(_path(certificate.number))
    assert response.status_code == 200 and response.json()["status"] == "valid"
    assert fast_calls == [None]


def test_each_request_is_counted_once_and_a_throttled_caller_gets_429(
    certificate, customs, monkeypatch, fast_calls
):
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"address": "1000/min", "token": "3/min", "customs": "3/min", "auth": "30/min"},
    )
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: 1_000_020.0)  # mid-minute
    client = client_for(customs)
    statuses = [client.get(_path(certificate.number)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = client.get(_path(certificate.number))
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert [answer is not None for answer in fast_calls] == [True, True, True, False]


def _with_header(value):
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client
