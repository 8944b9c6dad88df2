"""The data of bench/search.py: a million register entries (one per certificate) and their
vocabulary, made by pure functions and loaded through COPY.

``entry(i)`` is the i-th entry's column values (REGISTER_COLUMNS order), made with the
registry's own folding (certification/register/text.py) so that the terms are those the
application would store; ``load`` streams them into the migrated bench database.

The data looks like the register will: 40 kinds of goods under their real HS codes and
descriptions; a producer for every 50 certificates, named after one of twelve cities (half
of them spelt in Cyrillic, as producers in the region register them), a made-up brand of
three syllables (a rare word: one or two producers share it) and a trade; one in ten an
individual entrepreneur (no tax id in the register); statuses as verification sees them
(~90% valid, 3% suspended, 2% revoked, 3% expired, 2% not yet valid); issued over the last
two years, oldest first.
"""

import datetime
import time

from certification.register import text
from registry.nomenclature import nomenclature_rows

STATES = ("UZ", "KZ", "KG", "TJ", "TM", "AZ")
# Fixed offsets: none of the six states keeps daylight saving time.
OFFSETS = {"UZ": 5, "KZ": 5, "KG": 6, "TJ": 5, "TM": 5, "AZ": 4}
PER_PRODUCER = 50
GOODS = (
    ("Dried apricots", "081310"),
    ("Raisins, sultana", "080620"),
    ("Cotton T-shirt, knitted", "610910"),
    ("Hand-knotted wool carpet", "570110"),
    ("Refined copper wire", "740811"),
    ("Pomegranate juice", "200989"),
    ("Silk fabric, atlas", "500720"),
    ("Cotton yarn, combed", "520512"),
    ("Cotton socks", "611595"),
    ("Cotton bed linen set", "630231"),
    ("Women's cotton blouse", "620630"),
    ("Walnut kernels", "080232"),
    ("Almond kernels", "080212"),
    ("Green tea", "090210"),
    ("Mountain honey", "040900"),
    ("Felt slippers", "640420"),
    ("Ceramic bowl, painted", "691200"),
    ("Cashmere sweater", "611012"),
    ("Apple juice", "200971"),
    ("Dried prunes", "081320"),
    ("Leather handbag", "420221"),
    ("Cotton dress, knitted", "610442"),
    ("Gold earrings", "711319"),
    ("White cement", "252321"),
    ("Herbal shampoo", "330510"),
    ("Chewing gum", "170410"),
    ("Saperavi wine", "220421"),
    ("Black pepper", "090411"),
    ("Devzira rice", "100630"),
    ("Sweet potatoes", "071420"),
)
VARIANTS = ("", "", "", "organic", "premium", "handmade", "export grade", "gift box")
CITIES = (
    "Тошкент", "Samarqand", "Бухоро", "Andijon", "Алматы", "Shymkent",
    "Бишкек", "Osh", "Душанбе", "Khujand", "Ашхабад", "Ganja",
)  # fmt: skip
TRADES = ("Textile", "Agro", "Foods", "Carpets", "Metals", "Crafts", "Silk", "Trade")
SYLLABLES = (
    "zar", "af", "shon", "bu", "xo", "ro", "sam", "ar", "nur", "ol", "tin", "ka", "ra",
    "kum", "ti", "mur", "sa", "bo", "lo", "ve", "ta", "ga", "dar", "yo", "sha", "mir", "zo",
    "bek", "ul", "den",
)  # fmt: skip
CRITERIA = ("CTH", "CC except chapter 60", "Wholly obtained", "RVC 40%", "CTSH")
REGISTER_COLUMNS = (
    "certificate_id", "number", "member_state_id", "producer_id", "product_id", "listed",
    "status", "issued_at", "valid_from", "valid_until", "starts_at", "ends_at",
    "product_name", "hs_code", "hs_heading", "hs_chapter", "hs_section", "hs_description",
    "producer_name", "producer_trade_name", "certified_producer_name", "producer_kind",
    "producer_tax_id", "origin_criterion", "terms", "updated_at",
)  # fmt: skip
# Dates are set around the day of the run: the search derives statuses from the real clock.
NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
TODAY = NOW.date()
ISSUE_SPAN_DAYS = 700  # the oldest still valid for a month
VALID_DAYS = 730

_HS = {code: (description, section) for code, _l, description, _p, section in nomenclature_rows()}
_CHAPTER_SECTION = {code[:2]: section for code, (_d, section) in _HS.items()}


def brand(p):
    """The made-up brand of producer p: three syllables, its own up to 27,000 producers."""
    n = (p * 7919) % len(SYLLABLES) ** 3
    a, b, c = n // 900, (n // 30) % 30, n % 30
    return (SYLLABLES[a] + SYLLABLES[b] + SYLLABLES[c]).capitalize()


def producer(p):
    """(legal name, trade name, kind, tax id) of producer p."""
    city = CITIES[p % len(CITIES)]
    trade = TRADES[(p // len(CITIES)) % len(TRADES)]
    individual = p % 10 == 0
    legal = f"{city} {brand(p)} {trade}" + ("" if individual else " LLC")
    trade_name = brand(p) if p % 3 == 0 else ""
    return legal, trade_name, "individual" if individual else "company", f"{300_000_000 + p}"


def status_of(i):
    """(status, days issued before TODAY, days valid from before TODAY) of entry i: ~90%
    valid, 3% suspended, 2% revoked, 3% expired, 2% not yet valid (a renewal, issued like
    the others but valid from 20 days on)."""
    bucket = i % 100
    age = (ISSUE_SPAN_DAYS * (1_000_003 - i)) // 1_000_003  # oldest first, by i
    if bucket < 3:
        return "suspended", age, age
    if bucket < 5:
        return "revoked", age, age
    if bucket < 8:
        return "active", VALID_DAYS + 30 + bucket, VALID_DAYS + 30 + bucket  # expired
    if bucket < 10:
        return "active", age, -20
    return "active", age, age


def entry(i, count):
    """The column values (REGISTER_COLUMNS) of the i-th entry (1-based) of `count`."""
    cc = STATES[(i - 1) % len(STATES)]
    sequence = (i - 1) // len(STATES) + 1
    p = (i - 1) // PER_PRODUCER + 1
    legal, trade_name, kind, tax_id = producer(p)
    goods, hs_code = GOODS[(i * 31 + p) % len(GOODS)]
    variant = VARIANTS[(i // 7) % len(VARIANTS)]
    name = f"{goods}, {variant}" if variant else goods
    description, section = _HS[hs_code]
    status, issued_days, valid_days = status_of(i)
    valid_from = TODAY - datetime.timedelta(days=valid_days)
    valid_until = valid_from + datetime.timedelta(days=VALID_DAYS - 1)
    zone = datetime.timezone(datetime.timedelta(hours=OFFSETS[cc]))
    midnight = datetime.time(0, 0, tzinfo=zone)
    starts_at = datetime.datetime.combine(valid_from, midnight)
    ends_at = datetime.datetime.combine(valid_until + datetime.timedelta(days=1), midnight)
    issued_on = TODAY - datetime.timedelta(days=issued_days)
    issued_at = datetime.datetime.combine(issued_on, midnight) + datetime.timedelta(
        hours=10, seconds=i % 3600
    )
    others = [legal, trade_name, legal, trade_name, hs_code, description]
    return (
        i,
        f"MCA-{cc}-{valid_from.year}-{sequence:06d}-00",  # the bench never parses it
        cc,
        p,
        i,  # one product per certificate
        True,
        status,
        issued_at,
        valid_from,
        valid_until,
        starts_at,
        ends_at,
        name,
        hs_code,
        hs_code[:4],
        hs_code[:2],
        _CHAPTER_SECTION.get(hs_code[:2], section),
        description,
        legal,
        trade_name,
        legal,
        kind,
        "" if kind == "individual" else tax_id,
        CRITERIA[i % len(CRITERIA)],
        text.terms(name, others),
        NOW,
    )


def _escape(value):
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def line(values):
    """One COPY text-format line."""
    return "\t".join(_escape(v) for v in values) + "\n"


def load(dsn, count):
    """COPY `count` entries and their vocabulary into the migrated bench database, with
    the register's foreign keys dropped (the search reads only the register's tables, so
    no certificates stand behind the entries) and its indexes built after the load."""
    import psycopg

    from bench.verify_seed import _in_parallel, _phase, _secondary_indexes

    words = {}
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=False) as connection, connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for table in ("certification_registerentry", "certification_registerword"):
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
                [table],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        # Every index but the primary key (the tsvector's GIN index too), built after the load.
        drops, builds = _secondary_indexes(cursor, ["certification_registerentry"])
        for statement in drops:
            cursor.execute(statement)
        columns = ", ".join(REGISTER_COLUMNS)
        with cursor.copy(f"COPY certification_registerentry ({columns}) FROM STDIN") as copy:
            block = []
            for i in range(1, count + 1):
                values = entry(i, count)
                block.append(line(values))
                text.add_counts(words, values[-2])
                if len(block) == 20_000:
                    copy.write("".join(block))
                    block = []
            copy.write("".join(block))
        _phase("COPY certification_registerentry", started)
        with cursor.copy(
            "COPY certification_registerword (word, entries, names) FROM STDIN"
        ) as copy:
            copy.write("".join(f"{w}\t{n}\t{m}\n" for w, (n, m) in sorted(words.items())))
        connection.commit()
    _in_parallel(dsn, [(label, sql, ()) for label, sql in builds])
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE certification_registerentry")
        connection.execute("VACUUM ANALYZE certification_registerword")
    return len(words)


def vocabulary_sample(count):
    """A few words of each kind the queries need, from the generator's own data."""
    brands = sorted({brand(p) for p in range(1, count // PER_PRODUCER + 1)})
    return {
        "goods": sorted({w for name, _hs in GOODS for w in text.words(name) if len(w) > 3}),
        "cities": [text.words(c)[0] for c in CITIES],
        "trades": [t.lower() for t in TRADES],
        "brands": [text.words(b)[0] for b in brands],
    }
