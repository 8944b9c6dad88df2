"""Customs verification throughput: the Django API next to a floor measured in the same run.

    .venv/bin/python bench/verify.py                     # 1,000,000 certificates, 20 s runs
    .venv/bin/python bench/verify.py --count 100000 --duration 5   # a quick look

Needs PostgreSQL (``--admin-url``, default ``postgres://postgres@127.0.0.1:5432/postgres``,
a role allowed to create databases; superuser to skip foreign-key checks while loading) and
``wrk`` (Debian: ``apt-get install wrk``). Everything stays on the loopback interface and is
bounded in time; the servers, the temporary folder and the database are removed at the end
(``--keep`` keeps the database for another look, ``--reuse`` runs on it again).

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
3. serves the floor with the same gunicorn settings: a raw WSGI application that answers
   the same lookup (same query, same JSON) with psycopg and no Django, so the ratio shows
   what the framework costs on this machine today;
4. loads ``GET /api/v1/certificates/{number}/verify/`` on both with wrk (``-c32``, a Lua
   script picking random existing numbers) from a second process, after a warm-up, and
   prints requests/s, p50 and p99 for both and the ratios, and the CPU time a request
   costs in all (gunicorn workers, PostgreSQL, Redis and wrk, read from /proc): requests/s
   move with whatever else the machine runs, CPU per request much less, so its ratio tells
   what the throughput ratio would be on an otherwise idle machine;
5. times ``POST /api/v1/certificates/verify/`` with 1000 random existing numbers.

Targets (issue 6): Django >= 60% of the floor's requests/s, p99 no worse than twice the
floor's, bulk 1000 under 150 ms. Reading the printout: one row per server and round, then
both rounds together ("(all)"), then each ratio with its target and ok or MISSED. When the
load average shows the machine busy with other work, the throughput ratio moves from run to
run; the CPU-per-request ratio much less.

This file is the command and the order of things (the database, the servers' environment,
Django in this process); the rest is in its own module:

- bench/verify_seed.py: the certificates' numbers and the load through COPY;
- bench/verify_floor.py: the floor, the psycopg-only WSGI application;
- bench/verify_measure.py: the servers, the wrk runs, CPU per request and the bulk timing;
- bench/verify_report.py: the targets and the printout.

The database's life (``bench_database``), ``manage``, ``setup_django``, the servers'
environment and the common options (``bench_arguments``) serve bench/review_queue.py too.
"""

import argparse
import base64
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.verify_measure import measure  # noqa: E402
from bench.verify_report import report, report_seed  # noqa: E402
from bench.verify_seed import STATES, accounts, kept, load, make_unlogged  # noqa: E402


def main():
    args = _arguments()
    with bench_database(args) as (dsn, reuse, workdir):
        env = _server_env(args, dsn, workdir)
        if not reuse:
            started = time.monotonic()
            manage(env, "migrate", "--no-input")
            make_unlogged(dsn)
            print(f"database {args.database}: migrated in {time.monotonic() - started:.1f} s")

        # Django in this process too: the accounts, the signing keys and the loader's columns.
        setup_django(env)
        from django.db import connections

        if reuse:
            token, count = kept(dsn)
            print(f"database {args.database}: reused, {count:,} certificates")
        else:
            token, ids = accounts()
            connections.close_all()
            count = args.count
            started = time.monotonic()
            load(dsn, count, ids)
            report_seed(count, time.monotonic() - started)
        connections.close_all()
        report(args, *measure(args, env, dsn, workdir, token, count))


@contextlib.contextmanager
def bench_database(args, prefix="mca_bench", needs_wrk=True):
    """The benchmark's own database, args.database (its name must start with `prefix`):
    checks wrk (where `needs_wrk`) and the loopback, creates the database anew unless
    --reuse finds it, and
    yields (its URL, whether it is reused, a temporary folder). On the way out: Django's
    connections closed, the folder removed, the database dropped unless --keep."""
    if not args.database.startswith(prefix):
        raise SystemExit(f"The database name must start with {prefix} (it is dropped first).")
    if needs_wrk and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk).")
    admin = urllib.parse.urlsplit(args.admin_url)
    if admin.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("The benchmark runs on the loopback interface only.")
    dsn = urllib.parse.urlunsplit(admin._replace(path=f"/{args.database}"))

    exists = _admin_sql(
        args.admin_url,
        f"SELECT 1 FROM pg_database WHERE datname = '{args.database}'",  # noqa: S608
        fetch=True,
    )
    reuse = args.reuse and exists
    if not reuse:
        _admin_sql(args.admin_url, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        _admin_sql(args.admin_url, f'CREATE DATABASE "{args.database}"')
    workdir = Path(tempfile.mkdtemp(prefix="mca-bench-"))
    try:
        yield dsn, reuse, workdir
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.keep:
            print(f"kept the database {args.database} (--reuse runs on it again)")
        else:
            _admin_sql(args.admin_url, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


def manage(env, *command):
    """Run `manage.py command` on the bench database (in the servers' environment)."""
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *command, "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )


def setup_django(env):
    """Django in this process, on the bench database, with a signing key for every state
    (config/wsgi.py refuses to serve without them)."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from certification.verification import signing

    for country in STATES:
        signing.rotate_key(country)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per server")
    bench_arguments(parser, "mca_bench", "redis://127.0.0.1:6379/12")
    return parser.parse_args()


def bench_arguments(parser, database, cache_url):
    """The options of a benchmark on its own database with gunicorn and wrk: PostgreSQL,
    the database (default `database`), warm-up, workers, --keep, --reuse and the cache."""
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default=database)
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a database kept by --keep (no new load)"
    )
    parser.add_argument(
        "--cache-url",
        default=cache_url,
        help="the cache (CACHE_URL: the throttles' counters), Redis as in production, "
        "emptied first; '' for each worker's own memory, the embedded default",
    )


def _admin_sql(admin_url, sql, fetch=False):
    with psycopg.connect(admin_url, autocommit=True) as connection:
        rows = connection.execute(sql)
        return rows.fetchall() if fetch else None


def _server_env(args, dsn, workdir):
    """The environment of the servers (and of migrate): production settings on the bench
    database, throttles raised but still counting, in Redis unless --cache-url ''."""
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SIGNING_KEYS_DIR": str(workdir / "keys"),
        # Production refuses to start without the key that seals secrets at rest.
        "SECRETS_KEYS": os.environ.get("SECRETS_KEYS")
        or base64.urlsafe_b64encode(os.urandom(32)).decode(),
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
    return env


if __name__ == "__main__":
    main()
