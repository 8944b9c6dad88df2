"""The register's statistics (/registry/statistics/): the numbers equal counts made here from
the certificates and applications created through the services, only verified producers
count, each chart has its title, caption and table, each CSV holds the table's numbers,
names are escaped in the SVG, and the page takes the same queries whatever the data."""

import csv
import datetime
import io
import re
import statistics as stats
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
import tinyhtml5
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone

from certification import statistics
from certification.core import lifecycle
from certification.models import Application, Certificate
from certification.workflow import services
from portal import statistics as statistics_views
from registry.models import HSCode, MemberState, Producer
from registry.nomenclature import SECTION_NAMES
from tests.certification.conftest import Flow
from tests.portal.conftest import text
from tests.portal.statistics_data import bulk_certificates

pytestmark = pytest.mark.django_db
S = Application.Status
URL = "/registry/statistics/"
HTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
DAY = datetime.timedelta(days=1)
UTC = datetime.UTC


def issued(flow, product=None):
    application = flow.application(S.APPROVED, product=product or flow.make_product())
    return Certificate.objects.get(application=application)


def move(certificate, **fields):
    Certificate.objects.filter(pk=certificate.pk).update(**fields)


def lead(certificate, *, days, decided_days_ago=1):
    """The certificate's application as approved `decided_days_ago` after `days` in review."""
    decided = timezone.now() - decided_days_ago * DAY
    Application.objects.filter(pk=certificate.application_id).update(
        submitted_at=decided - days * DAY, decided_at=decided
    )


# --- Reading the page ----------------------------------------------------------------------


def content(element):
    return " ".join("".join(element.itertext()).split())


def table_of(table):
    if table is None:
        return {"columns": [], "row_headers": [], "rows": []}
    body = table.find(f"{HTML}tbody")
    return {
        "columns": [content(th) for th in table.iter(f"{HTML}th") if th.get("scope") == "col"],
        "row_headers": [th.get("scope") for th in body.iter(f"{HTML}th")],
        "rows": [[content(cell) for cell in row] for row in body.iter(f"{HTML}tr")],
    }


def charts_on(page):
    """Each chart card's heading, SVG title and description, caption, table and CSV link."""
    found = {}
    for card in tinyhtml5.parse(page).iter(f"{HTML}section"):
        if "chart-card" not in card.get("class", ""):
            continue
        svg = card.find(f".//{SVG}svg")
        table = card.find(f".//{HTML}table")
        link = card.find(f".//{HTML}p[@class='chart-download']/{HTML}a")
        slug = link.get("href").removeprefix(URL).removesuffix(".csv")
        found[slug] = {
            "heading": content(card.find(f"{HTML}h2")),
            "labelledby": svg.get("aria-labelledby"),
            "title": svg.find(f"{SVG}title").text,
            "title_id": svg.find(f"{SVG}title").get("id"),
            "desc": svg.find(f"{SVG}desc").text,
            "desc_id": svg.find(f"{SVG}desc").get("id"),
            "caption": content(card.find(f".//{HTML}figcaption")),
            "summary": content(card.find(f".//{HTML}details/{HTML}summary")),
            "data": content(card.find(f".//{HTML}details")),
            **table_of(table),
        }
    return found


def csv_of(client, slug):
    response = client.get(f"{URL}{slug}.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def as_table(csv_rows):
    """A CSV's rows as the table shows them: without the states' codes, a dash for empty."""
    header, *rows = csv_rows
    if header[0] == "code":
        rows = [row[1:] for row in rows]
    return [[cell if cell != "" else "–" for cell in row] for row in rows]


# --- What the test expects, counted from the rows ----------------------------------------


def public(certificates):
    verified = set(Producer.objects.filter(verified_at__isnull=False).values_list("pk", flat=True))
    return [c for c in certificates if c.producer_id in verified]


def expected_in_force(now):
    certificates = public(Certificate.objects.select_related("member_state"))
    in_force = [
        c
        for c in certificates
        if lifecycle.derived_status(c, lifecycle.today_in(c.member_state, now)) == lifecycle.VALID
    ]
    section_of = dict(HSCode.objects.values_list("code", "section"))
    by_state = Counter(c.member_state_id for c in in_force)
    by_section = Counter(section_of[c.product_snapshot["hs_code"]] for c in in_force)
    return by_state, by_section


def last_months(now, count=statistics.MONTHS):
    months, year, month = [], now.year, now.month
    for _ in range(count):
        months.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def expected_per_month():
    certificates = public(Certificate.objects.all())

    def by_month(moments):
        return Counter(f"{moment.astimezone(UTC):%Y-%m}" for moment in moments)

    return (
        by_month(c.issued_at for c in certificates),
        by_month(c.status_changed_at for c in certificates if c.status == "suspended"),
        by_month(c.status_changed_at for c in certificates if c.status == "revoked"),
    )


def expected_lead_times(since):
    approved = Application.objects.filter(
        status=S.APPROVED, producer__verified_at__isnull=False, decided_at__gte=since
    )
    days = {}
    for application in approved:
        lead_time = application.decided_at - application.submitted_at
        days.setdefault(application.member_state_id, []).append(lead_time.total_seconds() / 86400)
    return {state: (len(found), f"{stats.median(found):.1f}") for state, found in days.items()}


# --- The register of the tests -------------------------------------------------------------


@pytest.fixture
def stopped_clock(monkeypatch):
    """timezone.now stopped at one instant for the test: the data made, the page's figures
    and the months and days expected here all read the same now, even when the test runs
    across midnight or a month's end."""
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


@pytest.fixture
def register(db, stopped_clock):
    """Certificates of every standing in Uzbekistan and Kazakhstan, moved in time, and
    a producer in Tajikistan whose identity is not verified (its certificates must not
    count). Returns the now of it all (the clock stopped)."""
    now = stopped_clock
    uz, kz, tj = Flow("UZ"), Flow("KZ"), Flow("TJ")
    valid = issued(uz, uz.product)  # textiles (610910): section XI
    lead(valid, days=1)
    vegetables = issued(uz)
    move(vegetables, product_snapshot={**vegetables.product_snapshot, "hs_code": "080620"})
    lead(vegetables, days=2)
    suspended = issued(uz)
    services.certificate_suspend(actor=uz.reviewer, number=suspended.number, reason="Audit")
    move(suspended, status_changed_at=now - 62 * DAY)
    lead(suspended, days=4)
    revoked = issued(uz)
    services.certificate_revoke(actor=uz.reviewer, number=revoked.number, reason="Fraud")
    lead(revoked, days=10)
    expired = issued(uz)
    move(
        expired,
        issued_at=now - 900 * DAY,
        valid_from=(now - 900 * DAY).date(),
        valid_until=(now - 170 * DAY).date(),
    )
    lead(expired, days=50, decided_days_ago=900)  # approved too long ago to count
    not_yet = issued(uz)
    move(not_yet, valid_from=(now + 5 * DAY).date(), valid_until=(now + 700 * DAY).date())
    lead(not_yet, days=3)
    earlier = issued(kz, kz.product)
    move(earlier, issued_at=now - 95 * DAY)
    lead(earlier, days=2, decided_days_ago=95)
    lead(issued(kz), days=6)
    unverified = [issued(tj, tj.product), issued(tj)]
    services.certificate_revoke(actor=tj.reviewer, number=unverified[1].number, reason="Fraud")
    Producer.objects.filter(pk=tj.producer.pk).update(verified_at=None)
    return now


def assert_the_charts_count(found, now):
    """Every chart's table against the counts made here; returns those counts."""
    assert list(found) == list(statistics_views.CHARTS)
    by_state, by_section = expected_in_force(now)
    states = list(MemberState.objects.order_by("code"))
    assert found["in-force-by-state"]["rows"] == [
        [state.name, str(by_state.get(state.code, 0))] for state in states
    ]
    assert found["in-force-by-section"]["rows"] == [
        [section, str(SECTION_NAMES[section]), str(by_section[section])]
        for section in SECTION_NAMES
        if by_section[section]
    ]
    issued_in, suspended_in, revoked_in = expected_per_month()
    assert found["per-month"]["rows"] == [
        [month, str(issued_in[month]), str(suspended_in[month]), str(revoked_in[month])]
        for month in last_months(now)
    ]
    # Approvals since the date the caption gives: the same calendar date a year ago (UTC).
    since = re.search(r"since (\d{1,2} \w+ \d{4})", found["approval-lead-time"]["caption"])
    since = datetime.datetime.strptime(since[1], "%d %B %Y").replace(tzinfo=UTC)
    assert since.date() == lifecycle.add_months(now.astimezone(UTC).date(), -12)
    lead_times = expected_lead_times(since)
    assert found["approval-lead-time"]["rows"] == [
        [state.name, str(count), median]
        for state in states
        for count, median in [lead_times.get(state.code, (0, "–"))]
    ]
    return by_state, by_section, (issued_in, suspended_in, revoked_in), lead_times


def test_the_numbers_equal_counts_of_the_certificates_and_applications(client, register):
    now = register
    page = client.get(URL)
    assert page.status_code == 200
    counted = assert_the_charts_count(charts_on(text(page)), now)
    by_state, by_section, (issued_in, suspended_in, revoked_in), lead_times = counted
    # Not nothing: two valid in each state, none of the unverified producer's.
    assert (by_state["UZ"], by_state["KZ"], by_state["TJ"]) == (2, 2, 0)
    assert dict(by_section) == {"XI": 3, "II": 1}
    # The expired certificate was issued before the 24 months; the unverified producer's
    # are left out.
    assert sum(issued_in[month] for month in last_months(now)) == 7
    assert sum(suspended_in.values()) == 1 and sum(revoked_in.values()) == 1
    assert lead_times["UZ"] == (5, "3.0") and lead_times["KZ"] == (2, "4.0")
    assert "TJ" not in lead_times


def test_the_numbers_hold_for_a_register_spread_over_years(client, db, stopped_clock):
    now = stopped_clock
    for code, count, lead_days in (("UZ", 90, 2), ("KZ", 50, 9), ("KG", 7, 30)):
        bulk_certificates(Flow(code), count, lead_days=lead_days)
    counted = assert_the_charts_count(charts_on(text(client.get(URL))), now)
    by_state, by_section, (issued_in, suspended_in, revoked_in), lead_times = counted
    assert len(by_section) >= 6 and min(by_state[code] for code in ("UZ", "KZ", "KG")) > 0
    assert sum(1 for month in last_months(now) if issued_in[month]) >= 20
    assert sum(suspended_in.values()) > 0 and sum(revoked_in.values()) > 0
    assert set(lead_times) == {"UZ", "KZ", "KG"}


def test_each_chart_has_a_title_a_caption_and_a_table(client, register):
    found = charts_on(text(client.get(URL)))
    titles = {
        "in-force-by-state": "Certificates in force by member state",
        "in-force-by-section": "Certificates in force by HS section",
        "per-month": "Certificates issued, suspended and revoked per month",
        "approval-lead-time": "Median approval lead time by member state",
    }
    columns = {
        "in-force-by-state": ["Member state", "Certificates in force"],
        "in-force-by-section": ["HS section", "Goods", "Certificates in force"],
        "per-month": ["Month", "Issued", "Suspended", "Revoked"],
        "approval-lead-time": ["Member state", "Approvals", "Median days"],
    }
    for slug, chart in found.items():
        assert chart["heading"] == chart["title"] == titles[slug]
        assert chart["labelledby"] == f"{chart['title_id']} {chart['desc_id']}"
        assert chart["desc"]
        assert chart["caption"]
        assert chart["summary"] == f"Show the data: {titles[slug]}"  # the title read only
        assert chart["columns"] == columns[slug]
        assert chart["row_headers"] == ["row"] * len(chart["rows"])
    assert "time zone" in found["in-force-by-state"]["caption"]
    assert "UTC" in found["per-month"]["caption"]
    assert "submission" in found["approval-lead-time"]["caption"]
    # The description says the figures in words for those who do not see the bars.
    assert "Uzbekistan: 2" in found["in-force-by-state"]["desc"]
    assert "Uzbekistan: 3.0 days" in found["approval-lead-time"]["desc"]
    assert "Tajikistan: no approvals" in found["approval-lead-time"]["desc"]
    assert "Issued: 7 in all" in found["per-month"]["desc"]


def test_each_csv_holds_its_tables_numbers(client, register):
    found = charts_on(text(client.get(URL)))
    codes = list(MemberState.objects.order_by("code").values_list("code", flat=True))
    headers = {
        "in-force-by-state": ["code", "member_state", "certificates_in_force"],
        "in-force-by-section": ["hs_section", "goods", "certificates_in_force"],
        "per-month": ["month", "issued", "suspended", "revoked"],
        "approval-lead-time": ["code", "member_state", "approvals", "median_days"],
    }
    for slug, chart in found.items():
        rows = csv_of(client, slug)
        assert rows[0] == headers[slug]
        assert as_table(rows) == chart["rows"]
        if rows[0][0] == "code":
            assert [row[0] for row in rows[1:]] == codes
    assert client.get(f"{URL}no-such-chart.csv").status_code == 404


def test_in_force_uses_each_states_own_date(db):
    """At 19:30 UTC it is already tomorrow in Tashkent (UTC+5) but still today in Baku
    (UTC+4): a certificate starting tomorrow is in force in Uzbekistan, one ending today
    still in force in Azerbaijan, and one of Uzbekistan ending today is not."""
    now = datetime.datetime(2025, 3, 10, 19, 30, tzinfo=UTC)
    uz, az = Flow("UZ"), Flow("AZ")
    starts = issued(uz, uz.product)
    move(starts, valid_from=datetime.date(2025, 3, 11), valid_until=datetime.date(2027, 3, 10))
    ends_uz = issued(uz)
    move(ends_uz, valid_from=datetime.date(2023, 3, 11), valid_until=datetime.date(2025, 3, 10))
    ends_az = issued(az, az.product)
    move(ends_az, valid_from=datetime.date(2023, 3, 11), valid_until=datetime.date(2025, 3, 10))

    figures = statistics.compute(now)
    counted = {figure.code: figure.value for figure in figures.in_force_by_state}
    by_state, _by_section = expected_in_force(now)
    assert counted == {state: by_state.get(state, 0) for state in counted}
    assert (counted["UZ"], counted["AZ"]) == (1, 1)


def test_names_are_escaped_in_the_charts(client, flow):
    MemberState.objects.filter(code="UZ").update(name='Uz <b>"bek" & co</b>')
    issued(flow, flow.product)
    page = text(client.get(URL))
    assert "<b>" not in page
    for markup in re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL):
        svg = ET.fromstring(markup)  # well-formed: every text escaped
        assert svg.get("role") == "img"
    found = charts_on(page)
    assert found["in-force-by-state"]["rows"][-1] == ['Uz <b>"bek" & co</b>', "1"]
    assert 'Uz <b>"bek" & co</b>: 1' in found["in-force-by-state"]["desc"]
    assert csv_of(client, "in-force-by-state")[-1] == ["UZ", 'Uz <b>"bek" & co</b>', "1"]


def test_an_empty_register_shows_zeros_and_says_there_is_nothing_in_force(client, db):
    found = charts_on(text(client.get(URL)))
    assert [row[1] for row in found["in-force-by-state"]["rows"]] == ["0"] * 6
    assert found["in-force-by-section"]["rows"] == []
    assert found["in-force-by-section"]["data"].endswith("Nothing to show yet.")
    assert "No certificate is in force." in found["in-force-by-section"]["desc"]
    assert {row[1] for row in found["approval-lead-time"]["rows"]} == {"0"}
    assert csv_of(client, "in-force-by-section") == [
        ["hs_section", "goods", "certificates_in_force"]
    ]


def test_the_same_queries_whatever_the_number_of_certificates_then_none_from_the_cache(client, db):
    uz, kz = Flow("UZ"), Flow("KZ")

    def queries(path=URL):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    bulk_certificates(uz, 3)
    few = queries()
    assert queries() == 0  # from the cache
    assert queries(f"{URL}per-month.csv") == 0
    bulk_certificates(uz, 300)
    bulk_certificates(kz, 300)
    cache.clear()
    assert queries() == few
    with CaptureQueriesContext(connection) as computing:
        statistics.compute(timezone.now())
    assert len(computing) == few == 7


def test_the_figures_are_cached_a_few_minutes_under_the_date(client, flow, monkeypatch):
    def uzbekistan():
        return charts_on(text(client.get(URL)))["in-force-by-state"]["rows"][-1]

    issued(flow, flow.product)
    assert uzbekistan() == ["Uzbekistan", "1"]
    issued(flow)
    # Within the cache's minutes the page shows what it worked out...
    assert uzbekistan() == ["Uzbekistan", "1"]
    # ...and works the figures out afresh on another date.
    tomorrow = timezone.now() + DAY
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    assert uzbekistan() == ["Uzbekistan", "2"]
    assert statistics.CACHE_SECONDS <= 600


def test_the_statistics_come_before_the_registers_own_urls_and_the_home_page_links_them(client, db):
    assert reverse("statistics") == URL
    assert reverse("statistics-csv", kwargs={"chart": "per-month"}) == f"{URL}per-month.csv"
    assert resolve(URL).func is statistics_views.statistics_page
    assert resolve(f"{URL}per-month.csv").func is statistics_views.statistics_csv
    assert f'href="{URL}"' in text(client.get("/"))
