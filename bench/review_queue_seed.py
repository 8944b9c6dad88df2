"""The data of bench/review_queue.py: 100,000 applications the way a registry two years old holds
them, loaded through COPY.

``catalogue`` builds the products applied for: every product of the demo data
(registry/demo.py: 17 products, 9 HS chapters, some failing the origin check), each with
the assessment the real origin engine gives it under the rule set in force and its HS
description, so the snapshots the pages read are the real thing (an assessment is 1.5 to
4.5 kB). ``application_rows`` decides, without a database, each application's state, product,
status and dates; ``event_rows`` and ``document_rows`` the audit events and supporting
documents that follow from them (the application's page reads both). ``load`` writes them
all, with the producers and products, into the migrated bench database.

The mix (``STATUS_SHARES``): most applications are decided, about 15% wait (submitted or
under review: some 2,500 a state for 100,000), a few have changes requested, are withdrawn
or are still drafts (which reviewers never see). Decided ones were submitted over the last
two years, waiting ones over the last 90 to 120 days. Audit hashes are placeholders (unique,
chained, not computed: ``manage.py verify_audit_chain`` would reject them; the pages never
check them) and the documents have no files (the pages list them, never open them).
"""

import datetime
import itertools
import json
import random
import time
from decimal import Decimal

import psycopg

from bench.verify_seed import (
    STATES,
    _copy_model,
    _escape,
    _in_parallel,
    _phase,
    _producer_snapshot,
    _secondary_indexes,
)

# (status, share of all applications). Drafts have never been submitted: reviewers do not
# see them. Withdrawn ones were submitted first.
STATUS_SHARES = (
    ("draft", 0.02),
    ("submitted", 0.09),
    ("under_review", 0.06),
    ("changes_requested", 0.03),
    ("withdrawn", 0.02),
    ("rejected", 0.08),
    ("approved", 0.70),
)
# Days before now within which each status's applications were submitted (low, high).
SUBMITTED_DAYS = {
    "submitted": (0, 90),
    "under_review": (2, 120),
    "changes_requested": (7, 180),
    "withdrawn": (10, 730),
    "rejected": (20, 730),
    "approved": (20, 730),
}
DECIDED = ("approved", "rejected")
REVIEWED = ("under_review", "changes_requested", *DECIDED)
APPLICATIONS_PER_PRODUCT = 2
PRODUCTS_PER_PRODUCER = 12
MAKER_EMAIL = "maker@bench.example"
# The emails of bench/verify_seed.py's accounts, by state.
REVIEWER_EMAIL = {cc: f"reviewer-{cc.lower()}@bench.example" for cc in STATES}
COMMENTS = {
    "changes_requested": "Please add the supplier's declaration for the imported materials.",
    "rejected": "The bill of materials does not support the origin claimed.",
    "approved": "",
}
OVERRIDE = "Supplier's declarations show the imported material is below the tolerance."


def catalogue():
    """The products applied for: each product of registry/demo.py with its real
    assessment (a dict) and verdict under the rule set in force and its HS description.
    Needs Django set up on a migrated database (the rule set and the nomenclature)."""
    from registry import origin
    from registry.demo import PRODUCERS
    from registry.models import HSCode
    from registry.selectors import rule_set_in_force

    rule_set = rule_set_in_force()
    entries = []
    for *_producer, products in PRODUCERS:
        for name, hs, price, currency, steps, materials in products:
            product = origin.ProductInput(
                hs_code=hs,
                ex_works_price=Decimal(price),
                process_steps=tuple(steps),
                materials=tuple(
                    origin.MaterialInput(description, m_hs, country, Decimal(value))
                    for description, m_hs, country, value in materials
                ),
            )
            assessment = origin.assess(product, rule_set).as_dict()
            entries.append(
                {
                    "name": name,
                    "hs_code": hs,
                    "hs_description": HSCode.objects.filter(code=hs)
                    .values_list("description", flat=True)
                    .first()
                    or "",
                    "ex_works_price": price,
                    "currency": currency,
                    "process_steps": list(steps),
                    "materials": [
                        {
                            "description": description,
                            "hs_code": m_hs,
                            "origin_country": country,
                            "value": value,
                        }
                        for description, m_hs, country, value in materials
                    ],
                    "assessment": assessment,
                    "verdict": assessment["verdict"],
                }
            )
    return entries


def chapters(entries):
    """The HS chapters of the catalogue, sorted."""
    return sorted({entry["hs_code"][:2] for entry in entries})


# --- The rows, without a database ----------------------------------------------------------


def sizes(count):
    """(producers, products) for `count` applications: multiples of 6, so that application
    i, its product (i - 1) % products + 1 and that product's producer
    (p - 1) % producers + 1 are all in the state STATES[(i - 1) % 6]."""
    products = max(6, count // APPLICATIONS_PER_PRODUCT // 6 * 6)
    producers = max(6, products // PRODUCTS_PER_PRODUCER // 6 * 6)
    return producers, products


def product_entry(p, entries):
    """The catalogue entry product p is an instance of."""
    return entries[p % len(entries)]


def product_snapshot(p, entries):
    """The product as the application snapshots it at submission (services._product_snapshot)."""
    entry = product_entry(p, entries)
    return {
        "id": p,
        "name": f"{entry['name']} No. {p}",
        "description": f"{entry['name']}, batch series {p}",
        "hs_code": entry["hs_code"],
        "hs_description": entry["hs_description"],
        "ex_works_price": entry["ex_works_price"],
        "currency": entry["currency"],
        "process_steps": entry["process_steps"],
        "materials": entry["materials"],
    }


def application_rows(count, now, seed=2026):
    """One dict per application, ids 1..count, in order: id, state, product, producer,
    status, created_at, submitted_at (None for drafts), decided_at (decided ones),
    reviewed (a reviewer took it). Deterministic for a seed."""
    producers, products = sizes(count)
    rng = random.Random(seed)
    thresholds, total = [], 0.0
    for status, share in STATUS_SHARES:
        total += share
        thresholds.append((total, status))
    day = datetime.timedelta(days=1)
    for i in range(1, count + 1):
        draw = rng.random() * total
        status = next(s for limit, s in thresholds if draw < limit)
        p = (i - 1) % products + 1
        if status == "draft":
            submitted = None
            created = now - rng.uniform(0, 60) * day
        else:
            low, high = SUBMITTED_DAYS[status]
            submitted = now - rng.uniform(low, high) * day
            created = submitted - rng.uniform(0, 10) * day
        decided = None
        if status in DECIDED:
            decided = min(submitted + rng.uniform(3, 45) * day, now - 0.1 * day)
        yield {
            "id": i,
            "state": STATES[(i - 1) % len(STATES)],
            "product": p,
            "producer": (p - 1) % producers + 1,
            "status": status,
            "created_at": created,
            "submitted_at": submitted,
            "decided_at": decided,
            "reviewed": status in REVIEWED,
        }


def _review_started(row):
    """When the reviewer took the application: a day after submission, before the
    decision."""
    started = row["submitted_at"] + datetime.timedelta(days=1)
    return min(started, row["decided_at"] or started)


def _event(row, action, at, actor, before, after, comment="", data=None):
    return {
        "target_id": str(row["id"]),
        "action": action,
        "created_at": at,
        "actor": actor,
        "from_state": before,
        "to_state": after,
        "comment": comment,
        "data": data or {},
    }


def event_rows(rows, entries):
    """The audit events of the applications (dicts with the AuditEvent's fields but id,
    hashes and actor ids): created, submitted, review started, and what came of it."""
    for row in rows:
        yield _event(row, "application.created", row["created_at"], MAKER_EMAIL, "", "draft")
        if row["submitted_at"] is None:
            continue
        entry = product_entry(row["product"], entries)
        rule = {"rule_set": entry["assessment"]["rule_set"]}
        rule["rule"] = entry["assessment"]["rule"]["scope"]
        yield _event(
            row,
            "application.submitted",
            row["submitted_at"],
            MAKER_EMAIL,
            "draft",
            "submitted",
            data={"verdict": entry["verdict"], **rule},
        )
        status, reviewer = row["status"], REVIEWER_EMAIL[row["state"]]
        if status == "withdrawn":
            yield _event(
                row, "application.withdrawn", row["submitted_at"], MAKER_EMAIL, "submitted", status
            )
        elif row["reviewed"]:
            started = _review_started(row)
            yield _event(
                row, "application.review_started", started, reviewer, "submitted", "under_review"
            )
            if status != "under_review":
                yield _event(
                    row,
                    f"application.{status}",
                    row["decided_at"] or started + datetime.timedelta(days=2),
                    reviewer,
                    "under_review",
                    status,
                    comment=COMMENTS[status],
                    data={"against_verdict": _against_verdict(status, entry["verdict"])},
                )


def document_rows(rows):
    """(application id, original name, uploaded at) of the supporting documents: one or
    two for every submitted application."""
    for row in rows:
        if row["submitted_at"] is None:
            continue
        yield row["id"], "invoice.pdf", row["submitted_at"]
        if row["id"] % 3:
            yield row["id"], "suppliers-declaration.pdf", row["submitted_at"]


def _against_verdict(status, verdict):
    return (status == "approved" and verdict != "PASS") or (
        status == "rejected" and verdict == "PASS"
    )


# --- Loading -------------------------------------------------------------------------------


def load(dsn, count, admin_ids, entries, now):
    """Load `count` applications with their producers, products, audit events and
    documents into the migrated bench database (FK triggers off, secondary indexes built
    after the load, then VACUUM ANALYZE so that plans and index-only scans are those of a
    database in service)."""
    from certification.models import Application, ApplicationDocument, AuditEvent

    tables = [m._meta.db_table for m in (Application, ApplicationDocument, AuditEvent)]
    rows = list(application_rows(count, now))
    with psycopg.connect(dsn, autocommit=False) as connection, connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers
        drops, builds = _secondary_indexes(cursor, tables)
        for statement in drops:
            cursor.execute(statement)
        _copy_registry(cursor, count, entries, now - datetime.timedelta(days=800))
        assessments = {entry["name"]: json.dumps(entry["assessment"]) for entry in entries}
        _copy_rows(
            cursor,
            Application,
            (application_record(row, admin_ids, entries, assessments) for row in rows),
        )
        last_hash = _copy_events(cursor, rows, admin_ids, entries)
        _copy_documents(cursor, rows, admin_ids["maker"])
        cursor.execute(
            "INSERT INTO certification_auditchainhead (id, last_hash) VALUES (1, %s)"
            " ON CONFLICT (id) DO UPDATE SET last_hash = EXCLUDED.last_hash",
            [last_hash],
        )
        connection.commit()
    _in_parallel(dsn, [(label, sql, ()) for label, sql in builds])
    with psycopg.connect(dsn, autocommit=True) as connection:
        for table in ["registry_producer", "registry_product", *tables]:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
            started = time.monotonic()
            connection.execute(f"VACUUM (ANALYZE) {table}")
            _phase(f"VACUUM ANALYZE {table}", started)
    return rows


def _copy_rows(cursor, model, rows, block=5_000):
    """COPY `rows`, dicts of column -> value (the same columns in each, in order), into the
    model's table, `block` rows at a time."""
    rows = iter(rows)
    first = next(rows)
    columns = list(first)

    def lines(suffix):
        chunk = []
        for row in itertools.chain([first], rows):
            chunk.append("\t".join([_escape(row[column]) for column in columns]) + suffix + "\n")
            if len(chunk) == block:
                yield "".join(chunk)
                chunk = []
        yield "".join(chunk)

    _copy_model(cursor, model, columns, lines)


def _copy_registry(cursor, count, entries, stamp):
    """COPY the producers (verified, as a producer with a decided application is) and the
    products."""
    from registry.models import Producer, Product

    producers, products = sizes(count)
    fields = ("legal_name", "trade_name", "kind", "tax_id", "address")
    _copy_rows(
        cursor,
        Producer,
        (
            {"id": q, "member_state_id": s["member_state"], **{f: s[f] for f in fields}}
            | {"contact_email": f"office{q}@producer.example"}
            | {"created_at": stamp, "verified_at": stamp}
            for q, s in ((q, _producer_snapshot(q)) for q in range(1, producers + 1))
        ),
    )
    fields = ("name", "description", "hs_code", "ex_works_price", "currency", "process_steps")
    _copy_rows(
        cursor,
        Product,
        (
            {"id": p, "producer_id": (p - 1) % producers + 1, **{f: s[f] for f in fields}}
            | {"created_at": stamp, "updated_at": stamp}
            for p, s in ((p, product_snapshot(p, entries)) for p in range(1, products + 1))
        ),
    )


def application_record(row, admin_ids, entries, assessments):
    """The application's columns and values (a dict) of an application row; `assessments`
    holds each catalogue entry's assessment as JSON text, made once."""
    entry = product_entry(row["product"], entries)
    reviewer = admin_ids["reviewers"][row["state"]] if row["reviewed"] else None
    status, submitted = row["status"], row["submitted_at"]
    verdict = entry["verdict"] if submitted else ""
    return {
        "id": row["id"],
        "product_id": row["product"],
        "producer_id": row["producer"],
        "member_state_id": row["state"],
        "status": status,
        "created_by_id": admin_ids["maker"],
        "created_at": row["created_at"],
        "updated_at": row["decided_at"] or submitted or row["created_at"],
        "submitted_at": submitted,
        "decided_at": row["decided_at"],
        "decided_by_id": reviewer if status in DECIDED else None,
        "reviewer_id": reviewer,
        # Snapshots are taken at submission: drafts have none.
        "assessment": assessments[entry["name"]] if submitted else None,
        "assessment_verdict": verdict,
        "product_snapshot": product_snapshot(row["product"], entries) if submitted else None,
        "last_comment": COMMENTS.get(status, ""),
        "override_reason": OVERRIDE if _against_verdict(status, verdict) else "",
    }


def _copy_events(cursor, rows, admin_ids, entries):
    """COPY the audit events; returns the last (placeholder) hash, for the chain head."""
    from certification.models import AuditEvent

    ids = {MAKER_EMAIL: admin_ids["maker"]} | {
        REVIEWER_EMAIL[cc]: pk for cc, pk in admin_ids["reviewers"].items()
    }
    n = 0

    def events():
        nonlocal n
        for event in event_rows(rows, entries):
            n += 1
            actor = event.pop("actor")
            yield {"id": n, "actor_id": ids[actor], "actor_label": actor, **event} | {
                "target_type": "application",
                "prev_hash": f"{n - 1:064x}",
                "hash": f"{n:064x}",
            }

    _copy_rows(cursor, AuditEvent, events())
    return f"{n:064x}"


def _copy_documents(cursor, rows, maker):
    from certification.models import ApplicationDocument

    def documents():
        for n, (application, name, at) in enumerate(document_rows(rows), start=1):
            yield {
                "id": n,
                "application_id": application,
                "file": f"applications/{application}/{n:064x}.pdf",
                "original_name": name,
                "content_type": "application/pdf",
                "size": 180_000 + n % 90_000,
                "sha256": f"{n:064x}",
                "uploaded_by_id": maker,
                "uploaded_at": at,
            }

    _copy_rows(cursor, ApplicationDocument, documents())


def waiting_sample(dsn, per_state, seed=0.26):
    """{state: [application id, ...]}: `per_state` random waiting applications of each
    state (whose pages a reviewer opens)."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("SELECT setseed(%s)", [seed])
        found = {}
        for cc in STATES:
            found[cc] = [
                pk
                for (pk,) in connection.execute(
                    "SELECT id FROM certification_application WHERE member_state_id = %s"
                    " AND status IN ('submitted', 'under_review') ORDER BY random() LIMIT %s",
                    [cc, per_state],
                )
            ]
    return found
