"""The data of bench/verify.py: the certificates' numbers and the load of the bench database.

``certificate_number`` gives the bench's numbers (bench/verify_measure.py picks from them);
``make_unlogged`` prepares the freshly migrated database; ``accounts`` creates the users and
the customs token in it (through Django; ``staff``, the reviewers and the manufacturer alone,
serves bench/review_queue.py too); ``load`` fills it with ``count`` certificates and
their producers, products and applications through COPY; ``kept`` reads the token and the
count back from a database kept by ``--keep``.

Data: every certificate has realistic snapshots of its product and producer (what
verification reads); the assessment is a trimmed one (~0.4 kB instead of ~4 kB; verification
never reads it and PostgreSQL would keep a full one compressed or out of line anyway) and
the token a placeholder of realistic length (~420 characters; signing a million tokens would
take longer than the whole load, and verification returns the token without checking it).
Set ``BENCH_VERBOSE=1`` to see how long each step of the load takes.
"""

import base64
import datetime
import hashlib
import json
import os
import secrets
import threading
import time

import psycopg
from psycopg.types.json import Jsonb

STATES = ("UZ", "KZ", "KG", "TJ", "TM", "AZ")
YEAR = 2026


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


# --- What the rows contain -----------------------------------------------------------------

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


# --- The database --------------------------------------------------------------------------


def make_unlogged(dsn):
    """Turn every table of the freshly migrated (empty) bench database UNLOGGED: PostgreSQL
    then writes no WAL for them, which halves the load. Lookups, all the benchmark measures,
    read an unlogged table exactly as a logged one. Foreign keys are dropped for the switch
    (a logged table may not reference an unlogged one) and added back, on empty tables."""
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


def accounts():
    """(the customs account's API token, staff()), created through Django in the empty
    bench database."""
    from django.utils import timezone

    from registry.models import ApiToken

    ids = staff()
    customs = _account("customs@bench.example", "customs", "KZ")
    key = ApiToken.new_key()
    ApiToken.objects.create(
        user=customs,
        name="bench",
        prefix=key[: ApiToken.PREFIX_LENGTH],
        digest=ApiToken.digest_of(key),
        expires_at=timezone.now() + datetime.timedelta(days=365),
    )
    return key, ids


def staff():
    """{"reviewers": {state: id}, "maker": id}: a reviewer of every state and a
    manufacturer, created through Django in the empty bench database."""
    return {
        "reviewers": {
            cc: _account(f"reviewer-{cc.lower()}@bench.example", "reviewer", cc).pk for cc in STATES
        },
        "maker": _account("maker@bench.example", "manufacturer").pk,
    }


def _account(email, role, state=None):
    from registry.models import User

    user = User(email=email, role=role, member_state_id=state, full_name=email)
    user.set_unusable_password()
    user.save()
    return user


def kept(dsn):
    """(a new customs token, the number of certificates) of a database loaded before. Tokens
    are kept as their SHA-256 only, so each run adds one and uses its key."""
    token = "mca_" + secrets.token_urlsafe(32)
    with psycopg.connect(dsn) as connection:
        connection.execute(
            "INSERT INTO registry_apitoken (user_id, name, prefix, digest, created_at, expires_at)"
            " SELECT id, 'bench', %s, %s, now(), now() + interval '1 year' FROM registry_user"
            " WHERE email = 'customs@bench.example'",
            [token[:12], hashlib.sha256(token.encode()).hexdigest()],
        )
        (count,) = connection.execute("SELECT max(id) FROM certification_certificate").fetchone()
    return token, count


# --- Loading -------------------------------------------------------------------------------


def load(dsn, count, admin_ids):
    """Load `count` certificates, and the producers, products and applications they need,
    into the migrated bench database.

    Producers and products go in through COPY; so do, into unlogged staging tables, one
    compact row per certificate and the snapshots per product. One INSERT ... SELECT per
    table (each in two halves at once) then writes the applications and certificates,
    joining the per-product snapshots, so PostgreSQL parses each snapshot (JSON) once rather
    than a million times. Foreign-key triggers are skipped (the data is consistent by
    construction) and secondary indexes are built after the load.
    """
    from certification.models import Application, Certificate
    from registry.models import Producer, Product

    # Multiples of 6, so that certificate i, its product (i - 1) % products + 1 and that
    # product's producer are all in the state STATES[(i - 1) % 6].
    producers = max(6, count // 300 * 6)
    products = max(12, count // 120 * 6)
    now = datetime.datetime.now(datetime.UTC)

    with psycopg.connect(dsn, autocommit=False) as connection, connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers
        cursor.execute("SET maintenance_work_mem = '256MB'")
        _copy_registry(cursor, producers, products, now.strftime("%Y-%m-%d %H:%M:%S+00"))
        _stage(cursor, count, producers, products, now.date())
        drops, builds = _secondary_indexes(
            cursor, [Application._meta.db_table, Certificate._meta.db_table]
        )
        for statement in drops:
            cursor.execute(statement)
        connection.commit()

    _in_parallel(dsn, _insert_jobs(admin_ids))
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


def _product_producer(p, producers):
    return (p - 1) % producers + 1


def _copy_registry(cursor, producers, products, stamp):
    """COPY the producers and the products."""
    from registry.models import Producer, Product

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

    def product_lines(suffix):
        def line(p):
            name, hs, _description = PRODUCTS[p % len(PRODUCTS)]
            return (
                f"{p}\t{_product_producer(p, producers)}\t{name} No. {p}\t{name}\t{hs}\t8.00\t"
                f'USD\t["knitting", "cutting", "sewing"]\t{stamp}\t{stamp}{suffix}\n'
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


def _stage(cursor, count, producers, products, today):
    """COPY into two unlogged staging tables: bench_snapshot, the snapshots every
    certificate of a product copies (parsed once per product), and bench_certificate, one
    compact row per certificate."""
    cursor.execute(
        "CREATE UNLOGGED TABLE bench_snapshot (product_id int PRIMARY KEY,"
        " producer_id int, product_snapshot jsonb, producer_snapshot jsonb)"
    )

    def snapshot_line(p):
        producer = _product_producer(p, producers)
        product_json = _escape(_product_snapshot(p, producer))
        producer_json = _escape(_producer_snapshot(producer))
        return f"{p}\t{producer}\t{product_json}\t{producer_json}\n"

    _copy(
        cursor,
        "bench_snapshot",
        ["product_id", "producer_id", "product_snapshot", "producer_snapshot"],
        _blocks(snapshot_line, products),
    )

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


def _insert_jobs(admin_ids):
    """The INSERT ... SELECTs that write the applications and certificates from the staging
    tables: each table in two halves, to run at once (the load is CPU-bound in PostgreSQL,
    one backend per core)."""
    from certification.models import Application, Certificate

    issued = f"{YEAR}-03-02 09:30:00+00"
    reviewer_of = (
        "CASE s.cc "
        + " ".join(f"WHEN '{cc}' THEN {pk}" for cc, pk in admin_ids["reviewers"].items())
        + " END"
    )
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
    return jobs


# --- COPY and SQL helpers ------------------------------------------------------------------


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
    extras = _extras(model, provided)
    columns = ", ".join(list(provided) + [column for column, _value in extras])
    values = [Jsonb(v) if isinstance(v, (dict, list)) else v for _c, v in extras]
    placeholders = "".join(", %s" for _value in values)
    sql = f"INSERT INTO {model._meta.db_table} ({columns}) {select.format(extras=placeholders)}"
    return sql, [*params, *values]


def _in_parallel(dsn, jobs, workers=2):
    """Run the jobs, lists of (label, sql, params), on `workers` connections at once (the
    load is CPU-bound in PostgreSQL: one backend per core)."""
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
