"""The SVG charts (portal/charts.py): well-formed markup with every text escaped, a name and
a description for assistive technology, a viewBox and no fixed size, and bars and columns
as long as their values say."""

import xml.etree.ElementTree as ET

import pytest

from portal import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = 'Caf\u00e9 <b>"Tom & Jerry"</b> \'s'


def parsed(markup):
    """The chart as XML: parsing fails on any unescaped text."""
    return ET.fromstring(markup)


def texts(svg):
    return [element.text for element in svg.iter(f"{SVG}text")]


def rects(svg):
    return svg.findall(f"{SVG}rect")


def test_a_bar_chart_is_a_named_described_image_that_scales():
    markup = charts.bar_chart(
        ident="by-state",
        title="Certificates in force by member state",
        description="Uzbekistan: 3; Kazakhstan: 1.",
        bars=[charts.Bar("Uzbekistan", 3, "3"), charts.Bar("Kazakhstan", 1, "1")],
    )
    svg = parsed(markup)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "by-state-title by-state-desc"
    assert svg.find(f"{SVG}title").get("id") == "by-state-title"
    assert svg.find(f"{SVG}title").text == "Certificates in force by member state"
    assert svg.find(f"{SVG}desc").get("id") == "by-state-desc"
    assert svg.find(f"{SVG}desc").text == "Uzbekistan: 3; Kazakhstan: 1."
    # Scales with its container: a viewBox, and no width or height of its own.
    assert svg.get("viewBox").startswith(f"0 0 {charts.WIDTH} ")
    assert svg.get("width") is None and svg.get("height") is None
    assert texts(svg) == ["Uzbekistan", "3", "Kazakhstan", "1"]


def test_bars_are_as_long_as_their_values_and_none_or_zero_draws_no_bar():
    svg = parsed(
        charts.bar_chart(
            ident="lead",
            title="t",
            description="d",
            bars=[
                charts.Bar("A", 4.0, "4.0 days"),
                charts.Bar("B", 1.0, "1.0 days"),
                charts.Bar("C", 0, "0.0 days"),
                charts.Bar("D", None, "no approvals"),
            ],
        )
    )
    widths = [float(rect.get("width")) for rect in rects(svg)]
    assert len(widths) == 2
    assert widths[0] == pytest.approx(4 * widths[1], abs=0.2)
    # The longest bar leaves room for its value within the drawing.
    assert widths[0] + len("4.0 days") * charts.FONT * charts.CHAR < charts.WIDTH
    assert texts(svg) == ["A", "4.0 days", "B", "1.0 days", "C", "0.0 days", "D", "no approvals"]


def test_a_bar_chart_of_nothing_but_zeros_is_drawn_without_bars():
    svg = parsed(
        charts.bar_chart(ident="z", title="t", description="d", bars=[charts.Bar("A", 0, "0")])
    )
    assert rects(svg) == [] and texts(svg) == ["A", "0"]


def test_every_text_and_id_of_a_bar_chart_is_escaped():
    markup = charts.bar_chart(
        ident='x" onload="alert(1)',
        title=HOSTILE,
        description=HOSTILE,
        bars=[charts.Bar(HOSTILE, 2, HOSTILE)],
    )
    assert "<b>" not in markup and 'x" onload' not in markup
    svg = parsed(markup)
    assert "onload" not in svg.attrib
    assert svg.find(f"{SVG}title").text == HOSTILE
    assert svg.find(f"{SVG}desc").text == HOSTILE
    assert texts(svg) == [HOSTILE, HOSTILE]


@pytest.mark.parametrize(
    "largest, top", [(0, 0), (1, 1), (2, 2), (3, 5), (7, 10), (12, 20), (20, 20), (101, 200)]
)
def test_the_axis_top_is_the_largest_value_rounded_up_to_1_2_or_5(largest, top):
    assert charts._ceiling(largest) == top


def column_markup(**changes):
    arguments = {
        "ident": "per-month",
        "title": "Per month",
        "description": "Three charts.",
        "columns": [("Jan", "2025"), ("", ""), ("", ""), ("Apr", "")],
        "series": [
            charts.Series("Issued", (3, 6, 0, 12), charts.BRAND),
            charts.Series("Revoked", (0, 0, 0, 0), charts.ERROR),
        ],
    }
    return charts.column_panels(**arguments | changes)


def test_column_panels_name_each_series_and_scale_each_on_its_own():
    svg = parsed(column_markup())
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "per-month-title per-month-desc"
    assert svg.find(f"{SVG}title").text == "Per month"
    assert svg.find(f"{SVG}desc").text == "Three charts."
    # Each panel's name, its axis (0 and the rounded-up top), then the columns' labels
    # (empty ones not written). The all-zero series has no top and no columns.
    assert texts(svg) == ["Issued", "0", "20", "Revoked", "0", "Jan", "2025", "Apr"]
    drawn = rects(svg)
    assert [rect.get("fill") for rect in drawn] == [charts.BRAND] * 3
    heights = [float(rect.get("height")) for rect in drawn]
    assert heights[0] * 2 == pytest.approx(heights[1], abs=0.2)
    assert heights[0] * 4 == pytest.approx(heights[2], abs=0.2)
    # Columns stand on the same baseline, in order from left to right.
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in drawn}
    assert len(bottoms) == 1
    xs = [float(rect.get("x")) for rect in drawn]
    assert xs == sorted(xs)


def test_column_panels_escape_their_texts():
    markup = column_markup(
        ident="<m>",
        title=HOSTILE,
        description=HOSTILE,
        columns=[(HOSTILE, HOSTILE)],
        series=[charts.Series(HOSTILE, (1,))],
    )
    assert "<b>" not in markup and "<m>" not in markup
    svg = parsed(markup)
    assert svg.find(f"{SVG}title").text == HOSTILE
    assert texts(svg) == [HOSTILE, "0", "1", HOSTILE, HOSTILE]


def test_the_colours_read_on_white():
    """Bars and text keep a contrast of 4.5:1 at least against the white card (WCAG AA
    for text, and more than the 3:1 that graphics need)."""

    def luminance(colour):
        def channel(value):
            value /= 255
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)

    for colour in (charts.INK, charts.MUTED, charts.LINE, charts.BRAND, charts.WARN, charts.ERROR):
        assert (1.05) / (luminance(colour) + 0.05) >= 4.5, colour
