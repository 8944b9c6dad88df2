"""The read path of customs verification (docs/api.md): a typed or scanned
certificate number in, the verify object out.

This is the hottest read of the registry (customs verify in bulk, scanners at every border
post), so it is written for speed rather than through the ORM:

- a number is parsed (shape, member state, check digits) before any query: a mistyped
  number never reaches the database;
- one hand-written query per call, whatever the count: ``number = %s`` for one,
  ``number = ANY(%s)`` (``IN (...)`` on SQLite) for a batch. Names and HS code are read
  from the snapshots taken at issue, never from the live product, so later edits of a
  product never change what verification shows;
- on PostgreSQL the query runs on a server-side-binding cursor, so psycopg prepares it once
  per connection (``DATABASE_PREPARE_THRESHOLD``) instead of PostgreSQL planning the join
  on every request. It still goes through Django's cursor wrapper: queries are logged and
  counted (``django_assert_num_queries``) and database errors translated as usual;
- it reads the ``default`` database, the primary: a suspension or revocation shows at once
  (docs/operations.md). Do not route it to a replica.

The status is derived when read, in the issuing state's time zone (certification.core.lifecycle):
no scheduled job is needed for a certificate to read ``expired`` the day after its last day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from certification.core import lifecycle
from certification.core.numbering import InvalidNumber, parse_number
from certification.exceptions import NotFound
from certification.models import Certificate
from certification.verification import signing
from registry.models import (
    SECOND_FACTOR_ROLES,
    ApiToken,
    AuthenticatorDevice,
    Authority,
    MemberState,
    Producer,
    User,
)

__all__ = [
    "MAX_BULK",
    "InvalidNumber",
    "NOT_FOUND",
    "INVALID_NUMBER",
    "Record",
    "TokenCheck",
    "canonical",
    "check_token",
    "Clock",
    "fetch_for_token",
    "find",
    "moment",
    "now_parameter",
    "verify_many",
    "verify_number",
    "verify_object",
]

MAX_BULK = 1000
NOT_FOUND = "not_found"
INVALID_NUMBER = "invalid_number"

# Verification always reads the primary (docs/operations.md).
DATABASE = DEFAULT_DB_ALIAS


class Record(NamedTuple):
    """One certificate as verification reads it; the columns of the query, in order."""

    number: str
    status: str  # stored: active, suspended, revoked
    valid_from: date
    valid_until: date
    product_name: str
    hs_code: str
    producer_name: str
    producer_country: str
    tax_id: str
    producer_kind: str
    authority_code: str
    authority_name: str
    origin_criterion: str
    token: str
    time_zone: str
    status_reason: str
    status_changed_at: datetime | None

    @property
    def is_individual(self):
        return self.producer_kind == Producer.Kind.INDIVIDUAL

    @property
    def public_tax_id(self):
        # The tax id of an individual entrepreneur is personal data (docs/api.md).
        return None if self.is_individual else self.tax_id


def _sql(where):
    certificate = Certificate._meta.db_table
    state = MemberState._meta.db_table
    authority = Authority._meta.db_table
    # `->>` reads a key of the snapshot as text on PostgreSQL (jsonb) and SQLite >= 3.38.
    # Each column is named after its Record field, so that the query can also be a subquery
    # (_WITH_ACCOUNT) whose columns are read with `v.*`.
    return f"""
        SELECT c.number AS "number", c.status AS "status",
               c.valid_from AS "valid_from", c.valid_until AS "valid_until",
               c.product_snapshot ->> 'name' AS "product_name",
               c.product_snapshot ->> 'hs_code' AS "hs_code",
               c.producer_snapshot ->> 'legal_name' AS "producer_name",
               c.producer_snapshot ->> 'member_state' AS "producer_country",
               c.producer_snapshot ->> 'tax_id' AS "tax_id",
               c.producer_snapshot ->> 'kind' AS "producer_kind",
               c.member_state_id AS "authority_code", a.name AS "authority_name",
               c.origin_criterion AS "origin_criterion", c.token AS "token",
               s.time_zone AS "time_zone", c.status_reason AS "status_reason",
               c.status_changed_at AS "status_changed_at"
          FROM {certificate} c
          JOIN {state} s ON s.code = c.member_state_id
          LEFT JOIN {authority} a ON a.member_state_id = c.member_state_id
         WHERE {where}
    """  # noqa: S608 - table names come from the models, values are parameters


_ONE = _sql("c.number = %s")
_MANY_POSTGRESQL = _sql("c.number = ANY(%s)")

# The account of an API token and the certificate with a number, in one round trip: no row
# for a token that is unknown, revoked or expired, nor for an inactive account or a reviewer
# or the secretariat without a confirmed second factor (the full stack answers those,
# certification/api/authentication.py); NULL certificate columns for an unknown number.
# Parameters: the number, then the SHA-256 of the token's key, then the moment now.
ACCOUNT_COLUMNS = ("id", "is_active", "role")
# An account `u` that may act now: not a reviewer or the secretariat, or one with a
# confirmed second factor. The roles are the model's constants.
_SECOND_FACTOR = "(u.role NOT IN ({roles}) OR EXISTS ({has_app}))"
_HAS_APP = "SELECT 1 FROM {device} d WHERE d.user_id = u.{pk} AND d.confirmed"
SECOND_FACTOR_SQL = _SECOND_FACTOR.format(  # names from the models, roles are constants
    has_app=_HAS_APP.format(device=AuthenticatorDevice._meta.db_table, pk=User._meta.pk.column),
    roles=", ".join(f"'{role}'" for role in SECOND_FACTOR_ROLES),
)
_WITH_ACCOUNT = """
    SELECT {columns}, v.*
      FROM {token} t
      JOIN {user} u ON u.{pk} = t.user_id
      LEFT JOIN ({one}) v ON 1 = 1
     WHERE t.digest = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.is_active
       AND {second_factor}
""".format(  # noqa: S608 - table and column names come from the models
    columns=", ".join(f"u.{User._meta.get_field(name).column}" for name in ACCOUNT_COLUMNS),
    token=ApiToken._meta.db_table,
    user=User._meta.db_table,
    pk=User._meta.pk.column,
    one=_ONE,
    second_factor=SECOND_FACTOR_SQL,
)


def query(sql, params):
    """The rows of one read-only statement on the primary.

    On PostgreSQL it runs on a server-side-binding psycopg cursor, whose statements psycopg
    prepares after DATABASE_PREPARE_THRESHOLD executions on a connection (Django's own
    cursor binds client-side and never prepares; switching the whole project to
    server-side binding would change how every ORM query is sent, for these two).

    Outside a transaction the statement also stands in for the connection's health check
    (DATABASE_CONN_HEALTH_CHECKS), which would otherwise cost a `SELECT 1` round trip on
    every request: if a kept connection turns out broken (the database restarted), it is
    replaced and the statement, a read, runs once more, so no request fails for it either.
    """
    connection = connections[DATABASE]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    stands_in = (
        connection.health_check_enabled
        and not connection.health_check_done
        and connection.connection is not None
        and not connection.in_atomic_block
    )
    if stands_in:
        connection.health_check_done = True
    else:
        connection.close_if_health_check_failed()
    try:
        return _prepared(connection, sql, params)
    except (InterfaceError, OperationalError):
        if not stands_in or connection.is_usable():
            raise
        connection.close()
        return _prepared(connection, sql, params)


def _prepared(connection, sql, params):
    # What BaseDatabaseWrapper.cursor() does (connect, query log, error wrapping), with
    # Django's own server-side-binding cursor class.
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    wrapped = (
        connection.make_debug_cursor(cursor)
        if connection.queries_logged
        else connection.make_cursor(cursor)
    )
    with wrapped:
        wrapped.execute(sql, params)
        return wrapped.fetchall()


def _fetch(numbers):
    """{number: Record} for the canonical numbers given, in one query."""
    if not numbers:
        return {}
    connection = connections[DATABASE]
    if len(numbers) == 1:
        sql, params = _ONE, [numbers[0]]
    elif connection.vendor == "postgresql":
        sql, params = _MANY_POSTGRESQL, [list(numbers)]
    else:
        placeholders = ", ".join(["%s"] * len(numbers))
        sql = _sql(f"c.number IN ({placeholders})")
        params = list(numbers)
    rows = query(sql, params)
    return {row[0]: _record(row) for row in rows}


def _record(columns):
    record = Record._make(columns)
    return record if connections[DATABASE].vendor == "postgresql" else _from_text(record)


def now_parameter():
    """The moment now as a query parameter compared with a stored DateTimeField."""
    return connections[DATABASE].ops.adapt_datetimefield_value(timezone.now())


def fetch_for_token(key, number):
    """``(account, record)`` for an API token's key and a canonical number, in one query:
    None when no token in force has this key (or its account may not use it now, see
    _WITH_ACCOUNT); record None when no certificate has this number. The key is hashed here,
    as the token rows keep it. The account is a User with only ACCOUNT_COLUMNS loaded
    (enough for the policy and the throttles)."""
    rows = query(_WITH_ACCOUNT, [number, ApiToken.digest_of(key), now_parameter()])
    if not rows:
        return None
    row = rows[0]
    split = len(ACCOUNT_COLUMNS)
    account = User.from_db(DATABASE, ACCOUNT_COLUMNS, row[:split])
    record = None if row[split] is None else _record(row[split:])
    return account, record


def _from_text(record):
    """SQLite keeps dates as text and datetimes as naive UTC; plain SQL gets them as stored
    (or half converted, by the declared-type converters Django registers)."""

    def day(value):
        return date.fromisoformat(value) if isinstance(value, str) else value

    return record._replace(
        valid_from=day(record.valid_from),
        valid_until=day(record.valid_until),
        status_changed_at=moment(record.status_changed_at),
    )


def moment(value):
    """A DateTimeField's value as plain SQL returns it, as an aware datetime (or None):
    SQLite gives text or naive UTC, PostgreSQL an aware datetime already."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


class Clock:
    """One moment per call: every number in a batch is judged at the same instant, each in
    its issuing state's calendar."""

    def __init__(self, now=None):
        self.now = now or timezone.now()
        self.checked_at = self.now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self._today = {}

    def today(self, time_zone):
        day = self._today.get(time_zone)
        if day is None:
            day = self._today[time_zone] = self.now.astimezone(ZoneInfo(time_zone)).date()
        return day

    def status(self, record):
        return lifecycle.derived_status(record, today=self.today(record.time_zone))


def verify_object(record, clock):
    return {
        "number": record.number,
        "status": clock.status(record),
        "valid_from": record.valid_from.isoformat(),
        "valid_until": record.valid_until.isoformat(),
        "product": {"name": record.product_name, "hs_code": record.hs_code},
        "producer": {
            "name": record.producer_name,
            "country": record.producer_country,
            "tax_id": record.public_tax_id,
        },
        "issuing_authority": {"code": record.authority_code, "name": record.authority_name},
        "origin_criterion": record.origin_criterion,
        "token": record.token,
        "checked_at": clock.checked_at,
    }


def canonical(text):
    """The canonical number for a text parse_number accepts (raises InvalidNumber): the text
    stripped and upper-cased, which is exactly str(parse_number(text)) without working out
    the check digits a second time."""
    parse_number(text)
    return text.strip().upper()


def verify_number(text, *, now=None):
    """The verify object of one number (docs/api.md).

    Raises InvalidNumber (``str(error)`` is the reason) for a malformed or mistyped number,
    before any query, and NotFound when no certificate has this number.
    """
    number = canonical(text)
    record = _fetch([number]).get(number)
    if record is None:
        raise NotFound(_("No certificate has the number %(number)s.") % {"number": number})
    return verify_object(record, Clock(now))


def verify_many(texts, *, now=None):
    """One result per text, in the order given (duplicates answered each time): a verify
    object, ``{number, status: "not_found"}`` or ``{number, status: "invalid_number",
    message}`` with the number as it was given. One query for the whole batch."""
    if len(texts) > MAX_BULK:
        raise ValueError(f"At most {MAX_BULK} numbers per call.")
    parsed = []
    for text in texts:
        try:
            parsed.append(canonical(text))
        except InvalidNumber as error:
            parsed.append(error)
    wanted = list(dict.fromkeys(n for n in parsed if isinstance(n, str)))
    records = _fetch(wanted)
    clock = Clock(now)
    results = []
    for text, number in zip(texts, parsed, strict=True):
        if isinstance(number, InvalidNumber):
            results.append({"number": text, "status": INVALID_NUMBER, "message": str(number)})
            continue
        record = records.get(number)
        if record is None:
            results.append({"number": number, "status": NOT_FOUND})
        else:
            results.append(verify_object(record, clock))
    return results


# --- The public page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What the public page shows of a certificate: the verify object and the details
    behind a suspension or revocation."""

    record: Record
    result: dict
    status: str
    status_changed_on: date | None  # in the issuing state's calendar

    @property
    def stopped(self):
        return self.status in (lifecycle.SUSPENDED, lifecycle.REVOKED)


def find(number, *, now=None):
    """The certificate with this (already parsed) number for the page, or None."""
    number = str(number)
    record = _fetch([number]).get(number)
    if record is None:
        return None
    clock = Clock(now)
    changed = record.status_changed_at
    changed_on = changed.astimezone(ZoneInfo(record.time_zone)).date() if changed else None
    return Found(record, verify_object(record, clock), clock.status(record), changed_on)


@dataclass
class TokenCheck:
    """The outcome of checking the `t` token of a QR code: is its signature one of the
    published keys', and do its claims describe the record shown?"""

    signature_valid: bool
    error: str = ""
    error_code: str = ""
    claims: dict = field(default_factory=dict)
    kid: str = ""
    mismatches: list = field(default_factory=list)
    record_found: bool = False

    @property
    def matches(self):
        return self.signature_valid and self.record_found and not self.mismatches


def check_token(token, number, record=None):
    """Check a token against the number in the address and, when found, the record.

    A token proves that an authority issued a certificate with these claims, not that it is
    in force now: the page shows the registry's status beside it.
    """
    try:
        claims = signing.verify_token(token)
    except signing.TokenInvalid as error:
        return TokenCheck(False, error=str(error), error_code=error.code)
    import jwt

    check = TokenCheck(
        True,
        claims=claims,
        kid=jwt.get_unverified_header(token.strip())["kid"],
        record_found=record is not None,
    )
    if claims.get("sub") != str(number):
        check.mismatches.append(
            _("The token is for the certificate %(other)s, not %(number)s.")
            % {"other": claims.get("sub"), "number": number}
        )
    if record is None:
        return check
    expected = [
        ("iss", record.authority_code, _("The token names another issuing state.")),
        ("hs", record.hs_code, _("The HS code in the token differs from the record.")),
        (
            "prd",
            record.product_name[: signing.NAME_LIMIT],
            _("The product name in the token differs from the record."),
        ),
        (
            "pro",
            record.producer_name[: signing.NAME_LIMIT],
            _("The producer name in the token differs from the record."),
        ),
    ]
    if not record.is_individual:
        expected.append(
            ("tin", record.tax_id, _("The producer tax id in the token differs from the record."))
        )
    for claim, value, message in expected:
        if claims.get(claim) != value:
            check.mismatches.append(message)
    if record.is_individual and "tin" in claims:
        check.mismatches.append(
            _("The token carries a tax id, but this producer's tax id is not published.")
        )
    return check
