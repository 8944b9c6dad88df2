"""Charts drawn on the server as inline SVG, for pages that show figures (the register's
statistics, portal/statistics.py). Pure functions: plain data in, SVG markup out, every
text escaped; no script, nothing fetched.

Each chart is an image with a name and a description (`role="img"`, `aria-labelledby` its
<title> and <desc>); the page puts it in a <figure> with a visible caption and the same
numbers as a table. The drawing scales with its container (a viewBox and no fixed size) and
is sized for that: on a phone 360 px wide its labels read at 13 px, its axes at 12 px. The
colours have a contrast of at least 4.5:1 on white, and no chart tells its series apart by
colour alone: each bar carries its label and value, each panel its name.
"""

import math
from dataclasses import dataclass
from html import escape

WIDTH = 360
FONT = 16  # labels and values
SMALL = 14  # axis labels
CHAR = 0.6  # an average character's width, in ems, to leave room for a value's text

INK = "#1d2733"  # 14.5:1 on white
MUTED = "#4f5e6d"  # 6.6:1 on white
LINE = "#6b7885"  # 4.6:1 on white: axes
BRAND = "#0b5d5b"  # 7.4:1 on white
WARN = "#8a5300"  # 5.9:1 on white
ERROR = "#b3141b"  # 6.6:1 on white


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: nothing to draw; `text` says why
    text: str  # the value as written beside the bar


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int, ...]
    colour: str = BRAND


def _number(value):
    """A coordinate, short: 12.5 rather than 12.500000001."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x, y, content, *, size=FONT, fill=INK, anchor=None, weight=None):
    attributes = f'x="{_number(x)}" y="{_number(y)}" font-size="{size}" fill="{fill}"'
    if anchor:
        attributes += f' text-anchor="{anchor}"'
    if weight:
        attributes += f' font-weight="{weight}"'
    return f"<text {attributes}>{escape(content)}</text>"


def _svg(ident, title, description, height, body):
    ident = escape(ident)
    return (
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {_number(height)}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(description)}</desc>' + "".join(body) + "</svg>"
    )


def bar_chart(*, ident, title, description, bars, colour=BRAND):
    """Horizontal bars, one a row, each with its label above it and its value written at
    its end. `ident` makes the ids of the title and description (unique on the page)."""
    row, label_height, bar_height = 54, 20, 18
    widest_text = max((len(bar.text) for bar in bars), default=1)
    room = WIDTH - 2 - widest_text * FONT * CHAR - 8
    largest = max((bar.value or 0 for bar in bars), default=0)
    height = max(len(bars), 1) * row
    body = [f'<line x1="1" y1="0" x2="1" y2="{height}" stroke="{LINE}" stroke-width="2"/>']
    for index, bar in enumerate(bars):
        top = index * row
        body.append(_text(8, top + FONT, bar.label, weight="600"))
        length = (bar.value or 0) / largest * room if largest else 0
        bar_top = top + label_height + 2
        if length > 0:
            body.append(
                f'<rect x="2" y="{bar_top}" width="{_number(length)}" height="{bar_height}" '
                f'fill="{colour}"/>'
            )
        fill = INK if bar.value is not None else MUTED
        body.append(_text(2 + length + 6, bar_top + bar_height - 4, bar.text, fill=fill))
    return _svg(ident, title, description, height, body)


def _ceiling(value):
    """The axis's top: the value rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def column_panels(*, ident, title, description, columns, series):
    """One panel of columns a series, stacked, sharing the columns' labels at the bottom:
    counts of different sizes (issued against revoked) each get their own scale, named at
    the top of its axis. `columns` holds a (label, second line) per column; an empty label
    is not written."""
    left, plot_height, name_height, gap = 36, 64, 24, 16
    width = (WIDTH - left) / max(len(columns), 1)
    body = []
    top = 0
    for one in series:
        ceiling = _ceiling(max(one.values, default=0))
        body.append(_text(left, top + FONT, one.name, weight="700"))
        base = top + name_height + plot_height
        body.append(_text(left - 6, base, "0", size=SMALL, fill=MUTED, anchor="end"))
        if ceiling:
            axis_top = base - plot_height
            body.append(
                f'<line x1="{left}" y1="{axis_top}" x2="{WIDTH}" y2="{axis_top}" '
                f'stroke="{LINE}" stroke-width="1" stroke-dasharray="3 3"/>'
            )
            body.append(
                _text(left - 6, axis_top + 5, str(ceiling), size=SMALL, fill=MUTED, anchor="end")
            )
        for index, value in enumerate(one.values):
            length = value / ceiling * plot_height if ceiling else 0
            if length > 0:
                body.append(
                    f'<rect x="{_number(left + index * width + width * 0.15)}" '
                    f'y="{_number(base - length)}" width="{_number(width * 0.7)}" '
                    f'height="{_number(length)}" fill="{one.colour}"/>'
                )
        body.append(
            f'<line x1="{left}" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="{LINE}" '
            'stroke-width="2"/>'
        )
        top = base + gap
    for index, (label, second) in enumerate(columns):
        x = left + index * width + width / 2
        if label:
            body.append(_text(x, top + SMALL, label, size=SMALL, anchor="middle"))
        if second:
            body.append(_text(x, top + 2 * SMALL + 3, second, size=SMALL, anchor="middle"))
    return _svg(ident, title, description, top + 2 * SMALL + 8, body)
