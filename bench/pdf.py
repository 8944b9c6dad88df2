"""Certificate PDF throughput: the first (cold) render of a process, then warm ones, as
certificates per minute per worker process.

    .venv/bin/python bench/pdf.py [--runs N]

No database needed. A render runs in a worker after the approval commits, never on a
request path, so the figure that matters is how many certificates one worker process
renders a minute (60 s / the mean warm render); the goal is 300 or more (a warm median
under 200 ms) on an idle machine. The cold render pays for loading the fonts and parsing
the stylesheet, which later renders reuse (certification/documents/render.py keeps them per
process). Each warm render is another certificate (its own number, names and token, so its
own QR code) and the states take turns: no render reuses anything of another's data.

Wall-clock figures swell when other work shares the CPUs, so CPU time is shown beside
them, and the load average with them. The number of instructions a warm render executes
does not swell: with `--warm N` the script renders the cold certificate and one warm one,
then N warm ones inside functools.reduce, and prints nothing, so that valgrind counts only
those N (divide its "I refs" by N):

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \
        --callgrind-out-file=/tmp/callgrind.out .venv/bin/python bench/pdf.py --warm 20
"""

import functools
import logging
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()
# WeasyPrint logs every step at INFO; the figures are what this script is for.
logging.getLogger("weasyprint").setLevel(logging.WARNING)

from certification.documents.render import render_certificate_pdf  # noqa: E402

WARM_RUNS = 60

# About the size of a real token (docs/api.md) for Latin names: ~420 characters.
TOKEN = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6InV6LTIwMjYtM2Y4YTFjOWUyYjdkNGE2MCJ9."
    "eyJpc3MiOiJVWiIsInN1YiI6Ik1DQS1VWi0yMDI2LTAwMDEyMy05NyIsImhzIjoiNjEwOTEwIiwicHJkIjoi"
    "TWVuJ3MgY290dG9uIFQtc2hpcnQsIGNyZXcgbmVjayIsInBybyI6IlRhc2hrZW50IFRleHRpbGUgTWlsbCBMT"
    "EMiLCJ0aW4iOiIzMDEyMzQ1NjciLCJuYmYiOjE3Njg0Njk0MDAsImV4cCI6MTgzMTU3NTU5OSwiaWF0IjoxNz"
    "Y4NDY5NDAwfQ."
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"
)

CONTEXT = {
    "number": "MCA-UZ-2026-000123-97",
    "state": {"code": "UZ", "name": "Uzbekistan", "language": "uz", "time_zone": "Asia/Tashkent"},
    "authority": {
        "name": "Ministry of Investment, Industry and Trade of the Republic of Uzbekistan"
    },
    "producer": {
        "legal_name": "Tashkent Textile Mill LLC",
        "trade_name": "Silk Road Cotton",
        "address": "12 Amir Temur Avenue, Yunusabad district, Tashkent 100084",
        "tax_id": "301234567",
    },
    "product": {
        "name": "Men's cotton T-shirt, crew neck",
        "hs_code": "610910",
        "hs_description": "T-shirts, singlets and other vests; of cotton, knitted or crocheted",
        "description": "100% cotton single jersey, 160 g/m², sizes S–XXL.",
    },
    "origin_criterion": "CC except chapter 60",
    "valid_from": date(2026, 1, 15),
    "valid_until": date(2028, 1, 14),
    "issued_at": datetime(2026, 1, 15, 4, 30, tzinfo=UTC),
    "verify_url": f"https://registry.example.org/verify/MCA-UZ-2026-000123-97/?t={TOKEN}",
    "status_note": None,
}


STATES = [
    CONTEXT["state"],
    {"code": "KZ", "name": "Kazakhstan", "language": "kk", "time_zone": "Asia/Almaty"},
    {"code": "TJ", "name": "Tajikistan", "language": "tg", "time_zone": "Asia/Dushanbe"},
]


def certificate(n):
    """The sample certificate as the n-th of the series: its own state (in turn), number,
    producer, product and token (as long as the sample's), so every render makes its own
    page and QR code."""
    state = STATES[n % len(STATES)]
    context = {**CONTEXT, "state": state, "number": f"MCA-{state['code']}-2026-{n:06d}-97"}
    context["producer"] = {**CONTEXT["producer"], "legal_name": f"Tashkent Textile Mill {n} LLC"}
    context["product"] = {**CONTEXT["product"], "name": f"Men's cotton T-shirt, style {n}"}
    token = TOKEN[:-6] + f"{n:06d}"
    context["verify_url"] = f"https://registry.example.org/verify/{context['number']}/?t={token}"
    return context


def timed(context):
    """Wall-clock and CPU seconds of one render: on a shared machine the CPU time is the
    steadier figure, the wall clock is what a worker spends."""
    wall, cpu = time.perf_counter(), time.process_time()
    pdf = render_certificate_pdf(context)
    return time.perf_counter() - wall, time.process_time() - cpu, pdf


def main(runs):
    cold_wall, cold_cpu, pdf = timed(CONTEXT)
    timings = [timed(certificate(n))[:2] for n in range(1, runs + 1)]
    walls = sorted(wall for wall, _ in timings)
    cpus = sorted(cpu for _, cpu in timings)

    def p95(values):
        return statistics.quantiles(values, n=20)[-1]

    print(f"certificate PDF: {len(pdf) / 1024:.0f} KiB, QR URL {len(CONTEXT['verify_url'])} chars")
    print(f"{'':24}{'wall ms':>10}{'cpu ms':>10}")
    for name, wall, cpu in (
        ("cold (first render)", cold_wall, cold_cpu),
        (f"warm median ({runs} runs)", statistics.median(walls), statistics.median(cpus)),
        ("warm p95", p95(walls), p95(cpus)),
        ("warm mean", statistics.fmean(walls), statistics.fmean(cpus)),
        ("warm min", walls[0], cpus[0]),
    ):
        print(f"{name:24}{wall * 1000:10.1f}{cpu * 1000:10.1f}")
    print(
        f"{'per minute per process':24}{60 / statistics.fmean(walls):10.0f}"
        f"{60 / statistics.fmean(cpus):10.0f}   (60 s / warm mean; goal >= 300)"
    )
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"font subsetting: {font_subsetter()}")


def font_subsetter():
    """Which library subsets the fonts: HarfBuzz's is several times faster than fontTools,
    WeasyPrint's fallback when libharfbuzz-subset0 is missing. (A diagnostic that looks into
    WeasyPrint; the render itself uses only its public API.)"""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0):
        return "HarfBuzz (libharfbuzz-subset0)"
    return "fontTools (slow: apt-get install libharfbuzz-subset0)"


def warm_only(renders):
    render_certificate_pdf(CONTEXT)
    render_certificate_pdf(certificate(renders + 1))

    def render(_, n):
        render_certificate_pdf(certificate(n))

    functools.reduce(render, range(1, renders + 1), None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--warm"]:
        warm_only(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--runs"]:
        main(int(sys.argv[2]))
    else:
        main(WARM_RUNS)
