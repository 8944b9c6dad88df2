import datetime
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from certification.core.numbering import InvalidNumber, format_number
from certification.exceptions import NotFound
from certification.models import Application, Certificate, OutboxEvent
from certification.verification import signing
from certification.verification.lookup import check_token, find, verify_many, verify_number
from certification.workflow import services
from tests.certification.conftest import Flow

S = Application.Status
VERIFY_KEYS = {
    "number",
    "status",
    "valid_from",
    "valid_until",
    "product",
    "producer",
    "issuing_authority",
    "origin_criterion",
    "token",
    "checked_at",
}


@pytest.fixture
def certificate(flow):
    return flow.application(S.APPROVED).certificate


def _mistype_check_digits(number):
    digits = number[-2:]
    wrong = f"{(int(digits) + 1) % 100:02d}"
    return number[:-2] + wrong


def _tashkent_today():
    return datetime.datetime.now(UTC).astimezone(ZoneInfo("Asia/Tashkent")).date()


def _set_dates(certificate, valid_from, valid_until):
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=valid_from, valid_until=valid_until
    )


def test_verify_object_follows_the_contract(flow, certificate):
    result = verify_number(certificate.number)
    assert set(result) == VERIFY_KEYS
    assert result["number"] == certificate.number
    assert result["status"] == "valid"
    assert result["valid_from"] == certificate.valid_from.isoformat()
    assert result["valid_until"] == certificate.valid_until.isoformat()
    assert result["product"] == {"name": flow.product.name, "hs_code": flow.product.hs_code}
    assert result["producer"] == {
        "name": flow.producer.legal_name,
        "country": "UZ",
        "tax_id": flow.producer.tax_id,
    }
    assert result["issuing_authority"] == {
        "code": "UZ",
        "name": flow.state.authority.name,
    }
    assert result["origin_criterion"] == certificate.origin_criterion
    assert result["token"] == certificate.token
    assert signing.verify_token(result["token"])["sub"] == certificate.number
    checked = datetime.datetime.fromisoformat(result["checked_at"])
    assert abs(checked - datetime.datetime.now(UTC)) < datetime.timedelta(minutes=1)


def test_tax_id_of_an_individual_entrepreneur_is_not_shown(flow):
    flow.producer.kind = "individual"
    flow.producer.save()
    certificate = flow.application(S.APPROVED).certificate
    result = verify_number(certificate.number)
    assert result["producer"]["tax_id"] is None
    assert result["producer"]["name"] == flow.producer.legal_name


def test_lower_case_and_surrounding_spaces_are_accepted(certificate):
    assert verify_number(f"  {certificate.number.lower()}\n")["number"] == certificate.number


def test_check_digit_typo_is_invalid_number_before_any_query(
    certificate, django_assert_num_queries
):
    with django_assert_num_queries(0), pytest.raises(InvalidNumber) as excinfo:
        verify_number(_mistype_check_digits(certificate.number))
    assert excinfo.value.reason == "check_digits"
    assert "mistyped" in str(excinfo.value)


def test_unknown_number_is_not_found(db):
    with pytest.raises(NotFound) as excinfo:
        verify_number(format_number("KG", 2026, 4242))
    assert excinfo.value.code == "not_found"


def test_what_was_certified_survives_later_edits_of_the_product(flow, certificate):
    flow.product.name = "Renamed after issue"
    flow.product.hs_code = "610990"
    flow.product.save()
    result = verify_number(certificate.number)
    assert result["product"]["name"] != "Renamed after issue"
    assert result["product"]["hs_code"] == certificate.product_snapshot["hs_code"]


def test_suspension_revocation_and_reinstatement_show_at_once(flow, certificate):
    number = certificate.number
    services.certificate_suspend(actor=flow.reviewer, number=number, reason="Audit pending")
    assert verify_number(number)["status"] == "suspended"
    services.certificate_reinstate(actor=flow.reviewer, number=number)
    assert verify_number(number)["status"] == "valid"
    services.certificate_revoke(actor=flow.reviewer, number=number, reason="Origin not proven")
    assert verify_number(number)["status"] == "revoked"
    found = find(number)
    assert found.status == "revoked" and found.stopped
    assert found.record.status_reason == "Origin not proven"
    assert found.status_changed_on == _tashkent_today()


def test_past_valid_until_reads_expired_without_any_job(certificate):
    yesterday = datetime.date.today() - datetime.timedelta(days=2)
    _set_dates(certificate, yesterday - datetime.timedelta(days=700), yesterday)
    assert verify_number(certificate.number)["status"] == "expired"
    certificate.refresh_from_db()
    assert certificate.status == "active" and certificate.expiry_recorded_at is None
    assert not OutboxEvent.objects.filter(event="certificate.expired").exists()


def test_renewal_not_yet_in_force_reads_not_yet_valid(flow, certificate):
    # The renewal window opens 90 days before the end: let the certificate end in 30 days.
    today = _tashkent_today()
    _set_dates(certificate, today - datetime.timedelta(days=700), today + datetime.timedelta(30))
    certificate.refresh_from_db()
    renewal = flow.application(S.APPROVED, renews=certificate).certificate
    assert renewal.valid_from == certificate.valid_until + datetime.timedelta(days=1)
    results = verify_many([certificate.number, renewal.number])
    assert [r["status"] for r in results] == ["valid", "not_yet_valid"]
    assert results[1]["valid_from"] == renewal.valid_from.isoformat()


def test_issued_today_in_tashkent_reads_valid_at_23_30_utc(db, monkeypatch):
    # 23:30 UTC on 1 June is 04:30 on 2 June in Tashkent (UTC+5): the certificate starts on
    # 2 June there. Judged by the UTC calendar it would read not_yet_valid until midnight.
    moment = datetime.datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    flow = Flow("UZ")
    certificate = flow.application(S.APPROVED).certificate
    assert certificate.valid_from == datetime.date(2026, 6, 2)
    assert verify_number(certificate.number)["status"] == "valid"
    assert verify_number(certificate.number, now=moment)["status"] == "valid"
    assert verify_many([certificate.number])[0]["checked_at"] == "2026-06-01T23:30:00Z"
    # The day before in Tashkent it was not yet valid.
    earlier = moment - datetime.timedelta(hours=5)
    assert verify_number(certificate.number, now=earlier)["status"] == "not_yet_valid"


def test_bulk_keeps_order_with_valid_unknown_invalid_and_duplicates(flow, certificate):
    other = flow.application(S.APPROVED, product=flow.make_product()).certificate
    unknown = format_number("TJ", 2027, 99)
    typo = _mistype_check_digits(certificate.number)
    results = verify_many(
        [other.number, unknown, typo, certificate.number.lower(), "", other.number]
    )
    assert [(r["number"], r["status"]) for r in results] == [
        (other.number, "valid"),
        (unknown, "not_found"),
        (typo, "invalid_number"),
        (certificate.number, "valid"),
        ("", "invalid_number"),
        (other.number, "valid"),
    ]
    assert "mistyped" in results[2]["message"]
    assert results[0] == results[5]
    assert set(results[0]) == VERIFY_KEYS


def test_one_query_per_call_whatever_the_count(flow, certificate, django_assert_num_queries):
    numbers = [certificate.number]
    numbers += [flow.application(S.APPROVED, product=flow.make_product()).certificate.number]
    numbers += [format_number("AZ", 2026, n) for n in range(1, 200)]
    with django_assert_num_queries(1):
        verify_number(certificate.number)
    with django_assert_num_queries(1):
        verify_many(numbers[:1])
    with django_assert_num_queries(1):
        results = verify_many(numbers * 4)
    assert len(results) == 804
    with django_assert_num_queries(0):
        verify_many(["not a number", "MCA-XX-2026-000001-00"])


def test_bulk_refuses_more_than_1000(db):
    with pytest.raises(ValueError):
        verify_many(["x"] * 1001)


# --- token check (the page) ----------------------------------------------------------------


def test_token_check_of_the_certificates_own_token_matches(certificate):
    found = find(certificate.number)
    check = check_token(certificate.token, certificate.number, found.record)
    assert check.signature_valid and check.matches and check.mismatches == []
    assert check.kid == certificate.key_id


def test_token_check_reports_a_forged_signature(certificate):
    header, payload, signature = certificate.token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    check = check_token(forged, certificate.number, find(certificate.number).record)
    assert not check.signature_valid and not check.matches
    assert check.error_code == "bad_signature"


def test_token_check_reports_a_genuine_token_of_another_certificate(flow, certificate):
    other = flow.application(S.APPROVED, product=flow.make_product()).certificate
    check = check_token(other.token, certificate.number, find(certificate.number).record)
    assert check.signature_valid and not check.matches
    assert any(other.number in message for message in check.mismatches)


def test_token_check_without_a_record(certificate):
    unknown = format_number("UZ", 2026, 999_000)
    check = check_token(certificate.token, unknown, None)
    assert check.signature_valid and not check.record_found and not check.matches


@pytest.mark.postgres
def test_postgresql_prepares_the_lookup_once_per_connection(certificate):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); CI runs it")
    for _ in range(8):
        verify_number(certificate.number)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%product_snapshot ->> 'name'%"],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_first_query_of_a_request_stands_in_for_the_health_check(monkeypatch):
    import time

    import psycopg
    from django.db import connections

    from certification.verification.lookup import query

    connection = connections["default"]  # the wrapper itself, not the proxy: monkeypatched
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); CI runs it")
    connection.ensure_connection()
    monkeypatch.setattr(connection, "health_check_enabled", True)
    checks = []
    real_is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real_is_usable())

    connection.health_check_done = False  # what Django does when a request starts
    assert query("SELECT 1", []) == [(1,)]
    assert checks == [], "a healthy connection costs no SELECT 1 round trip"

    # The database drops the kept connection between two requests (a restart, say).
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(50):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.05)
    connection.health_check_done = False
    assert query("SELECT 1", []) == [(1,)]  # replaced: the request does not fail
    assert connection.connection.info.backend_pid != pid
    assert len(checks) == 1


@pytest.mark.parametrize(
    "text", ["MCA-UZ-2026-000123-97", " mca-uz-2026-000123-97\t", "Mca-Kz-2026-000001-23"]
)
def test_canonical_form_is_the_parsed_number(text):
    from certification.core.numbering import parse_number
    from certification.verification.lookup import canonical

    assert canonical(text) == str(parse_number(text))
