"""A state's signed status list with 100,000 suspended and revoked certificates: how long it
takes to make, and how big it is.

    .venv/bin/python bench/status_list.py                    # SQLite in a temporary folder
    .venv/bin/python bench/status_list.py --count 20000      # a quick look
    .venv/bin/python bench/status_list.py --postgres postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/status_list.py --workdir /tmp/status-bench   # kept; loaded once

What it does:

1. migrates a throwaway database (SQLite under a temporary folder, or with ``--postgres``
   a database ``mca_bench_status`` created through that admin URL and dropped at the end);
2. loads ``--count`` stopped certificates of Uzbekistan (bulk inserts, not timed as part of
   the list): issued in 2026, 2027 and 2028 with sequence numbers drawn from 300,000 a
   year, so the numbers are sparse as in a large registry; 80% revoked, 20% suspended; the
   day of the change drawn over two years (random days are the hard case for compression:
   real changes cluster);
3. makes the list ``--runs`` times as the task does (``status_list.publish``: lock the row,
   read the certificates, encode, sign with Ed25519, store) and prints the fastest and the
   median, with the time of each step of the fastest-looking breakdown (read, encode, sign);
4. prints the size of the compact JWS in bytes and gzipped (as a proxy in front would send
   it), next to what the same entries would take as plain JSON ``[[sequence, code, day], …]``
   inside the JWS, and how long the offline check of docs/api.md (its Python, run as
   written) takes to look a number up in the list: the worst case, the last entry.

Goal (issue 17): 100,000 entries made in under 1 s. Not a test: times move with the
machine's load; run it on a quiet machine and read the median.
"""

import argparse
import base64
import gzip
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Import from the repository, not from bench/ (whose queue.py would shadow the standard
# library's queue module).
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path.pop(0)
sys.path.insert(0, str(ROOT))

DATABASE = "mca_bench_status"
COUNTRY = "UZ"
YEARS = (2026, 2027, 2028)
ISSUED_PER_YEAR = 300_000


def main():
    args = _arguments()
    kept = args.workdir is not None and not args.postgres
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mca-bench-status-"))
    admin = args.postgres
    try:
        os.environ.update(_environment(workdir, admin))
        import django

        django.setup()
        from django.core.management import call_command

        from certification.models import Certificate

        started = time.perf_counter()
        call_command("migrate", "--no-input", verbosity=0)
        print(f"migrated in {time.perf_counter() - started:.1f} s")
        loaded = Certificate.objects.filter(member_state_id=COUNTRY).count()
        if loaded:
            print(f"{workdir}: {loaded:,} stopped certificates loaded before")
        else:
            started = time.perf_counter()
            _load(args.count, random.Random(args.seed))
            took = time.perf_counter() - started
            print(f"loaded {args.count:,} stopped certificates in {took:.1f} s")
        _measure(args.runs)
    finally:
        from django.db import connections

        connections.close_all()
        if not kept:
            shutil.rmtree(workdir, ignore_errors=True)
        if admin:
            _admin_sql(admin, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--workdir", help="SQLite: keep the database in this folder and load it only once"
    )
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="PostgreSQL instead of SQLite: a role that may create databases, on loopback",
    )
    return parser.parse_args()


def _environment(workdir, admin):
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(workdir / "var"),
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "LOG_LEVEL": "WARNING",
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SIGNING_KEYS_DIR", "CACHE_URL"):
        os.environ.pop(name, None)
    if admin:
        parts = urllib.parse.urlsplit(admin)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("The benchmark runs on the loopback interface only.")
        _admin_sql(admin, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        _admin_sql(admin, f'CREATE DATABASE "{DATABASE}"')
        environment["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{DATABASE}"))
        environment["DEBUG"] = "true"  # the embedded default's keys, created on first use
    return environment


def _admin_sql(admin_url, sql):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql)


def _load(count, rng):
    """``count`` stopped certificates of one producer's product, with their applications."""
    from django.db import transaction

    from certification.models import Application, Certificate
    from tests.factories import ProducerFactory, ProductFactory, UserFactory, state

    uzbekistan = state(COUNTRY)
    user = UserFactory()
    producer = ProducerFactory(member_state=uzbekistan)
    product = ProductFactory(producer=producer)
    per_year = [count // len(YEARS) + (index < count % len(YEARS)) for index in range(3)]
    first_day = datetime(2026, 1, 1, 6, tzinfo=UTC)
    snapshot = {"name": product.name, "hs_code": product.hs_code}
    with transaction.atomic():
        for year, wanted in zip(YEARS, per_year, strict=True):
            sequences = sorted(rng.sample(range(1, ISSUED_PER_YEAR + 1), wanted))
            applications = Application.objects.bulk_create(
                [
                    Application(
                        product=product,
                        producer=producer,
                        member_state=uzbekistan,
                        status=Application.Status.APPROVED,
                        created_by=user,
                    )
                    for _ in sequences
                ],
                batch_size=5000,
            )
            Certificate.objects.bulk_create(
                [
                    _certificate(year, sequence, application, user, snapshot, first_day, rng)
                    for sequence, application in zip(sequences, applications, strict=True)
                ],
                batch_size=5000,
            )


def _certificate(year, sequence, application, user, snapshot, first_day, rng):
    from certification.core.numbering import format_number
    from certification.models import Certificate

    changed = first_day + timedelta(days=rng.randrange(730), minutes=rng.randrange(1440))
    revoked = rng.random() < 0.8
    return Certificate(
        number=format_number(COUNTRY, year, sequence),
        member_state_id=COUNTRY,
        year=year,
        sequence=sequence,
        application=application,
        producer_id=application.producer_id,
        product_id=application.product_id,
        status=Certificate.Status.REVOKED if revoked else Certificate.Status.SUSPENDED,
        status_changed_at=changed,
        status_reason="bench",
        issued_at=datetime(year, 1, 1, tzinfo=UTC),
        issued_by=user,
        valid_from=date(year, 1, 1),
        valid_until=date(year + 2, 1, 1),
        product_snapshot=snapshot,
        producer_snapshot={},
        assessment={},
        origin_criterion="CTH",
    )


def _measure(runs):
    from django.utils import timezone

    from certification.core.numbering import format_number
    from certification.verification import signing, status_list

    times = []
    for _ in range(runs):
        # Each list is dated a second after the one before: start in a new second, or
        # publish would wait for it inside the timing.
        time.sleep(1 - time.time() % 1)
        started = time.perf_counter()
        published = status_list.publish(COUNTRY)
        times.append(time.perf_counter() - started)
    token = published.token

    # One run taken apart: read, encode, sign.
    started = time.perf_counter()
    years = status_list._entries(COUNTRY)
    read = time.perf_counter() - started
    started = time.perf_counter()
    claims = status_list.claims_for(COUNTRY, years, now=timezone.now())
    encoded = time.perf_counter() - started
    started = time.perf_counter()
    signing.sign_claims(COUNTRY, claims, typ=status_list.TYP)
    signed = time.perf_counter() - started
    look_up, last = _documented_look_up(), max(status_list.decode(claims))
    number = format_number(COUNTRY, *last)
    started = time.perf_counter()
    found = look_up(number, claims)
    looked_up = time.perf_counter() - started
    assert found is not None

    plain = {**claims, "stopped": {str(y): [list(e) for e in v] for y, v in years.items()}}
    plain_bytes = json.dumps(plain, separators=(",", ":")).encode()
    plain_jws = len(token) - len(token.split(".")[1]) + len(base64.urlsafe_b64encode(plain_bytes))

    median = statistics.median(times)
    print(f"\nstatus list of {COUNTRY}: {published.entries:,} entries")
    print(
        f"  made (publish, {runs} runs): fastest {min(times) * 1000:.0f} ms, "
        f"median {median * 1000:.0f} ms   goal < 1000 ms: {'ok' if median < 1 else 'MISSED'}"
    )
    print(
        f"  of which: read {read * 1000:.0f} ms, encode {encoded * 1000:.0f} ms, "
        f"sign {signed * 1000:.0f} ms"
    )
    print(
        f"  compact JWS: {len(token):,} bytes ({len(token) / published.entries:.2f} an entry), "
        f"gzip {len(gzip.compress(token.encode())):,} bytes"
    )
    print(
        f"  as plain JSON entries it would be {plain_jws:,} bytes "
        f"(gzip {len(gzip.compress(base64.urlsafe_b64encode(plain_bytes))):,})"
    )
    print(f"  the offline check of docs/api.md finds {number} in {looked_up * 1000:.0f} ms")


def _documented_look_up():
    """`look_up` as docs/api.md writes it (its Python blocks run in one namespace)."""
    text = (ROOT / "docs" / "api.md").read_text()
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["look_up"]


if __name__ == "__main__":
    main()
