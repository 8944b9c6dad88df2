"""Signed status lists (docs/api.md): for each member state, which of its certificates are
suspended or revoked, and since which day, in one compact JWS signed with the state's active
key. A certificate's token proves that it was issued; the list, younger than its ``exp``,
says whether it still stands, so a border post can decide without a network.

Served at ``/.well-known/mca-status/{CC}.jws`` from the state's StatusList row, which is
made again after every suspension, reinstatement or revocation commits (the task is queued
by name, certification/core/queueing.py), every hour by beat, and by the first request that
finds it stale (beat down) or missing.

The claims::

    {"iss": "UZ", "iat": 1774000000, "exp": 1774086400, "count": 2,
     "stopped": {"2026": "eJxjYGBgZGBgYmJg..."}}

``stopped`` has one member per year of issue that has any stopped certificate: the
base64url (no padding) of the zlib (RFC 1950) compression of three columns over its
``n`` entries, in the order of their sequence numbers:

- ``n`` × unsigned 32-bit big-endian: each sequence number minus the previous one (the
  first minus 0);
- ``n`` × unsigned 8-bit: the status, 1 suspended, 2 revoked;
- ``n`` × unsigned 16-bit big-endian: the day since which, in the issuing state's
  calendar, as days since 1970-01-01.

Seven bytes an entry before compression; the differences of sorted numbers are small and
compress well, so 100,000 entries fit in a few hundred kilobytes (bench/status_list.py). The
JWS header's ``typ`` is ``mca-status-list+jwt``, so a list is never taken for a certificate
token nor a token for a list.
"""

import base64
import hashlib
import logging
import sys
import zlib
from array import array
from datetime import date, datetime, timedelta
from time import sleep
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from certification.core import queueing
from certification.core.numbering import MEMBER_STATES
from certification.models import Certificate, StatusList
from certification.verification import signing
from registry.models import MemberState

logger = logging.getLogger(__name__)

TYP = "mca-status-list+jwt"
CODES = {Certificate.Status.SUSPENDED: 1, Certificate.Status.REVOKED: 2}
STATUSES = {code: status for status, code in CODES.items()}
EPOCH = date(1970, 1, 1)
# Beat makes every list again each hour; a request finding one older than this (beat is
# down) makes it itself.
REFRESH = timedelta(hours=2)
COMPRESSION_LEVEL = 6  # 9 is ~4x slower for ~2% less
assert array("I").itemsize == 4 and array("H").itemsize == 2  # the columns' widths


def _column(typecode, values):
    column = array(typecode, values)
    if sys.byteorder == "little":
        column.byteswap()  # the format is big-endian
    return column.tobytes()


def encode_year(entries) -> str:
    """The text of one year: ``entries`` are (sequence, code, day) sorted by sequence,
    ``day`` counted from 1970-01-01."""
    steps, codes, days, previous = [], bytearray(), [], 0
    for sequence, code, day in entries:
        steps.append(sequence - previous)
        codes.append(code)
        days.append(day)
        previous = sequence
    data = _column("I", steps) + bytes(codes) + _column("H", days)
    packed = zlib.compress(data, COMPRESSION_LEVEL)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_year(text: str) -> dict:
    """{sequence: (status, day)} of one year's text: the reverse of encode_year."""
    data = zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    count = len(data) // 7
    steps, days = array("I"), array("H")
    steps.frombytes(data[: 4 * count])
    days.frombytes(data[5 * count :])
    if sys.byteorder == "little":
        steps.byteswap()
        days.byteswap()
    codes = data[4 * count : 5 * count]
    found, sequence = {}, 0
    for step, code, day in zip(steps, codes, days, strict=True):
        sequence += step
        found[sequence] = (STATUSES[code], EPOCH + timedelta(days=day))
    return found


def decode(claims: dict) -> dict:
    """{(year, sequence): (status, day)} of a list's claims (tests, bench)."""
    return {
        (int(year), sequence): entry
        for year, text in claims["stopped"].items()
        for sequence, entry in decode_year(text).items()
    }


def _stopped_sql(vendor):
    """The state's stopped certificates in the order of their numbers, the moment of the
    change in Unix seconds. Plain SQL rather than the ORM, whose datetime conversion costs
    more than everything else together for 100,000 rows; it reads only the partial index
    certificate_stopped, which holds every column named here."""
    if vendor == "postgresql":
        changed = "CAST(EXTRACT(EPOCH FROM status_changed_at) AS BIGINT)"
    else:  # SQLite keeps UTC as text
        changed = "CAST(strftime('%%s', status_changed_at) AS INTEGER)"
    return f"""
        SELECT year, sequence, status, {changed}
          FROM {Certificate._meta.db_table}
         WHERE member_state_id = %s AND NOT (status = 'active')
         ORDER BY year, sequence
    """  # noqa: S608 - the table name comes from the model, the state is a parameter


def _day_of(zone):
    """Unix seconds -> days since 1970-01-01 in ``zone``'s calendar, looking the zone's
    offset up once per hour of time (ZoneInfo costs microseconds a call; 100,000 changes
    fall in far fewer hours). An hour in which the offset changes is worked out exactly."""
    offsets = {}

    def offset_at(seconds):
        return int(datetime.fromtimestamp(seconds, zone).utcoffset().total_seconds())

    def day(seconds):
        hour = seconds // 3600
        if hour not in offsets:
            start, end = offset_at(hour * 3600), offset_at(hour * 3600 + 3599)
            offsets[hour] = start if start == end else None
        offset = offsets[hour]
        if offset is None:
            offset = offset_at(seconds)
        return (seconds + offset) // 86400

    return day


def _entries(country):
    """{year: [(sequence, code, day), ...]} of the state's stopped certificates, in the order
    of their numbers; the day is that of the last status change in the state's calendar
    (0, 1970-01-01, if the change has no time: never for a change made by the registry)."""
    zone = ZoneInfo(MemberState.objects.values_list("time_zone", flat=True).get(code=country))
    day_of = _day_of(zone)
    with connection.cursor() as cursor:
        cursor.execute(_stopped_sql(connection.vendor), [country])
        rows = cursor.fetchall()
    years = {}
    for year, sequence, status, changed in rows:
        day = 0 if changed is None else day_of(int(changed))
        years.setdefault(year, []).append((sequence, CODES[status], day))
    return years


def claims_for(country, years, *, now) -> dict:
    issued = int(now.timestamp())
    return {
        "iss": country,
        "iat": issued,
        "exp": issued + settings.STATUS_LIST_VALID_HOURS * 3600,
        "count": sum(len(entries) for entries in years.values()),
        "stopped": {str(year): encode_year(entries) for year, entries in sorted(years.items())},
    }


def etag_of(token: str) -> str:
    return f'"{hashlib.sha256(token.encode("ascii")).hexdigest()[:32]}"'


def _moment_after(previous):
    """Now in whole seconds (as ``iat`` and Last-Modified say it), later than ``previous``,
    the stored list's moment: when a list was already made in this second, wait for the
    next one. Two lists of one second would share their Last-Modified, and a client sending
    only If-Modified-Since would be answered 304 for the newer list and miss what changed.
    Waiting rather than dating the list ahead keeps ``iat`` in the past (PyJWT refuses a
    token issued in the future); a clock set back is not waited for beyond a second."""
    now = timezone.now()
    if previous is not None:
        wanted = previous + timedelta(seconds=1)
        if now < wanted:
            sleep(min((wanted - now).total_seconds(), 1.0))
            now = max(timezone.now(), wanted)
    return now.replace(microsecond=0)


def publish(country, *, fresh_after=None) -> StatusList:
    """Make the state's list from the certificates as committed now, sign and store it.

    The state's row is locked before the certificates are read, so concurrent runs take
    turns and the last one stored has read after the last change committed; each list is
    dated at least a second after the one before. With ``fresh_after``, a list made since
    that moment (by whoever held the lock before) is kept as it is."""
    with transaction.atomic():
        row, _created = StatusList.objects.select_for_update().get_or_create(
            member_state_id=country
        )
        if fresh_after is not None and row.token and row.issued_at >= fresh_after:
            return row
        now = _moment_after(row.issued_at if row.token else None)
        claims = claims_for(country, _entries(country), now=now)
        row.token = signing.sign_claims(country, claims, typ=TYP)
        row.etag = etag_of(row.token)
        row.entries = claims["count"]
        row.issued_at = now
        row.save()
    return row


class NotPublished(Exception):
    """Some states' lists could not be made; the others were."""


def publish_all() -> dict:
    """Every state's list made again (beat, hourly): {state: entries}. One state's failure
    (its key missing, say) does not keep the others' lists from being renewed: each failure
    is logged with its traceback, and NotPublished names them once every state was tried."""
    made, failed = {}, []
    for country in MEMBER_STATES:
        try:
            made[country] = publish(country).entries
        except Exception:  # noqa: BLE001 - logged here, raised below once all were tried
            logger.exception("The status list of %s could not be made.", country)
            failed.append(country)
    if failed:
        raise NotPublished(
            f"The status lists of {', '.join(failed)} could not be made (see the log); "
            f"those of {', '.join(made) or 'no other state'} were."
        )
    return made


def current(country, *, now=None) -> StatusList:
    """The stored list to serve; made here when there is none yet or it is stale (older
    than REFRESH, or past half its validity when that is shorter). Served as stored, its
    ``token`` (hundreds of kilobytes for a large list) is not read: a 304 needs only the
    ``etag`` and ``issued_at``; reading ``row.token`` loads it. ``country`` is a member
    state's code (the view answers 404 to any other)."""
    now = now or timezone.now()
    lifetime = timedelta(hours=settings.STATUS_LIST_VALID_HOURS)
    fresh_after = now - min(REFRESH, lifetime / 2)
    row = StatusList.objects.defer("token").filter(member_state_id=country).first()
    if row is not None and row.etag and row.issued_at >= fresh_after:
        return row
    return publish(country, fresh_after=fresh_after)


def queue_publish(country) -> None:
    """Queue the state's list to be made again; called when a status change commits."""
    queueing.queue(queueing.PUBLISH_STATUS_LIST, [country])
