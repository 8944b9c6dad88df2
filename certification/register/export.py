"""The register as open data (docs/api.md, "Open data"): the entries the search finds for
the same criteria, all of them, newest first, as CSV or JSON, streamed.

Rows are read a page of CHUNK at a time by the keyset of the search's date order
(issued_at, certificate_id; search.date_page), each page one short statement written out
as one piece before the next is read: so a million rows cost the memory of one page, and
no cursor or transaction stays open while the client downloads. (A server-side cursor
would not do it: requests run in autocommit, where Django's chunked cursor is declared
WITH HOLD and PostgreSQL materialises the whole result before the first row.) Each page
sees the register as it is when that page is read; a certificate issued meanwhile is newer
than the first page and never in the file, and no row comes twice. The status is derived
as the search derives it (lifecycle.status_at, from the stored status and the validity
instants), at the one moment the file is made.
"""

import csv
import io
import json

from django.conf import settings
from django.utils import timezone

from certification.core import lifecycle
from certification.register import search

CHUNK = 1000
LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
ATTRIBUTION = "Made in Central Asia certification registry"
LICENCE_LINE = f"{ATTRIBUTION}, open data under {LICENCE} ({LICENCE_URL})"

# (column, the entry's column it is read from): the documented columns of docs/api.md, in
# order. The status is derived from the stored one, starts_at and ends_at (lifecycle.status_at).
COLUMNS = (
    ("certificate_number", "number"),
    ("status", "status"),
    ("valid_from", "valid_from"),
    ("valid_until", "valid_until"),
    ("member_state", "member_state_id"),
    ("product_id", "product_id"),
    ("product_name", "product_name"),
    ("hs_code", "hs_code"),
    ("hs_description", "hs_description"),
    ("hs_section", "hs_section"),
    ("producer_id", "producer_id"),
    ("producer_name", "producer_name"),
    ("producer_trade_name", "producer_trade_name"),
    ("certified_producer_name", "certified_producer_name"),
    ("producer_kind", "producer_kind"),
    ("producer_tax_id", "producer_tax_id"),
    ("origin_criterion", "origin_criterion"),
)
NAMES = [name for name, _column in COLUMNS] + ["verification_url"]
_SELECT = ", ".join(
    [column for _name, column in COLUMNS]
    + ["starts_at", "ends_at"]  # the status
    + ["issued_at", "certificate_id"]  # the keyset
)


def pages(criteria, now=None):
    """Every matching entry, newest first, a page of at most CHUNK at a time: each page a
    list of rows, each row a list of strings in the order of NAMES."""
    now = now or timezone.now()
    sql, params, _words = search.matching_sql(criteria, now, select=_SELECT)
    if sql is None:
        return
    verify = f"{settings.PUBLIC_BASE_URL}/verify/"
    after = None
    while True:
        page_sql, page_params = search.date_page(after, CHUNK)
        found = search.read_entries(sql + page_sql, [*params, *page_params])
        if found:
            yield [_row(entry, now, verify) for entry in found]
        if len(found) < CHUNK:
            return
        last = found[-1]
        after = search.Cursor(search.OTHER_TIER, last.issued_at, last.certificate_id)


def _row(entry, now, verify):
    status = lifecycle.status_at(entry, now)
    values = [
        status if name == "status" else _text(getattr(entry, column)) for name, column in COLUMNS
    ]
    return [*values, f"{verify}{values[0]}/"]


def _text(value):
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def csv_lines(criteria, now=None):
    """The CSV file, the header and then a page of rows at a time, each a string of lines
    (RFC 4180, UTF-8). The licence is in the Link and X-Licence headers, not in the file, so
    that every line is a row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def lines(rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        return buffer.getvalue()

    yield lines([NAMES])
    for page in pages(criteria, now):
        yield lines(page)


def json_chunks(criteria, now=None):
    """The JSON document, the head and then a page of rows at a time: {"licence",
    "attribution", "generated_at", "columns", "results": [{column: value}, ...]}."""
    now = now or timezone.now()
    head = {
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "attribution": ATTRIBUTION,
        "generated_at": now.isoformat().replace("+00:00", "Z"),
        "columns": NAMES,
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "results": ['
    separator = ""
    for page in pages(criteria, now):
        objects = (dict(zip(NAMES, values, strict=True)) for values in page)
        yield separator + ",\n".join(json.dumps(o, ensure_ascii=False) for o in objects)
        separator = ",\n"
    yield "]}\n"
