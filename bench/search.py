"""The register's search on a million certified products: the Django search next to a floor
measured in the same run.

    .venv/bin/python bench/search.py                       # 1,000,000 entries, 1,000 queries
    .venv/bin/python bench/search.py --count 100000 --queries 300   # a quick look

Needs PostgreSQL (``--admin-url``, default ``postgres://postgres@127.0.0.1:5432/postgres``,
a role allowed to create databases). Everything stays on the loopback interface; the
database is dropped at the end (``--keep`` keeps it, ``--reuse`` runs on it again).

What it does:

1. creates a separate database (``mca_bench_search``), migrates it and loads ``--count``
   register entries (one per certificate, bench/search_seed.py) and their vocabulary
   through COPY, the indexes built after the load;
2. makes ``--queries`` queries of seven kinds, in a fixed random order (``--seed``): one
   word, two words, a misspelt word, filters only (member state and HS chapter or
   section, newest first), a rare word (a producer's brand, ~50 entries), a common word
   (a city or a trade, 4-12% of the entries) and the 50th page of a common word by its
   keyset cursor (the cursors worked out beforehand, untimed);
3. in a second process (``--worker``), runs every query through
   certification.register.search.search with the production settings (DEBUG off), once to
   warm up and record the statements each one sent, then timed;
4. in a third process (bench/search_floor.py, psycopg and no Django) replays those very
   statements, once to warm up, then timed: the floor;
5. repeats 3 and 4 for ``--rounds`` rounds, alternating, and prints p50, p95 and p99 per
   kind for both, and the ratios of the p95s.

Targets (issue 15): p95 under 50 ms for every kind, and within 1.5 times the floor's.
A MISSED kind is worth an EXPLAIN ANALYZE of its statements (``--keep``, then psql).
"""

import argparse
import base64
import contextlib
import datetime
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The project's root instead of bench/ (a script's own folder comes first on the path, and a
# module there, bench/queue.py, would stand in for the standard library's).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import psycopg  # noqa: E402

from bench.verify import bench_database  # noqa: E402

KINDS = ("one_word", "two_words", "typo", "filter_only", "rare_word", "common_word", "page_50")
TARGET_MS = 50
TARGET_RATIO = 1.5


def main():
    args = _arguments()
    if args.worker:
        return _worker(args)
    # No wrk here: the queries are timed in-process, against a floor that replays their SQL.
    with bench_database(args, needs_wrk=False) as (dsn, reuse, workdir):
        env = _env(dsn, workdir)
        if not reuse:
            started = time.monotonic()
            subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=600,
            )
            print(f"database {args.database}: migrated in {time.monotonic() - started:.1f} s")
            from bench.search_seed import load

            started = time.monotonic()
            words = load(dsn, args.count)
            print(
                f"loaded {args.count:,} entries and {words:,} words through COPY, indexes"
                f" built, in {time.monotonic() - started:.1f} s"
            )
        with psycopg.connect(dsn) as connection:
            count = connection.execute(
                "SELECT count(*) FROM certification_registerentry"
            ).fetchone()[0]
        queries = make_queries(args.queries, count, random.Random(args.seed))  # noqa: S311
        (workdir / "queries.json").write_text(json.dumps(queries))
        results = {"django": [], "floor": []}
        for round_number in range(args.rounds):
            django_times = workdir / f"django-{round_number}.json"
            statements = workdir / f"statements-{round_number}.json"
            subprocess.run(  # noqa: S603
                [
                    sys.executable,
                    str(Path(__file__)),
                    "--worker",
                    str(workdir / "queries.json"),
                    str(statements),
                    str(django_times),
                ],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=1800,
            )
            floor_times = workdir / f"floor-{round_number}.json"
            subprocess.run(  # noqa: S603
                [
                    sys.executable,
                    str(ROOT / "bench" / "search_floor.py"),
                    dsn,
                    str(statements),
                    str(floor_times),
                ],
                cwd=ROOT,
                check=True,
                timeout=1800,
            )
            results["django"] += json.loads(django_times.read_text())
            results["floor"] += json.loads(floor_times.read_text())
        report(queries * args.rounds, results, count, args.rounds)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="mca_bench_search")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each side")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep")
    parser.add_argument("--worker", nargs=3, metavar=("QUERIES", "STATEMENTS", "TIMINGS"))
    return parser.parse_args()


def _env(dsn, workdir):
    """Production settings on the bench database."""
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SIGNING_KEYS_DIR": str(workdir / "keys"),
        # Production refuses to start without the key that seals secrets at rest.
        "SECRETS_KEYS": os.environ.get("SECRETS_KEYS")
        or base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "VAR_DIR": str(workdir / "var"),
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        env.pop(name, None)
    return env


# --- The queries ------------------------------------------------------------------------


def _typo(word, rng):
    """The word with one letter dropped, doubled or two swapped (never the first)."""
    at = rng.randrange(1, len(word) - 1)
    how = rng.choice(("drop", "double", "swap"))
    if how == "drop":
        return word[:at] + word[at + 1 :]
    if how == "double":
        return word[:at] + word[at] + word[at:]
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def make_queries(total, count, rng):
    """[{kind, q, states, section, hs, sort, pages}] in a random order, the kinds taking turns."""
    from bench.search_seed import GOODS, vocabulary_sample

    words = vocabulary_sample(count)
    common = words["cities"] + words["trades"]
    chapters = sorted({hs[:2] for _name, hs in GOODS})

    def query(kind):
        q = {"kind": kind, "q": "", "states": [], "section": "", "hs": "", "sort": "relevance"}
        if kind == "one_word":
            q["q"] = rng.choice(words["goods"])
        elif kind == "two_words":
            q["q"] = f"{rng.choice(words['goods'])} {rng.choice(words['goods'] + common)}"
        elif kind == "typo":
            q["q"] = _typo(rng.choice(words["goods"] + words["brands"] + common), rng)
        elif kind == "filter_only":
            q["states"] = rng.sample(["UZ", "KZ", "KG", "TJ", "TM", "AZ"], rng.choice((1, 2)))
            if rng.random() < 0.5:
                q["hs"] = rng.choice(chapters)
            else:
                q["section"] = rng.choice(("II", "IV", "XI"))
            q["sort"] = "date"
        elif kind == "rare_word":
            q["q"] = rng.choice(words["brands"])
        elif kind == "common_word":
            q["q"] = rng.choice(common)
            q["sort"] = rng.choice(("relevance", "date"))
        else:  # page_50: a handful of common words, each at its 50th page
            q["q"] = rng.choice(common[:4])
            q["sort"] = rng.choice(("relevance", "date"))
            q["page"] = 50
        return q

    queries = [query(KINDS[n % len(KINDS)]) for n in range(total)]
    rng.shuffle(queries)
    return queries


# --- The Django side (the second process) --------------------------------------------------


def _worker(args):
    queries_path, statements_path, timings_path = args.worker
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.db import connection

    from certification.register import search

    queries = json.loads(Path(queries_path).read_text())

    def criteria(q):
        return search.Criteria(
            q=q["q"],
            states=tuple(q["states"]),
            section=q["section"],
            hs=q["hs"],
            sort=q["sort"],
        )

    cursors = {}  # (q, sort) -> the cursor of page 50, worked out untimed
    for q in queries:
        key = (q["q"], q["sort"])
        if q.get("page") and key not in cursors:
            after = None
            for _page in range(49):
                after = search.search(criteria(q), after=after).next_cursor
            cursors[key] = after

    def run(q):
        return search.search(criteria(q), after=cursors.get((q["q"], q["sort"])))

    recorded = []

    def record(execute, sql, params, many, context):
        recorded[-1].append((sql, [_encode(p) for p in params]))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):  # the warm-up, recording each query's SQL
        for q in queries:
            recorded.append([])
            run(q)
    timings = []
    for q in queries:
        started = time.perf_counter()
        run(q)
        timings.append(time.perf_counter() - started)
    Path(statements_path).write_text(json.dumps(recorded))
    Path(timings_path).write_text(json.dumps(timings))


def _encode(value):
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    return value


# --- The printout ---------------------------------------------------------------------------


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report(queries, results, count, rounds=1):
    print(
        f"\n{len(queries):,} timed queries on {count:,} entries"
        f" ({len(queries) // rounds:,} a round, {rounds} round(s) a side)"
    )
    print(
        f"{'kind':<12} {'n':>4}  {'django p50':>10} {'p95':>7} {'p99':>7}"
        f"  {'floor p50':>9} {'p95':>7} {'p99':>7}  {'p95 ratio':>9}  verdict"
    )
    failed = False
    for kind in KINDS:
        rows = [i for i, q in enumerate(queries) if q["kind"] == kind]
        if not rows:
            continue
        d = [results["django"][i] * 1000 for i in rows]
        f = [results["floor"][i] * 1000 for i in rows]
        d95, f95 = _percentile(d, 0.95), _percentile(f, 0.95)
        ratio = d95 / f95 if f95 else float("inf")
        ok = d95 < TARGET_MS and ratio <= TARGET_RATIO
        failed |= not ok
        print(
            f"{kind:<12} {len(rows):>4}  {_percentile(d, 0.5):>10.2f} {d95:>7.2f}"
            f" {_percentile(d, 0.99):>7.2f}  {_percentile(f, 0.5):>9.2f} {f95:>7.2f}"
            f" {_percentile(f, 0.99):>7.2f}  {ratio:>9.2f}  {'ok' if ok else 'MISSED'}"
        )
    print(
        f"targets: p95 < {TARGET_MS} ms for every kind and within {TARGET_RATIO}x of the floor's"
        " (milliseconds per query, every statement it sends)"
    )
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return not failed


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
