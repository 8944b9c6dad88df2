"""Reviewers' queue: the workspace's pages on 100,000 applications, next to a floor measured
in the same run.

    .venv/bin/python bench/review_queue.py                  # 100,000 applications, 8 s a run
    .venv/bin/python bench/review_queue.py --keep           # keep the database afterwards
    .venv/bin/python bench/review_queue.py --reuse --explain  # again on it, with the plans

Needs PostgreSQL (``--admin-url``, default ``postgres://postgres@127.0.0.1:5432/postgres``,
a role allowed to create databases; superuser to skip foreign-key checks while loading) and
``wrk`` (Debian: ``apt-get install wrk``). Everything stays on the loopback interface and is
bounded in time; the servers, the temporary folder and the database are removed at the end
(``--keep`` keeps the database, ``--reuse`` runs on it again after applying any new
migration).

What it does:

1. creates a separate database (``mca_bench_queue``), migrates it, and loads ``--count``
   applications through COPY (bench/review_queue_seed.py: the six states alike; about 70%
   approved, 8% rejected, 15% waiting, that is some 2,500 a state, the rest changes
   requested, withdrawn or drafts; submitted over two years; the 17 demo products in 9 HS
   chapters with their real origin assessments), with their producers, products, audit
   events and documents, then VACUUM ANALYZE;
2. signs in each state's reviewer (a session in the database, as after the sign-in page)
   and sends every request of the benchmark once through Django in this process, keeping
   the SQL it sends to PostgreSQL (bench/review_queue_measure.py);
3. serves the registry with gunicorn (2 sync workers) on a free loopback port, with the
   production settings (``DEBUG`` off, persistent connections checked at every request),
   and the floor with the same gunicorn settings: a raw WSGI application that sends the same
   statements for the same request with psycopg and no Django (bench/review_queue_floor.py);
4. for each kind of page, loads both servers in turn with wrk (one thread, ``-c1``: a
   reviewer waiting for each page before asking the next, ``--connections`` for more at
   once; a Lua script picking among the kind's requests, all six reviewers) from a second
   process, after a warm-up, and prints p50, p95 and p99 for both, Django's p95 against the
   target, the ratio to the floor's and the CPU time a request costs (the gunicorn workers
   and the bench database's PostgreSQL backends: about the latency on an idle machine).

The kinds: ``default`` (``/workspace/``: waiting, oldest first, page 1), ``page 20``
(``?page=20``), ``chapter`` (``?chapter=NN``, each of the 9 chapters), ``age``
(``?older_than=30`` and ``60``), ``decided`` (``?view=decided``, some 13,000 a state) and
``application`` (``/workspace/applications/<id>/``, 20 random waiting ones a state). Every
queue page also counts its rows (the paginator) and the navigation's badge (waiting).

Target (acceptance): each kind's p95 under 100 ms; the verdict takes the worst round. The
floor is no target: the ratio says how much of a page is Django's and how much the
database's. When the load average shows the machine busy with other work, both move.

Not bench/queue.py: a script's own folder comes first on sys.path, so a queue.py there would
stand in for the standard library's queue (psycopg imports it) in every script of bench/.
"""

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.review_queue_floor import request_key  # noqa: E402
from bench.review_queue_measure import (  # noqa: E402
    KINDS,
    explain,
    measure,
    record,
    requests_by_kind,
    sessions_of,
)
from bench.review_queue_seed import STATUS_SHARES, catalogue, chapters, load, waiting_sample  # noqa: E402
from bench.verify import (  # noqa: E402
    _server_env,
    bench_arguments,
    bench_database,
    manage,
    setup_django,
)
from bench.verify_seed import make_unlogged, staff  # noqa: E402

TARGET_P95_MS = 100.0
APPLICATION_PAGES_PER_STATE = 20


def main():
    args = _arguments()
    with bench_database(args, prefix="mca_bench_") as (dsn, reuse, workdir):
        env = _server_env(args, dsn, workdir)
        started = time.monotonic()
        # Migrations (new ones on a reused database too) and the static files' manifest,
        # which the pages need with DEBUG off.
        try:
            manage(env, "migrate", "--no-input")
            manage(env, "collectstatic", "--no-input")
        except subprocess.CalledProcessError:
            raise SystemExit(
                "manage.py failed (above); with --reuse, a new table may not reference the "
                "bench database's unlogged ones: run without --reuse."
            ) from None
        if not reuse:
            make_unlogged(dsn)
        print(
            f"database {args.database}: migrated, static files collected in "
            f"{time.monotonic() - started:.1f} s"
        )

        # Django in this process too: the accounts, the catalogue, the sessions, the SQL.
        setup_django(env)
        from django.db import connections

        entries = catalogue()
        if reuse:
            reviewers = _reviewers()
            print(f"database {args.database}: reused")
        else:
            ids = staff()
            reviewers = ids["reviewers"]
            connections.close_all()
            started = time.monotonic()
            load(dsn, args.count, ids, entries, datetime.datetime.now(datetime.UTC))
            print(
                f"seed: {args.count:,} applications with their producers, products, audit "
                f"events and documents via COPY in {time.monotonic() - started:.1f} s"
            )
        kinds = requests_by_kind(
            sessions_of(reviewers),
            chapters(entries),
            waiting_sample(dsn, APPLICATION_PAGES_PER_STATE),
        )
        statements, counts = record(kinds)
        connections.close_all()
        _report_data(dsn)
        if args.explain:
            for kind, requests in kinds.items():
                path, session = requests[0]
                print(f"\n--- {kind}: {path}")
                print(explain(dsn, statements[request_key(path, session)]))
        runs, load_average = measure(args, env, dsn, workdir, kinds, statements)
        report(args, kinds, counts, runs, load_average)


def _reviewers():
    """{state: id} of the bench's reviewers in a reused database."""
    from registry.models import User

    reviewers = User.objects.filter(role="reviewer", email__endswith="@bench.example")
    return dict(reviewers.values_list("member_state_id", "pk"))


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="applications")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument(
        "--connections", type=int, default=1, help="wrk connections: reviewers at once"
    )
    parser.add_argument("--rounds", type=int, default=2, help="runs per kind and server")
    parser.add_argument("--explain", action="store_true", help="print the plans of each kind")
    bench_arguments(parser, "mca_bench_queue", "redis://127.0.0.1:6379/14")
    return parser.parse_args()


# --- The printout --------------------------------------------------------------------------


def _report_data(dsn):
    import psycopg

    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT status, count(*), count(*) / count(DISTINCT member_state_id)"
            " FROM certification_application GROUP BY status"
        ).fetchall()
    found = {status: (total, per_state) for status, total, per_state in rows}
    print(
        "applications: "
        + ", ".join(
            f"{status} {found[status][0]:,} (~{found[status][1]:,} a state)"
            for status, _share in STATUS_SHARES
            if status in found
        )
    )


def _verdict(ok):
    return "ok" if ok else "MISSED"


def report(args, kinds, counts, runs, load_average):
    """Print each kind's runs on both servers and the verdicts."""
    print()
    print(
        f"GET as each state's reviewer: wrk -t1 -c{args.connections} -d{args.duration}s x "
        f"{args.rounds} rounds per kind and server (floor and Django in turn); gunicorn "
        f"{args.workers} sync workers each; latencies in ms"
    )
    print(
        f"{'kind':12} {'requests':>8} {'SQL':>5} {'server':8} {'round':>5} {'p50':>7} "
        f"{'p95':>7} {'p99':>7} {'max':>7} {'req/s':>7} {'failed':>6} {'CPU/req':>7}"
    )
    summary = []
    for kind in KINDS:
        low, high = counts[kind]
        sql = f"{low}" if low == high else f"{low}-{high}"
        for name in ("floor", "django"):
            for index, r in enumerate(runs[kind][name]):
                print(
                    f"{kind:12} {len(kinds[kind]):8d} {sql:>5} {name:8} {index + 1:5d} "
                    f"{r['p50_ms']:7.1f} {r['p95_ms']:7.1f} {r['p99_ms']:7.1f} "
                    f"{r['max_ms']:7.1f} {r['rps']:7.1f} {r['failed']:6d} {r['cpu_ms']:7.1f}"
                )
        django_p95 = max(r["p95_ms"] for r in runs[kind]["django"])
        floor_p95 = statistics.mean(r["p95_ms"] for r in runs[kind]["floor"])
        django_mean = statistics.mean(r["p95_ms"] for r in runs[kind]["django"])
        cpu = statistics.mean(r["cpu_ms"] for r in runs[kind]["django"])
        summary.append((kind, django_p95, floor_p95, django_mean / floor_p95, cpu))
    print()
    print(
        f"{'kind':12} {'Django p95':>10} {'floor p95':>10} {'ratio':>6} {'Django CPU/req':>14}"
        f"  verdict (p95 < {TARGET_P95_MS:.0f} ms, worst round)"
    )
    for kind, django_p95, floor_p95, ratio, cpu in summary:
        print(
            f"{kind:12} {django_p95:7.1f} ms {floor_p95:7.1f} ms {ratio:5.1f}x {cpu:11.1f} ms"
            f"  {_verdict(django_p95 < TARGET_P95_MS)}"
        )
    print(
        f"load average (1 min) before/after the load runs: {load_average[0]:.2f} / "
        f"{load_average[1]:.2f} on {os.cpu_count()} CPUs"
    )
    if any(r["failed"] for kind in runs.values() for rs in kind.values() for r in rs):
        print("WARNING: some requests failed; the figures above are not comparable.")


if __name__ == "__main__":
    main()
