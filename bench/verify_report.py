"""The printout of bench/verify.py: the targets, the figures of every run and the verdicts.

``report_seed`` prints the load's time; ``report`` the wrk rounds of both servers, their
sums, the Django/floor ratios of requests/s, p99 and CPU per request, the bulk timing and the
machine's load average, each against its target (ok or MISSED).
"""

import os
import statistics

# Issue 6's targets.
TARGET_RATIO = 0.60  # Django's requests/s, at least this share of the floor's
TARGET_P99_FACTOR = 2.0  # Django's p99, at most this many times the floor's
TARGET_BULK_MS = 150.0  # the bulk verification of 1000 numbers, median
TARGET_SEED_S = 60.0  # loading 1,000,000 certificates


def report_seed(count, seconds):
    print(
        f"seed: {count:,} certificates via COPY in {seconds:.1f} s "
        f"(target < {TARGET_SEED_S:.0f} s for 1,000,000)"
    )


def _verdict(ok):
    return "ok" if ok else "MISSED"


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
    """Print the figures bench/verify_measure.py's `measure` returned."""
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
    print(
        f"django/floor throughput: {ratio:.0%} (target >= {TARGET_RATIO:.0%}) "
        f"{_verdict(ratio >= TARGET_RATIO)}"
    )
    print(
        f"django/floor p99: {p99_factor:.2f}x (target <= {TARGET_P99_FACTOR:.0f}x) "
        f"{_verdict(p99_factor <= TARGET_P99_FACTOR)}"
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
        f"{_verdict(b['median_ms'] < TARGET_BULK_MS)}"
    )
    print(
        f"load average (1 min) before/after the load runs: {load_average[0]:.2f} / "
        f"{load_average[1]:.2f} on {os.cpu_count()} CPUs"
    )
    if floor["failed"] or django_["failed"]:
        print("WARNING: some requests failed; the figures above are not comparable.")
