"""Each state's signed status list (docs/api.md): what it names, that it verifies against
the published keys with PyJWT, that every status change publishes it again once it commits,
and how it is served (ETag, Last-Modified, 304, caching)."""

import datetime
from datetime import UTC, timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certification.exceptions import TransitionNotAllowed
from certification.models import Application, Certificate, StatusList
from certification.tasks import publish_status_lists
from certification.verification import signing, status_list
from certification.workflow import services
from tests.certification.conftest import Flow

S = Application.Status
URL = "/.well-known/mca-status/{}.jws"


@pytest.fixture
def web():
    return Client()


def _issue(flow, count=1):
    certificates = []
    for _ in range(count):
        product = flow.make_product()
        certificates.append(flow.application(S.APPROVED, product=product).certificate)
    return certificates


def _verified(web, country):
    """The list's claims, checked as a verifier would: PyJWT and the published JWKS."""
    response = web.get(URL.format(country))
    assert response.status_code == 200
    token = response.content.decode("ascii")
    header = jwt.get_unverified_header(token)
    assert header["typ"] == status_list.TYP and header["alg"] == "EdDSA"
    key_set = jwt.PyJWKSet.from_dict(web.get("/.well-known/jwks.json").json())
    claims = jwt.decode(
        token,
        key=key_set[header["kid"]].key,
        algorithms=["EdDSA"],
        options={"require": ["iss", "iat", "exp"]},
    )
    assert claims["iss"] == country and header["kid"].startswith(country.lower() + "-")
    return claims


def _tashkent_day(moment):
    return moment.astimezone(datetime.timezone(timedelta(hours=5))).date()


def test_a_state_without_stopped_certificates_gets_a_signed_empty_list(db, web):
    claims = _verified(web, "KG")
    assert claims["count"] == 0 and claims["stopped"] == {}
    assert claims["exp"] - claims["iat"] == settings.STATUS_LIST_VALID_HOURS * 3600
    assert abs(claims["iat"] - timezone.now().timestamp()) < 5


def test_a_revocation_is_in_the_next_list_and_a_reinstatement_leaves_it(db, web, committing):
    flow = Flow("UZ")
    kept, suspended, revoked = _issue(flow, 3)
    assert _verified(web, "UZ")["count"] == 0

    committing(
        services.certificate_suspend, actor=flow.reviewer, number=suspended.number, reason="Audit"
    )
    committing(
        services.certificate_revoke, actor=flow.reviewer, number=revoked.number, reason="Fraud"
    )
    claims = _verified(web, "UZ")
    suspended.refresh_from_db()
    revoked.refresh_from_db()
    listed = status_list.decode(claims)
    assert claims["count"] == 2
    assert listed == {
        (suspended.year, suspended.sequence): (
            "suspended",
            _tashkent_day(suspended.status_changed_at),
        ),
        (revoked.year, revoked.sequence): ("revoked", _tashkent_day(revoked.status_changed_at)),
    }
    assert (kept.year, kept.sequence) not in listed

    committing(services.certificate_reinstate, actor=flow.reviewer, number=suspended.number)
    claims = _verified(web, "UZ")
    assert status_list.decode(claims) == {
        (revoked.year, revoked.sequence): ("revoked", _tashkent_day(revoked.status_changed_at))
    }
    # Another state's list is not touched by it.
    assert _verified(web, "KZ")["count"] == 0


def test_the_list_is_published_after_the_commit_not_inside_it(
    db, web, django_capture_on_commit_callbacks
):
    flow = Flow("UZ")
    (certificate,) = _issue(flow)
    before = status_list.publish("UZ").token
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.certificate_revoke(actor=flow.reviewer, number=certificate.number, reason="x")
    assert StatusList.objects.get(pk="UZ").token == before  # nothing yet
    for callback in callbacks:
        callback()
    assert StatusList.objects.get(pk="UZ").entries == 1


def test_a_refused_change_publishes_nothing(db, django_capture_on_commit_callbacks):
    flow = Flow("UZ")
    (certificate,) = _issue(flow)
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(TransitionNotAllowed),
    ):
        services.certificate_reinstate(actor=flow.reviewer, number=certificate.number)
    assert callbacks == []


def test_etag_last_modified_and_304(db, web, monkeypatch):
    response = web.get(URL.format("UZ"))
    assert response["Content-Type"] == "application/jwt"
    assert response["ETag"] == status_list.etag_of(response.content.decode())
    assert "public" in response["Cache-Control"]
    assert f"max-age={settings.STATUS_LIST_MAX_AGE_SECONDS}" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == "*"
    issued = StatusList.objects.get(pk="UZ").issued_at
    assert response["Last-Modified"] == issued.strftime("%a, %d %b %Y %H:%M:%S GMT")

    again = web.get(URL.format("UZ"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == response["ETag"]
    since = web.get(URL.format("UZ"), HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert since.status_code == 304

    # A new list (a later iat; within the same second it would be the same bytes): the old
    # ETag no longer matches.
    later = timezone.now() + timedelta(seconds=5)
    monkeypatch.setattr(status_list.timezone, "now", lambda: later)
    status_list.publish("UZ")
    changed = web.get(URL.format("UZ"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != response["ETag"]


def test_a_304_does_not_read_the_list_s_token(db, web):
    first = web.get(URL.format("UZ"))

    def reads_of_the_token(**headers):
        with CaptureQueriesContext(connection) as queries:
            response = web.get(URL.format("UZ"), **headers)
        table = StatusList._meta.db_table
        reads = [q["sql"] for q in queries if table in q["sql"] and '."token"' in q["sql"]]
        return response, reads

    cached, reads = reads_of_the_token(HTTP_IF_NONE_MATCH=first["ETag"])
    assert cached.status_code == 304 and reads == []
    cached, reads = reads_of_the_token(HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert cached.status_code == 304 and reads == []
    fresh, reads = reads_of_the_token()
    assert fresh.status_code == 200 and len(reads) == 1
    assert fresh.content == first.content and fresh["ETag"] == first["ETag"]


def test_two_revocations_in_one_second_give_lists_of_different_seconds(
    db, web, committing, monkeypatch
):
    """A client that sends only If-Modified-Since must get the second list, not a 304."""
    flow = Flow("UZ")
    first, second = _issue(flow, 2)
    clock = [(timezone.now() - timedelta(seconds=10)).replace(microsecond=200_000)]
    waited = []

    def sleep(seconds):
        waited.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    monkeypatch.setattr(status_list.timezone, "now", lambda: clock[0])
    monkeypatch.setattr(status_list, "sleep", sleep, raising=False)
    committing(services.certificate_revoke, actor=flow.reviewer, number=first.number, reason="x")
    before = web.get(URL.format("UZ"))
    committing(services.certificate_revoke, actor=flow.reviewer, number=second.number, reason="y")

    after = web.get(URL.format("UZ"), HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
    assert after.status_code == 200 and after["Last-Modified"] != before["Last-Modified"]
    claims = _verified(web, "UZ")
    assert (second.year, second.sequence) in status_list.decode(claims)
    # The second list waited for the next second rather than being dated ahead of the clock.
    assert waited == [pytest.approx(0.8)]
    assert claims["iat"] == int(clock[0].timestamp()) == _verified_iat(before) + 1


def _verified_iat(response):
    return jwt.decode(response.content.decode(), options={"verify_signature": False})["iat"]


def test_a_stored_list_is_served_while_fresh_and_made_again_when_stale(db, web):
    first = status_list.publish("UZ")
    assert web.get(URL.format("UZ")).content.decode() == first.token
    # Beat stopped two hours ago: the first request makes a new one.
    StatusList.objects.filter(pk="UZ").update(issued_at=first.issued_at - timedelta(hours=3))
    served = web.get(URL.format("UZ")).content.decode()
    stored = StatusList.objects.get(pk="UZ")
    assert stored.token == served and stored.issued_at >= first.issued_at
    # Served as stored while fresh: not made again on every request.
    StatusList.objects.filter(pk="UZ").update(token=first.token + "x")
    assert web.get(URL.format("UZ")).content.decode() == first.token + "x"


def test_not_a_member_state_is_404(db, web):
    assert web.get(URL.format("RU")).status_code == 404
    assert web.get(URL.format("uz")).status_code == 404
    assert web.post(URL.format("UZ")).status_code == 405


def test_beat_publishes_every_state(db):
    flow = Flow("KZ")
    (certificate,) = _issue(flow)
    Certificate.objects.filter(pk=certificate.pk).update(
        status=Certificate.Status.SUSPENDED, status_changed_at=timezone.now()
    )
    assert publish_status_lists() == {"UZ": 0, "KZ": 1, "KG": 0, "TJ": 0, "TM": 0, "AZ": 0}
    assert StatusList.objects.count() == 6
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["status-lists"]["task"] == "certification.publish_status_lists"


def test_one_state_failing_does_not_stop_the_others(db, monkeypatch, caplog):
    entries = status_list._entries

    def broken_in_kazakhstan(country):
        if country == "KZ":
            raise RuntimeError("disk full")
        return entries(country)

    monkeypatch.setattr(status_list, "_entries", broken_in_kazakhstan)
    with pytest.raises(status_list.NotPublished, match="KZ could not be made") as caught:
        publish_status_lists()
    assert "UZ, KG, TJ, TM, AZ were" in str(caught.value)
    made = set(StatusList.objects.exclude(token="").values_list("member_state_id", flat=True))
    assert made == {"UZ", "KG", "TJ", "TM", "AZ"}
    (record,) = [r for r in caplog.records if r.levelname == "ERROR" and "KZ" in r.getMessage()]
    assert "disk full" in record.exc_text


def test_the_list_is_signed_with_the_current_key_after_a_rotation(db, web, settings, tmp_path):
    settings.SIGNING_KEYS_DIR = tmp_path / "keys"
    status_list.publish("UZ")
    new_kid = signing.rotate_key("UZ")
    status_list.publish("UZ")
    token = web.get(URL.format("UZ")).content.decode()
    assert jwt.get_unverified_header(token)["kid"] == new_kid


def test_the_encoding_round_trips_across_years_and_long_gaps():
    day = (datetime.date(2027, 5, 9) - status_list.EPOCH).days
    years = {
        2026: [(1, 2, day), (2, 1, day + 1), (999_999, 2, day - 400)],
        2027: [(70_000, 1, day)],
    }
    claims = status_list.claims_for("UZ", years, now=datetime.datetime(2027, 5, 9, tzinfo=UTC))
    assert claims["count"] == 4 and list(claims["stopped"]) == ["2026", "2027"]
    assert status_list.decode(claims) == {
        (2026, 1): ("revoked", datetime.date(2027, 5, 9)),
        (2026, 2): ("suspended", datetime.date(2027, 5, 10)),
        (2026, 999_999): ("revoked", datetime.date(2026, 4, 4)),
        (2027, 70_000): ("suspended", datetime.date(2027, 5, 9)),
    }
    assert "=" not in claims["stopped"]["2026"]  # base64url without padding


def test_a_list_is_not_a_certificate_token(db, web):
    token = web.get(URL.format("UZ")).content.decode()
    # A verifier requiring a certificate's claims refuses it (no sub, no nbf).
    key_set = jwt.PyJWKSet.from_dict(web.get("/.well-known/jwks.json").json())
    key = key_set[jwt.get_unverified_header(token)["kid"]].key
    with pytest.raises(jwt.MissingRequiredClaimError):
        jwt.decode(token, key=key, algorithms=["EdDSA"], options={"require": ["sub", "nbf"]})
