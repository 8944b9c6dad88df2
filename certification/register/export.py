"""The register as open data (docs/api.md, "Open data"): the entries the search finds for
the same criteria, all of them, newest first, as CSV or JSON, streamed.

Rows are read through a server-side cursor on PostgreSQL (Django's chunked cursor, a
named cursor WITH HOLD) CHUNK at a time and written out as they come, so a million rows
cost the memory of one chunk. The status is derived in SQL, by the same instants as the
search (certification/register/search.py, status_at).
"""

import csv
import io
import json

from django.conf import settings
from django.db import connection
from django.utils import timezone

from certification.register import search

CHUNK = 1000
LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
ATTRIBUTION = "Made in Central Asia certification registry"
LICENCE_LINE = f"{ATTRIBUTION}, open data under {LICENCE} ({LICENCE_URL})"

# (column, SQL expression): the documented columns of docs/api.md, in order.
_STATUS = (
    "CASE WHEN status <> 'active' THEN status"
    " WHEN starts_at > %s THEN 'not_yet_valid'"
    " WHEN ends_at <= %s THEN 'expired' ELSE 'valid' END"
)
COLUMNS = (
    ("certificate_number", "number"),
    ("status", _STATUS),
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
NAMES = [name for name, _sql in COLUMNS] + ["verification_url"]


def rows(criteria, now=None):
    """Every matching entry as a list of strings in the order of NAMES, newest first."""
    now = now or timezone.now()
    select = ", ".join(sql for _name, sql in COLUMNS)
    sql, params, _words = search.matching_sql(criteria, now, select=select)
    if sql is None:
        return
    moment = connection.ops.adapt_datetimefield_value(now)
    verify = f"{settings.PUBLIC_BASE_URL}/verify/"
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [moment, moment, *params])
        while chunk := cursor.fetchmany(CHUNK):
            for row in chunk:
                values = [_text(value) for value in row]
                yield [*values, f"{verify}{values[0]}/"]


def _text(value):
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def csv_lines(criteria, now=None):
    """The CSV file, a line at a time: the header, then one line per entry (RFC 4180,
    UTF-8). The licence is in the Link and X-Licence headers, not in the file, so that
    every line is a row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(NAMES)
    for values in rows(criteria, now):
        yield line(values)


def json_chunks(criteria, now=None):
    """The JSON document, a piece at a time: {"licence", "attribution", "generated_at",
    "columns", "results": [{column: value}, ...]}."""
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
    for values in rows(criteria, now):
        yield separator + json.dumps(dict(zip(NAMES, values, strict=True)), ensure_ascii=False)
        separator = ",\n"
    yield "]}\n"
