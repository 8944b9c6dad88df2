"""Customs verification throughput: the Django API next to a floor measured in the same run.

    .venv/bin/python bench/verify.py                     # 1,000,000 certificates, 20 s runs
    .venv/bin/python bench/verify.py --count 100000 --duration 5   # a quick look

Needs PostgreSQL (``--admin-url``, default ``postgres://postgres@127.0.0.1:5432/postgres``,
a role allowed to create databases; superuser to skip foreign-key checks while loading) and
``wrk`` (Debian: ``apt-get install wrk``). Everything stays on the loopback interface and is
bounded in time; the servers, the temporary folder and the database are removed at the end
(``--keep`` keeps the database for another look).

What it does:

1. creates a separate database (``mca_bench``), migrates it, and loads ``--count``
   certificates with their producers, products and applications through COPY (timed; the
   target is under 60 s for 1,000,000);
2. serves the registry with gunicorn (2 sync workers) on a free loopback port, with the
   production settings: ``DEBUG`` off, persistent connections, the health check of every
   request's connection, prepared statements (``DATABASE_PREPARE_THRESHOLD``), API token
   authentication and the global throttles counting in Redis (``--cache-url``; the Redis
   database is emptied first). The throttle rates are raised because one benchmark client
   would otherwise be throttled within a second; every request still passes through both
   throttles. Their cost does not depend on the rate, except that a worker leases places
   from Redis in batches of a hundredth of the rate, at most 50: 50 here, as for a customs
   token at its production rate of 6000 a minute. A GET with a token takes the short way
   of certification.api.fastpath, as it does in production;
3. serves the floor, ``floor_app`` below, with the same gunicorn settings: a raw WSGI
   application that answers the same lookup (same query, same JSON) with psycopg and no
   Django, so the ratio shows what the framework costs on this machine today;
4. loads ``GET /api/v1/certificates/{number}/verify/`` on both with wrk (``-c32``, a Lua
   script picking random existing numbers) from a second process, after a warm-up, and
   prints requests/s, p50 and p99 for both and the ratios, and the CPU time a request
   costs in all (gunicorn workers, PostgreSQL, Redis and wrk, read from /proc): requests/s
   move with whatever else the machine runs, CPU per request much less, so its ratio tells
   what the throughput ratio would be on an otherwise idle machine;
5. times ``POST /api/v1/certificates/verify/`` with 1000 random existing numbers.

Targets (issue 6): Django >= 60% of the floor's requests/s, p99 no worse than twice the
floor's, bulk 1000 under 150 ms.

Data: every certificate has realistic snapshots of its product and producer (what
verification reads); the assessment is a trimmed one (~0.4 kB instead of ~4 kB; verification
never reads it and PostgreSQL would keep a full one compressed or out of line anyway) and
the token a placeholder of realistic length (~420 characters; signing a million tokens would
take longer than the whole load, and verification returns the token without checking it).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
STATES = ("UZ", "KZ", "KG", "TJ", "TM", "AZ")
ZONES = {
    "UZ": "Asia/Tashkent",
    "KZ": "Asia/Almaty",
    "KG": "Asia/Bishkek",
    "TJ": "Asia/Dushanbe",
    "TM": "Asia/Ashgabat",
    "AZ": "Asia/Baku",
}
YEAR = 2026
TARGET_RATIO = 0.60
TARGET_P99_FACTOR = 2.0
TARGET_BULK_MS = 150.0
TARGET_SEED_S = 60.0

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


# --- The floor: the same lookup with psycopg and no Django --------------------------------

_floor_connection = None
_FLOOR_PATH = re.compile(r"/api/v1/certificates/([^/]+)/verify/")


def _floor_status(row, zones={}):  # noqa: B006 - a per-process cache on purpose
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
    global _floor_connection
    import psycopg

    match = _FLOOR_PATH.fullmatch(environ.get("PATH_INFO", ""))
    if match is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": {"code": "not_found", "message": "Not found."}}']
    if _floor_connection is None or _floor_connection.closed:
        # Autocommit, like Django's default; psycopg prepares the statement after 5 runs.
        _floor_connection = psycopg.connect(os.environ["BENCH_FLOOR_DSN"], autocommit=True)
    number = urllib.parse.unquote(match.group(1)).strip().upper()
    row = _floor_connection.execute(FLOOR_SQL, (number,)).fetchone()
    if row is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": {"code": "not_found", "message": "Not found."}}']
    body = {
        "number": row[0],
        "status": _floor_status(row),
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


# --- Numbers -------------------------------------------------------------------------------


def _mapped(text):
    return "".join(str(ord(c) - 55) if c.isalpha() else c for c in text)


_PREFIX = {cc: int(_mapped(f"MCA{cc}{YEAR}")) for cc in STATES}


def certificate_number(index):
    """The number of the index-th bench certificate (1-based): states take turns, each with
    its own gap-free sequence, as the registry allocates them."""
    cc = STATES[(index - 1) % len(STATES)]
    sequence = (index - 1) // len(STATES) + 1
    digits = 98 - ((_PREFIX[cc] * 1_000_000 + sequence) * 100) % 97
    return f"MCA-{cc}-{YEAR}-{sequence:06d}-{digits:02d}", cc, sequence


# --- Loading -------------------------------------------------------------------------------


def _escape(value):
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _extras(model, provided):
    """[(column, value)] for the NOT NULL columns we do not provide (say, one added by a
    later migration): their model default, so that the loader keeps up with the schema."""
    from django.db.models import NOT_PROVIDED

    names = {field.column for field in model._meta.concrete_fields}
    unknown = set(provided) - names
    if unknown:
        raise SystemExit(f"{model._meta.db_table} has no columns {sorted(unknown)}.")
    extras = []
    for field in model._meta.concrete_fields:
        if field.column in provided or field.null or field.db_default is not NOT_PROVIDED:
            continue
        if not field.has_default():
            raise SystemExit(f"Do not know how to fill {model._meta.db_table}.{field.column}.")
        extras.append((field.column, field.get_default()))
    return extras


def _copy(cursor, table, columns, lines):
    """COPY the lines (an iterable of blocks of text-format rows) into table(columns)."""
    started = time.monotonic()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for block in lines:
            copy.write(block)
    _phase(f"COPY {table}", started)


def _copy_model(cursor, model, provided, lines_for):
    """COPY into a model's table; `lines_for(suffix)` yields the blocks, each row ending
    with `suffix` (the extra columns' values) and a newline."""
    extras = _extras(model, provided)
    suffix = "".join("\t" + _escape(value) for _column, value in extras)
    columns = list(provided) + [column for column, _value in extras]
    _copy(cursor, model._meta.db_table, columns, lines_for(suffix))


def _insert_select(model, provided, select, params=()):
    """(sql, params) of INSERT INTO the model's table (provided + extra columns) the rows of
    `select`, whose output list ends with `{extras}`: the extra columns' placeholders."""
    from psycopg.types.json import Jsonb

    extras = _extras(model, provided)
    columns = ", ".join(list(provided) + [column for column, _value in extras])
    values = [Jsonb(v) if isinstance(v, (dict, list)) else v for _c, v in extras]
    placeholders = "".join(", %s" for _value in values)
    sql = f"INSERT INTO {model._meta.db_table} ({columns}) {select.format(extras=placeholders)}"
    return sql, [*params, *values]


def _in_parallel(dsn, jobs, workers=2):
    """Run the jobs, lists of (label, sql, params), on `workers` connections at once (the
    load is CPU-bound in PostgreSQL: one backend per core)."""
    import threading

    import psycopg

    errors = []

    def work(queue):
        try:
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute("SET session_replication_role = replica")
                connection.execute("SET maintenance_work_mem = '256MB'")
                # As many backends as cores already: no parallel workers on top.
                connection.execute("SET max_parallel_maintenance_workers = 0")
                for label, sql, params in queue:
                    started = time.monotonic()
                    connection.execute(sql, params)
                    _phase(label, started)
        except Exception as error:  # noqa: BLE001 - reported below, in the main thread
            errors.append(error)

    queues = [jobs[index::workers] for index in range(workers)]
    threads = [threading.Thread(target=work, args=(queue,)) for queue in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _phase(what, started):
    if os.environ.get("BENCH_VERBOSE"):
        print(f"  {what}: {time.monotonic() - started:.1f} s", flush=True)


def _blocks(make_line, count, size=20_000):
    for start in range(1, count + 1, size):
        stop = min(start + size, count + 1)
        yield "".join([make_line(i) for i in range(start, stop)])


def _secondary_indexes(cursor, tables):
    """Statements to drop, and to build again, every index of the tables but the primary
    keys (which other tables' foreign keys need): plain indexes and unique constraints.
    Building an index once after the load is one sort instead of a million insertions."""
    cursor.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)",
        [list(tables)],
    )
    drops, builds = [], []
    for table, name, definition in cursor.fetchall():
        drops.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        builds.append(
            (f"unique {name}", f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        )
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [list(tables)],
    )
    for name, definition in cursor.fetchall():
        drops.append(f'DROP INDEX "{name}"')
        builds.append((f"index {name}", definition))
    return drops, builds


COMPANY_NAMES = ("Textile", "Cotton", "Silk", "Copper", "Dried Fruit", "Carpet", "Juice")
PRODUCTS = (
    ("Cotton T-shirt, knitted", "610910", "T-shirts, singlets and other vests; of cotton"),
    ("Dried apricots", "081310", "Fruit, dried; apricots"),
    ("Hand-knotted wool carpet", "570110", "Carpets; of wool or fine animal hair, knotted"),
    ("Refined copper wire 8 mm", "740811", "Copper wire; of refined copper"),
    ("Pomegranate juice", "200989", "Juice; of any single fruit n.e.c."),
)
CRITERIA = ("CTH", "CC except chapter 60", "MATERIALS_WO chapter 08", "RVC 40%")
ASSESSMENT = {
    "verdict": "PASS",
    "rule_set": {"code": "MCA-2026", "version": 1, "id": 1},
    "rule": {"scope": "6109", "level": "heading", "id": 5, "text": "CC except chapter 60"},
    "passing_alternative": 0,
    "criteria": [{"alternative": 0, "type": "CC", "text": "CC except chapter 60", "passed": 1}],
    "message": "Every non-originating material changes chapter (CC except chapter 60).",
}
# A placeholder of a real token's length (~420 characters) around the number.
TOKEN_HEAD = (
    base64.urlsafe_b64encode(b'{"alg":"EdDSA","kid":"uz-20260302-0a1b2c3d"}').rstrip(b"=").decode()
    + "."
    + "eyJpc3MiOiJVWiIsImhzIjoiNjEwOTEwIiwicHJkIjoiQ290dG9uIFQtc2hpcnQi" * 4
)
TOKEN_TAIL = "." + "S" * 86


def _producer_snapshot(p):
    cc = STATES[(p - 1) % len(STATES)]  # as are its products and their certificates
    return {
        "id": p,
        "legal_name": f"{cc} {COMPANY_NAMES[p % len(COMPANY_NAMES)]} {p} LLC",
        "trade_name": "",
        "kind": "individual" if p % 10 == 0 else "company",
        "tax_id": f"{300_000_000 + p}",
        "address": f"{p} Amir Temur Avenue",
        "member_state": cc,
    }


def _product_snapshot(p, producer):
    name, hs, hs_description = PRODUCTS[p % len(PRODUCTS)]
    return {
        "id": p,
        "name": f"{name} No. {p}",
        "description": f"{name}, as made by producer {producer}",
        "hs_code": hs,
        "hs_description": hs_description,
        "ex_works_price": "8.00",
        "currency": "USD",
        "process_steps": ["knitting", "cutting", "sewing"],
        "materials": [
            {
                "description": "Combed cotton yarn",
                "hs_code": "520522",
                "origin_country": "UZ",
                "value": "3.10",
            },
            {
                "description": "Reactive dye",
                "hs_code": "320416",
                "origin_country": "DE",
                "value": "0.40",
            },
        ],
    }


def make_unlogged(dsn):
    """Turn every table of the freshly migrated (empty) bench database UNLOGGED: PostgreSQL
    then writes no WAL for them, which halves the load. Lookups, all the benchmark measures,
    read an unlogged table exactly as a logged one. Foreign keys are dropped for the switch
    (a logged table may not reference an unlogged one) and added back, on empty tables."""
    import psycopg

    with psycopg.connect(dsn, autocommit=False) as connection:
        keys = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
        ).fetchall()
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        for table, name, _definition in keys:
            connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table in tables:
            connection.execute(f'ALTER TABLE "{table}" SET UNLOGGED')
        for table, name, definition in keys:
            connection.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def load(dsn, count, admin_ids):
    """Load `count` certificates, and the producers, products and applications they need,
    into the migrated bench database.

    The bulk goes through COPY into an unlogged staging table, one compact row per
    certificate; one INSERT ... SELECT per table then writes the real rows, joining the
    per-product snapshots, so PostgreSQL parses each snapshot (JSON) once rather than a
    million times. Foreign-key triggers are skipped (the data is consistent by
    construction) and plain indexes are built after the load.
    """
    import psycopg
    from psycopg.types.json import Jsonb

    from certification.models import Application, Certificate
    from registry.models import Producer, Product

    # Multiples of 6, so that certificate i, its product (i - 1) % products + 1 and that
    # product's producer are all in the state STATES[(i - 1) % 6].
    producers = max(6, count // 300 * 6)
    products = max(12, count // 120 * 6)
    reviewers = admin_ids["reviewers"]
    now = datetime.datetime.now(datetime.UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S+00")
    issued = f"{YEAR}-03-02 09:30:00+00"
    today = now.date()

    with psycopg.connect(dsn, autocommit=False) as connection, connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers
        cursor.execute("SET maintenance_work_mem = '256MB'")

        def producer_lines(suffix):
            def line(p):
                s = _producer_snapshot(p)
                return (
                    f"{p}\t{s['legal_name']}\t\t{s['kind']}\t{s['member_state']}\t"
                    f"{s['tax_id']}\t{s['address']}\toffice{p}@producer.example\t{stamp}"
                    f"{suffix}\n"
                )

            return _blocks(line, producers)

        _copy_model(
            cursor,
            Producer,
            [
                "id",
                "legal_name",
                "trade_name",
                "kind",
                "member_state_id",
                "tax_id",
                "address",
                "contact_email",
                "created_at",
            ],
            producer_lines,
        )

        def product_producer(p):
            return (p - 1) % producers + 1

        def product_lines(suffix):
            def line(p):
                name, hs, _description = PRODUCTS[p % len(PRODUCTS)]
                return (
                    f"{p}\t{product_producer(p)}\t{name} No. {p}\t{name}\t{hs}\t8.00\tUSD\t"
                    f'["knitting", "cutting", "sewing"]\t{stamp}\t{stamp}{suffix}\n'
                )

            return _blocks(line, products)

        _copy_model(
            cursor,
            Product,
            [
                "id",
                "producer_id",
                "name",
                "description",
                "hs_code",
                "ex_works_price",
                "currency",
                "process_steps",
                "created_at",
                "updated_at",
            ],
            product_lines,
        )

        # The snapshots each certificate of a product copies, parsed once per product.
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_snapshot (product_id int PRIMARY KEY,"
            " producer_id int, product_snapshot jsonb, producer_snapshot jsonb)"
        )

        def snapshot_line(p):
            producer = product_producer(p)
            product_json = _escape(_product_snapshot(p, producer))
            producer_json = _escape(_producer_snapshot(producer))
            return f"{p}\t{producer}\t{product_json}\t{producer_json}\n"

        _copy(
            cursor,
            "bench_snapshot",
            ["product_id", "producer_id", "product_snapshot", "producer_snapshot"],
            _blocks(snapshot_line, products),
        )

        # One compact row per certificate.
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_certificate (id int, number text, cc text,"
            " sequence int, product_id int, status text, changed timestamptz, reason text,"
            " valid_from date, valid_until date, criterion text)"
        )

        def period(start):
            return f"{start}\t{start + datetime.timedelta(days=730)}"

        # ~90% in force, 3% suspended, 2% revoked, 3% expired, 2% not yet valid.
        in_force = [period(today - datetime.timedelta(days=d)) for d in range(700)]
        expired = period(today - datetime.timedelta(days=800))
        future = period(today + datetime.timedelta(days=20))
        states = {
            **dict.fromkeys(range(3), "suspended\t2026-09-01 08:00:00+00\tInspection pending"),
            **dict.fromkeys(range(3, 5), "revoked\t2026-10-01 08:00:00+00\tOrigin not proven"),
        }
        active = "active\t\\N\t"

        def certificate_line(i):
            number, cc, sequence = certificate_number(i)
            bucket = i % 100
            if 5 <= bucket < 8:
                dates = expired
            elif 8 <= bucket < 10:
                dates = future
            else:
                dates = in_force[(i * 7919) % 700]
            p = (i - 1) % products + 1
            return (
                f"{i}\t{number}\t{cc}\t{sequence}\t{p}\t{states.get(bucket, active)}\t"
                f"{dates}\t{CRITERIA[p % len(CRITERIA)]}\n"
            )

        _copy(
            cursor,
            "bench_certificate",
            [
                "id",
                "number",
                "cc",
                "sequence",
                "product_id",
                "status",
                "changed",
                "reason",
                "valid_from",
                "valid_until",
                "criterion",
            ],
            _blocks(certificate_line, count),
        )
        reviewer_of = (
            "CASE s.cc "
            + " ".join(f"WHEN '{cc}' THEN {pk}" for cc, pk in reviewers.items())
            + " END"
        )
        tables = [Application._meta.db_table, Certificate._meta.db_table]
        drops, builds = _secondary_indexes(cursor, tables)
        for statement in drops:
            cursor.execute(statement)
        connection.commit()

    application_columns = [
        "id",
        "product_id",
        "producer_id",
        "member_state_id",
        "status",
        "created_by_id",
        "created_at",
        "updated_at",
        "submitted_at",
        "decided_at",
        "decided_by_id",
        "reviewer_id",
        "assessment_verdict",
        "last_comment",
        "override_reason",
    ]
    application_select = (
        f"SELECT s.id, s.product_id, p.producer_id, s.cc, 'approved', %s, %s, %s, %s, %s,"
        f" {reviewer_of}, {reviewer_of}, 'PASS', '', ''{{extras}}"
        " FROM bench_certificate s JOIN bench_snapshot p USING (product_id)"
    )
    certificate_columns = [
        "id",
        "number",
        "member_state_id",
        "year",
        "sequence",
        "application_id",
        "producer_id",
        "product_id",
        "status",
        "status_changed_at",
        "status_reason",
        "issued_at",
        "issued_by_id",
        "valid_from",
        "valid_until",
        "product_snapshot",
        "producer_snapshot",
        "assessment",
        "origin_criterion",
        "token",
        "key_id",
        "pdf",
        "pdf_sha256",
        "version",
    ]
    certificate_select = (
        f"SELECT s.id, s.number, s.cc, {YEAR}, s.sequence, s.id, p.producer_id,"
        f" s.product_id, s.status, s.changed, s.reason, %s, {reviewer_of},"
        " s.valid_from, s.valid_until, p.product_snapshot, p.producer_snapshot, %s,"
        " s.criterion, %s || s.number || %s, lower(s.cc) || '-20260302-0a1b2c3d',"
        " '', '', 1{extras}"
        " FROM bench_certificate s JOIN bench_snapshot p USING (product_id)"
    )
    # Each table in two halves at once: the load is CPU-bound, one backend per core.
    jobs = []
    for model, columns, select, params in (
        (
            Application,
            application_columns,
            application_select,
            [admin_ids["maker"], issued, issued, issued, issued],
        ),
        (
            Certificate,
            certificate_columns,
            certificate_select,
            [issued, Jsonb(ASSESSMENT), TOKEN_HEAD, TOKEN_TAIL],
        ),
    ):
        for parity in (0, 1):
            sql, values = _insert_select(
                model, columns, f"{select} WHERE s.id %% 2 = {parity}", params
            )
            jobs.append((f"INSERT {model._meta.db_table}, half {parity + 1}", sql, values))
    _in_parallel(dsn, jobs)
    _in_parallel(dsn, [(label, sql, ()) for label, sql in builds])
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE bench_certificate, bench_snapshot")
        for model in (Producer, Product, Application, Certificate):
            table = model._meta.db_table
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        # Counters, so that an approval in the bench database continues the sequences.
        connection.execute(
            "INSERT INTO certification_certificatecounter (member_state_id, year, last_sequence)"
            " SELECT member_state_id, year, max(sequence) FROM certification_certificate"
            " GROUP BY member_state_id, year"
        )
    _in_parallel(
        dsn,
        [
            (f"analyze {model._meta.db_table}", f"ANALYZE {model._meta.db_table}", ())
            for model in (Producer, Product, Application, Certificate)
        ],
    )


# --- Servers and load --------------------------------------------------------------------


def _free_ports(count):
    """Distinct free loopback ports (the sockets are held together, then released)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


@contextlib.contextmanager
def gunicorn(app, env, workers, port):
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        app,
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--backlog",
        "2048",
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield port, process, log
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _get(port, path, headers=None, body=None, timeout=10):
    connection = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        method = "POST" if body is not None else "GET"
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_ready(port, path, headers, process, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"The server stopped:\n{log.read().decode(errors='replace')}")
        with contextlib.suppress(OSError):
            status, body = _get(port, path, headers)
            if status == 200:
                return
            raise SystemExit(f"{path} answered {status}: {body[:500]!r}")
        time.sleep(0.2)
    raise SystemExit(f"The server on port {port} did not answer within {timeout} s.")


LUA = """
local numbers = {%(numbers)s}
local headers = {["Authorization"] = "Token %(token)s", ["Accept"] = "application/json"}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 100 + id)
end
function request()
  local number = numbers[math.random(#numbers)]
  return wrk.format("GET", "/api/v1/certificates/" .. number .. "/verify/", headers)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


# --- CPU per request -----------------------------------------------------------------------
# Requests/s depend on what else the machine is doing; the CPU time one request costs (the
# gunicorn workers, PostgreSQL, Redis and wrk itself, read from /proc) much less so. Its
# ratio is what the throughput ratio would be on an otherwise idle machine.

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid):
    """(command name, parent pid, CPU seconds) of a process from /proc, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _serving_cpu(master):
    """{pid: CPU seconds} of a gunicorn master's workers and of every PostgreSQL and Redis
    process on this machine."""
    found = {}
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if entry.name.isdigit() and (stat := _stat(entry.name)) is not None:
            name, parent, seconds = stat
            if parent == master or name.startswith(("postgres", "redis-server")):
                found[entry.name] = seconds
    return found


def run_wrk(port, script, duration, connections, threads, master=None):
    before = _serving_cpu(master) if master else {}
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = _run_wrk(port, script, duration, connections, threads)
    load_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if master:
        after = _serving_cpu(master)
        serving = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
        load = (load_after.ru_utime + load_after.ru_stime) - (
            load_before.ru_utime + load_before.ru_stime
        )
        result["cpu_ms"] = (serving + load) * 1000 / max(result["requests"], 1)
    return result


def _run_wrk(port, script, duration, connections, threads):
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=duration + 60
    )
    if result.returncode != 0 or "RESULT " not in result.stdout:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    requests, micros, status, connect, io_errors, timeouts, p50, p99 = map(int, line.split()[1:])
    return {
        "rps": requests / (micros / 1e6),
        "requests": requests,
        "non_2xx": status,
        "socket_errors": connect + io_errors + timeouts,
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
    }


# --- Main ----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="mca_bench")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per server")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a database kept by --keep (no new load)"
    )
    parser.add_argument(
        "--cache-url",
        default="redis://127.0.0.1:6379/12",
        help="the throttles' cache (CACHE_URL), Redis as in production; '' for each "
        "worker's own memory, the embedded default",
    )
    args = parser.parse_args()
    if not args.database.startswith("mca_bench"):
        raise SystemExit("The database name must start with mca_bench (it is dropped first).")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk).")
    admin = urllib.parse.urlsplit(args.admin_url)
    if admin.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("The benchmark runs on the loopback interface only.")
    dsn = urllib.parse.urlunsplit(admin._replace(path=f"/{args.database}"))

    import psycopg

    def admin_sql(sql, fetch=False):
        with psycopg.connect(args.admin_url, autocommit=True) as connection:
            rows = connection.execute(sql)
            return rows.fetchall() if fetch else None

    exists = admin_sql(
        f"SELECT 1 FROM pg_database WHERE datname = '{args.database}'",  # noqa: S608
        fetch=True,
    )
    reuse = args.reuse and exists
    if not reuse:
        admin_sql(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin_sql(f'CREATE DATABASE "{args.database}"')
    workdir = Path(tempfile.mkdtemp(prefix="mca-bench-"))
    try:
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SIGNING_KEYS_DIR": str(workdir / "keys"),
            "VAR_DIR": str(workdir / "var"),
            "THROTTLE_ADDRESS": "100000/s",
            "THROTTLE_TOKEN": "100000/s",
            "THROTTLE_CUSTOMS": "100000/s",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for name in ("CELERY_BROKER_URL", "CACHE_URL", "DATABASE_CONN_MAX_AGE"):
            env.pop(name, None)
        if args.cache_url:
            import redis

            if urllib.parse.urlsplit(args.cache_url).hostname not in ("127.0.0.1", "localhost"):
                raise SystemExit("The benchmark runs on the loopback interface only.")
            redis.Redis.from_url(args.cache_url).flushdb()  # no counts from an earlier run
            env["CACHE_URL"] = args.cache_url
        if not reuse:
            started = time.monotonic()
            subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=300,
            )
            make_unlogged(dsn)
            print(f"database {args.database}: migrated in {time.monotonic() - started:.1f} s")

        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connections

        from certification.verification import signing

        for country in STATES:
            signing.rotate_key(country)
        if reuse:
            token, count = _existing(dsn)
            print(f"database {args.database}: reused, {count:,} certificates")
        else:
            token, ids = _accounts()
            connections.close_all()
            count = args.count
            started = time.monotonic()
            load(dsn, count, ids)
            seeded = time.monotonic() - started
            print(
                f"seed: {count:,} certificates via COPY in {seeded:.1f} s "
                f"(target < {TARGET_SEED_S:.0f} s for 1,000,000)"
            )
        connections.close_all()
        measure(args, env, dsn, workdir, token, count)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.keep:
            print(f"kept the database {args.database} (--reuse runs on it again)")
        else:
            admin_sql(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


def _accounts():
    from rest_framework.authtoken.models import Token

    from registry.models import User

    def account(email, role, state=None):
        user = User(email=email, role=role, member_state_id=state, full_name=email)
        user.set_unusable_password()
        user.save()
        return user

    ids = {
        "reviewers": {
            cc: account(f"reviewer-{cc.lower()}@bench.example", "reviewer", cc).pk for cc in STATES
        },
        "maker": account("maker@bench.example", "manufacturer").pk,
    }
    customs = account("customs@bench.example", "customs", "KZ")
    return Token.objects.create(user=customs).key, ids


def _existing(dsn):
    import psycopg

    with psycopg.connect(dsn) as connection:
        (token,) = connection.execute(
            "SELECT t.key FROM authtoken_token t JOIN registry_user u ON u.id = t.user_id"
            " WHERE u.email = 'customs@bench.example'"
        ).fetchone()
        (count,) = connection.execute("SELECT max(id) FROM certification_certificate").fetchone()
    return token, count


def measure(args, env, dsn, workdir, token, count):
    sample = random.Random(7).sample(range(1, count + 1), min(20_000, count))
    numbers = [certificate_number(i)[0] for i in sample]
    script = workdir / "verify.lua"
    script.write_text(LUA % {"numbers": ",".join(f'"{n}"' for n in numbers), "token": token})
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    probe = f"/api/v1/certificates/{numbers[0]}/verify/"
    load_before = os.getloadavg()[0]
    runs = {"floor": [], "django": []}
    floor_env = {**env, "BENCH_FLOOR_DSN": dsn}
    floor_port, django_port = _free_ports(2)
    with (
        gunicorn("bench.verify:floor_app", floor_env, args.workers, floor_port) as floor,
        gunicorn("config.wsgi:application", env, args.workers, django_port) as django_,
    ):
        ports = {"floor": floor[0], "django": django_[0]}
        masters = {"floor": floor[1].pid, "django": django_[1].pid}
        for port, process, log in (floor, django_):
            wait_ready(port, probe, headers, process, log)
            run_wrk(port, script, args.warmup, args.connections, args.threads)
        # Alternate, so that a change in the machine's load touches both alike.
        for _round in range(args.rounds):
            for name in ("floor", "django"):
                runs[name].append(
                    run_wrk(
                        ports[name],
                        script,
                        args.duration,
                        args.connections,
                        args.threads,
                        master=masters[name],
                    )
                )
        bulk_result = bulk(ports["django"], headers, count)
    report(args, runs, bulk_result, (load_before, os.getloadavg()[0]))


def bulk(port, headers, count, runs=20):
    rng = random.Random(8)
    timings = []
    headers = {**headers, "Content-Type": "application/json"}
    for run in range(runs + 3):
        numbers = [certificate_number(rng.randint(1, count))[0] for _ in range(1000)]
        body = json.dumps({"numbers": numbers})
        started = time.perf_counter()
        status, data = _get(port, "/api/v1/certificates/verify/", headers, body)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            raise SystemExit(f"bulk verify answered {status}: {data[:300]!r}")
        results = json.loads(data)["results"]
        if len(results) != 1000 or any(r["status"] == "not_found" for r in results):
            raise SystemExit("bulk verify did not find every number")
        if run >= 3:  # the first runs warm the worker
            timings.append(elapsed)
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p90_ms": timings[int(len(timings) * 0.9) - 1],
        "max_ms": timings[-1],
        "runs": runs,
    }


def _combined(rounds):
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["requests"] / r["rps"] for r in rounds)
    return {
        "rps": requests / seconds,
        "requests": requests,
        "p50_ms": statistics.mean(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.mean(r["p99_ms"] for r in rounds),
        "failed": sum(r["non_2xx"] + r["socket_errors"] for r in rounds),
        "cpu_ms": sum(r["cpu_ms"] * r["requests"] for r in rounds) / max(requests, 1),
    }


def report(args, runs, bulk_result, load_average):
    cache = args.cache_url or "each worker's memory"
    print()
    print(
        f"GET /api/v1/certificates/{{number}}/verify/: wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s x {args.rounds} rounds (alternating), random "
        f"existing numbers; gunicorn {args.workers} sync workers each; throttles counting "
        f"in {cache}"
    )
    print(
        f"{'':14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'failed':>7} "
        f"{'CPU ms/req':>10}"
    )
    for index in range(args.rounds):
        for name in ("floor", "django"):
            r = runs[name][index]
            print(
                f"{name} #{index + 1:<6} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{r['requests']:9d} {r['non_2xx'] + r['socket_errors']:7d} {r['cpu_ms']:10.3f}"
            )
    floor, django_ = _combined(runs["floor"]), _combined(runs["django"])
    for name, r in (("floor", floor), ("django", django_)):
        print(
            f"{name + ' (all)':14} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['requests']:9d} {r['failed']:7d} {r['cpu_ms']:10.3f}"
        )
    ratio = django_["rps"] / floor["rps"]
    p99_factor = django_["p99_ms"] / floor["p99_ms"]

    def verdict(ok):
        return "ok" if ok else "MISSED"

    print(
        f"django/floor throughput: {ratio:.0%} (target >= {TARGET_RATIO:.0%}) "
        f"{verdict(ratio >= TARGET_RATIO)}"
    )
    print(
        f"django/floor p99: {p99_factor:.2f}x (target <= {TARGET_P99_FACTOR:.0f}x) "
        f"{verdict(p99_factor <= TARGET_P99_FACTOR)}"
    )
    print(
        f"floor/django CPU per request (servers, PostgreSQL, Redis and wrk): "
        f"{floor['cpu_ms'] / django_['cpu_ms']:.0%}, the throughput ratio to expect on an "
        "otherwise idle machine"
    )
    b = bulk_result
    print(
        f"POST /api/v1/certificates/verify/ with 1000 random existing numbers, {b['runs']} "
        f"runs: median {b['median_ms']:.1f} ms, p90 {b['p90_ms']:.1f} ms, max "
        f"{b['max_ms']:.1f} ms (target < {TARGET_BULK_MS:.0f} ms) "
        f"{verdict(b['median_ms'] < TARGET_BULK_MS)}"
    )
    print(
        f"load average (1 min) before/after the load runs: {load_average[0]:.2f} / "
        f"{load_average[1]:.2f} on {os.cpu_count()} CPUs"
    )
    if floor["failed"] or django_["failed"]:
        print("WARNING: some requests failed; the figures above are not comparable.")


if __name__ == "__main__":
    main()
