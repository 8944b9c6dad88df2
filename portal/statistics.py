"""The register's statistics (/registry/statistics/): certificates in force by member state
and by HS section, certificates issued, suspended and revoked per month, and the median
approval lead time per state, each as a chart drawn on the server (portal/charts.py) with
the same numbers as a table and as a CSV file (/registry/statistics/<chart>.csv).

The figures are certification/statistics.py's, cached there for a few minutes. A chart's
table rows and its CSV rows are the same tuples, so they cannot disagree; the CSV adds the
states' ISO codes."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import dateformat
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from certification import statistics
from portal import charts
from registry.names import state_name
from registry.nomenclature import SECTION_NAMES


@dataclass(frozen=True)
class Chart:
    slug: str  # its CSV is /registry/statistics/<slug>.csv
    title: str
    caption: str
    columns: tuple[str, ...]  # the table's headers
    csv_header: tuple[str, ...]  # the CSV's header, named for programs
    rows: tuple[tuple, ...]  # the table's rows; the first cell heads its row
    svg: str
    codes: tuple[str, ...] = ()  # rows of member states: their ISO codes, first in the CSV

    def csv_rows(self):
        """The table's rows, each after its state's code when the rows are states'."""
        if self.codes:
            return [(code, *row) for code, row in zip(self.codes, self.rows, strict=True)]
        return list(self.rows)


def _described(bars):
    return "; ".join(f"{bar.label}: {bar.text}" for bar in bars) + "."


def _bar_chart(slug, title, bars, colour=charts.BRAND):
    return charts.bar_chart(
        ident=slug, title=title, description=_described(bars), bars=bars, colour=colour
    )


def in_force_by_state(figures):
    title = _("Certificates in force by member state")
    bars = [
        charts.Bar(state_name(s.code, s.name), s.value, str(s.value))
        for s in figures.in_force_by_state
    ]
    return Chart(
        slug="in-force-by-state",
        title=title,
        caption=_(
            "Certificates in force today: active, with today's date in the issuing state's "
            "time zone within their validity dates. Not yet valid, expired, suspended and "
            "revoked certificates are not counted."
        ),
        columns=(_("Member state"), _("Certificates in force")),
        csv_header=("code", "member_state", "certificates_in_force"),
        rows=tuple((state_name(s.code, s.name), s.value) for s in figures.in_force_by_state),
        svg=_bar_chart("in-force-by-state", title, bars),
        codes=tuple(s.code for s in figures.in_force_by_state),
    )


def in_force_by_section(figures):
    title = _("Certificates in force by HS section")
    rows = tuple(
        (section, str(SECTION_NAMES[section]), count)
        for section, count in figures.in_force_by_section
        if count
    )
    bars = [charts.Bar(f"{section} {name}", count, str(count)) for section, name, count in rows]
    if not bars:
        bars = [charts.Bar(_("No certificate is in force."), None, "")]
    return Chart(
        slug="in-force-by-section",
        title=title,
        caption=_(
            "The same certificates by the section of the Harmonized System that the "
            "certified product's HS code (as certified) belongs to. Sections with no "
            "certificate in force are left out."
        ),
        columns=(_("HS section"), _("Goods"), _("Certificates in force")),
        csv_header=("hs_section", "goods", "certificates_in_force"),
        rows=rows,
        svg=_bar_chart("in-force-by-section", title, bars),
    )


def _busiest(name, months, values):
    total = sum(values)
    if not total:
        return _("%(series)s: none") % {"series": name}
    most = max(range(len(values)), key=lambda index: (values[index], index))
    return _("%(series)s: %(total)s in all, most in %(month)s (%(most)s)") % {
        "series": name,
        "total": total,
        "month": months[most],
        "most": values[most],
    }


def per_month(figures):
    title = _("Certificates issued, suspended and revoked per month")
    months = [f"{figure.month:%Y-%m}" for figure in figures.per_month]
    series = [
        charts.Series(_("Issued"), tuple(f.issued for f in figures.per_month), charts.BRAND),
        charts.Series(_("Suspended"), tuple(f.suspended for f in figures.per_month), charts.WARN),
        charts.Series(_("Revoked"), tuple(f.revoked for f in figures.per_month), charts.ERROR),
    ]
    # Quarters named under their first month, the year under January and the first month.
    columns = [
        (
            dateformat.format(f.month, "M") if f.month.month % 3 == 1 else "",
            str(f.month.year) if f.month.month == 1 or index == 0 else "",
        )
        for index, f in enumerate(figures.per_month)
    ]
    description = _(
        "Three column charts, one a row, each on its own scale, over the months from "
        "%(first)s to %(last)s. %(summary)s."
    ) % {
        "first": months[0],
        "last": months[-1],
        "summary": "; ".join(_busiest(s.name, months, s.values) for s in series),
    }
    return Chart(
        slug="per-month",
        title=title,
        caption=_(
            "Certificates issued each month, and those suspended or revoked by the month of "
            "that change (a suspended certificate reinstated since is no longer counted). "
            "The last %(count)s months in UTC, this one so far; each chart has its own scale."
        )
        % {"count": statistics.MONTHS},
        columns=(_("Month"), _("Issued"), _("Suspended"), _("Revoked")),
        csv_header=("month", "issued", "suspended", "revoked"),
        rows=tuple(
            (month, f.issued, f.suspended, f.revoked)
            for month, f in zip(months, figures.per_month, strict=True)
        ),
        svg=charts.column_panels(
            ident="per-month", title=title, description=description, columns=columns, series=series
        ),
    )


def _days(duration):
    """A duration in days with one decimal, as text; empty for none."""
    return "" if duration is None else f"{duration.total_seconds() / 86400:.1f}"


def _lead_bar(one):
    if one.median is None:
        return charts.Bar(state_name(one.code, one.name), None, _("no approvals"))
    days = _days(one.median)  # the bar as long as the rounded figure written beside it
    return charts.Bar(
        state_name(one.code, one.name), float(days), _("%(days)s days") % {"days": days}
    )


def lead_time(figures):
    title = _("Median approval lead time by member state")
    bars = [_lead_bar(one) for one in figures.lead_time]
    return Chart(
        slug="approval-lead-time",
        title=title,
        caption=_(
            "Days from an application's submission (its last, when changes were requested) "
            "to its approval, for approvals since %(since)s: half of them took less time, "
            "half more."
        )
        % {"since": date_format(figures.lead_time_since, "DATE_FORMAT")},
        columns=(_("Member state"), _("Approvals"), _("Median days")),
        csv_header=("code", "member_state", "approvals", "median_days"),
        rows=tuple(
            (state_name(one.code, one.name), one.approvals, _days(one.median))
            for one in figures.lead_time
        ),
        svg=_bar_chart("approval-lead-time", title, bars),
        codes=tuple(one.code for one in figures.lead_time),
    )


CHARTS: dict[str, Callable] = {
    "in-force-by-state": in_force_by_state,
    "in-force-by-section": in_force_by_section,
    "per-month": per_month,
    "approval-lead-time": lead_time,
}


@require_safe
def statistics_page(request):
    figures = statistics.figures()
    drawn = [build(figures) for build in CHARTS.values()]
    context = {
        "charts": [(chart, mark_safe(chart.svg)) for chart in drawn],  # noqa: S308 (escaped)
        "computed_at": figures.computed_at,
        "cache_minutes": statistics.CACHE_SECONDS // 60,
    }
    return render(request, "registry/statistics.html", context)


@require_safe
def statistics_csv(request, chart):
    build = CHARTS.get(chart)
    if build is None:
        raise Http404(_("No such chart."))
    figures = statistics.figures()
    drawn = build(figures)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(drawn.csv_header)
    writer.writerows(drawn.csv_rows())
    # A BOM, so that spreadsheets read the names as UTF-8 (as the import template does).
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"registry-statistics-{chart}-{figures.computed_at:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
