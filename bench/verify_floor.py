"""The floor of bench/verify.py: the same verification lookup with psycopg and no Django.

A raw WSGI application answering ``GET /api/v1/certificates/{number}/verify/`` with the
query of certification/verification/lookup.py and the same JSON, or 404. bench/verify.py
serves it with gunicorn as ``bench.verify_floor:floor_app`` (the database in
``BENCH_FLOOR_DSN``) next to the real API, so the ratio of the two shows what the framework
costs. Nothing here may import Django.
"""

import datetime
import json
import os
import re
import urllib.parse
from zoneinfo import ZoneInfo

import psycopg

# The lookup of certification/verification/lookup.py, spelt out for the floor (which must not
# import Django). A test keeps the two identical.
FLOOR_SQL = """
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
          FROM certification_certificate c
          JOIN registry_memberstate s ON s.code = c.member_state_id
          LEFT JOIN registry_authority a ON a.member_state_id = c.member_state_id
         WHERE c.number = %s
    """

_PATH = re.compile(r"/api/v1/certificates/([^/]+)/verify/")
_NOT_FOUND = [b'{"error": {"code": "not_found", "message": "Not found."}}']
_connection = None  # one per worker process, opened on its first request


def _status(row, zones={}):  # noqa: B006 - a per-process cache on purpose
    if row[1] == "revoked":
        return "revoked"
    if row[1] == "suspended":
        return "suspended"
    zone = zones.get(row[14]) or zones.setdefault(row[14], ZoneInfo(row[14]))
    today = datetime.datetime.now(datetime.UTC).astimezone(zone).date()
    if today < row[2]:
        return "not_yet_valid"
    if today > row[3]:
        return "expired"
    return "valid"


def floor_app(environ, start_response):
    """WSGI: GET /api/v1/certificates/{number}/verify/ -> the verify object, or 404."""
    global _connection

    match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
    if match is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return _NOT_FOUND
    if _connection is None or _connection.closed:
        # Autocommit, like Django's default; psycopg prepares the statement after 5 runs.
        _connection = psycopg.connect(os.environ["BENCH_FLOOR_DSN"], autocommit=True)
    number = urllib.parse.unquote(match.group(1)).strip().upper()
    row = _connection.execute(FLOOR_SQL, (number,)).fetchone()
    if row is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return _NOT_FOUND
    body = {
        "number": row[0],
        "status": _status(row),
        "valid_from": row[2].isoformat(),
        "valid_until": row[3].isoformat(),
        "product": {"name": row[4], "hs_code": row[5]},
        "producer": {
            "name": row[6],
            "country": row[7],
            "tax_id": None if row[9] == "individual" else row[8],
        },
        "issuing_authority": {"code": row[10], "name": row[11]},
        "origin_criterion": row[12],
        "token": row[13],
        "checked_at": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
    }
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
