"""Searching the register, and the reads behind its pages and its open data.

A query is folded (certification/register/text.py) and split into at most MAX_WORDS
words. Each word is looked up in the vocabulary (RegisterWord): it stands for itself and
the most common words it begins (so "apricot" finds "apricots" too); a word no entry holds
is read as the closest spellings the entries hold (pg_trgm similarity on PostgreSQL,
difflib on SQLite), so "raisns" finds raisins and "Toshkent" finds "Ташкент"; the page
says so. Every word must match (AND); a word matching nothing gives no results.

Relevance: entries whose product name holds every word come first, then those found
through the producer's names or the HS code and description; newest first within each.
Date: newest first. Pages are keyset pages: the cursor is the last row's (tier,
issued_at, id), so a certificate issued meanwhile never shifts the pages that follow.

On PostgreSQL the words become a tsquery over the stored tsvector of the terms (each term
tagged with its field, so that "in the product name" is a term of its own and each tier a
plain GIN query). Each tier is read one of two ways, chosen by the vocabulary's counts
rather than left to the planner, whose estimate for an AND of words it cannot know:
- when some word is rare (its count bounds the matches): every match through the GIN
  index, then the newest;
- else a walk down the date index over at most WALK rows (common words fill a page within
  a few hundred rows); if that does not fill the page, the matches older than the walk
  through the GIN index. Either way a page costs at most a few thousand rows.
On SQLite (the embedded default) one statement with LIKE over the terms does it all.

Every statement goes through Django's cursor on the default database; bench/search.py
replays the very statements through psycopg alone as its floor.
"""

import datetime
import difflib
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from certification.core import lifecycle
from certification.models import RegisterEntry, RegisterWord
from certification.register import text

PAGE_SIZE = 20
MAX_WORDS = 6
PREFIX_WORDS = 8  # words a beginning stands for, the most common first
CORRECTIONS = 3  # spellings a word no entry holds stands for
SIMILAR_ON_SQLITE = 0.75  # difflib's ratio; pg_trgm's own threshold (0.3) on PostgreSQL
RARE = 5000  # a tier bounded by this many matches is read whole through the GIN index
WALK = 4000  # rows of the date index walked before turning to the GIN index

STATUSES = (
    lifecycle.VALID,
    lifecycle.NOT_YET_VALID,
    lifecycle.EXPIRED,
    lifecycle.SUSPENDED,
    lifecycle.REVOKED,
)
RELEVANCE, DATE = "relevance", "date"
NAME_TIER, OTHER_TIER = 1, 0

ENTRY = RegisterEntry._meta.db_table
WORD = RegisterWord._meta.db_table
# Every column of an entry but the terms (read from the row only by the search itself).
COLUMNS = ", ".join(
    f.column for f in RegisterEntry._meta.concrete_fields if f.name not in ("terms",)
)
ORDER = "issued_at DESC, certificate_id DESC"


@dataclass(frozen=True)
class Criteria:
    """What a search asks for; the export takes the same."""

    q: str = ""
    states: tuple = ()  # member state codes
    section: str = ""  # HS section, a Roman numeral
    hs: str = ""  # an HS chapter (2 digits), heading (4) or subheading (6)
    statuses: tuple = (lifecycle.VALID,)
    sort: str = RELEVANCE


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's tier, issue moment and certificate id."""

    tier: int
    issued_at: datetime.datetime
    id: int

    def __str__(self):
        micros = int(self.issued_at.timestamp() * 1_000_000)
        return f"{self.tier}.{micros}.{self.id}"

    @classmethod
    def parse(cls, token):
        """The cursor of a token made by str(), or None for anything else."""
        try:
            tier, micros, pk = (int(part) for part in str(token).split("."))
            moment = datetime.datetime.fromtimestamp(micros / 1_000_000, tz=datetime.UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            return None
        if tier not in (NAME_TIER, OTHER_TIER) or pk < 1:
            return None
        return cls(tier, moment, pk)


@dataclass(frozen=True)
class Word:
    """A word of the query and the vocabulary words it stands for."""

    typed: str
    alternatives: tuple = ()
    entries: int = 0  # entries holding one of the alternatives, at most
    names: int = 0  # of those, holding one in the product's name, at most
    corrected: bool = False


@dataclass
class Page:
    results: list = field(default_factory=list)
    next_cursor: str | None = None
    words: list = field(default_factory=list)

    @property
    def corrected(self):
        return [w for w in self.words if w.corrected]

    @property
    def unmatched(self):
        return [w.typed for w in self.words if not w.alternatives]


def status_at(entry, now):
    """The entry's status as verification derives it (lifecycle.derived_status), from the
    stored status and the validity instants."""
    if entry.status != "active":
        return entry.status
    if now < entry.starts_at:
        return lifecycle.NOT_YET_VALID
    if now >= entry.ends_at:
        return lifecycle.EXPIRED
    return lifecycle.VALID


# --- Words ------------------------------------------------------------------------------


def query_words(q):
    return text.words(q)[:MAX_WORDS]


def resolve(typed_words):
    """[Word] for the folded words of a query, in their order."""
    if not typed_words:
        return []
    found = {w: [] for w in typed_words}
    parts, params = [], []
    for w in typed_words:
        parts.append(
            f"SELECT * FROM (SELECT %s AS typed, word, entries, names FROM {WORD}"  # noqa: S608
            " WHERE word = %s AND entries > 0) e"
        )
        params += [w, w]
        if len(w) >= 3:
            parts.append(
                f"SELECT * FROM (SELECT %s AS typed, word, entries, names FROM {WORD}"  # noqa: S608
                " WHERE word LIKE %s AND word <> %s AND entries > 0"
                f" ORDER BY entries DESC, word LIMIT {PREFIX_WORDS}) p"
            )
            params += [w, w + "%", w]
    for typed, word, entries, names in _rows(" UNION ALL ".join(parts), params):
        found[typed].append((word, entries, names, False))
    missing = [w for w in typed_words if not found[w] and len(w) >= 4 and not w.isdigit()]
    for typed, word, entries, names in _corrections(missing):
        found[typed].append((word, entries, names, True))
    return [
        Word(
            typed=w,
            alternatives=tuple(f[0] for f in found[w]),
            entries=sum(f[1] for f in found[w]),
            names=sum(f[2] for f in found[w]),
            corrected=any(f[3] for f in found[w]),
        )
        for w in typed_words
    ]


def _corrections(missing):
    """(typed, word, entries, names) of the closest spellings the vocabulary holds."""
    if not missing:
        return []
    if connection.vendor == "postgresql":
        parts, params = [], []
        for w in missing:
            parts.append(
                f"SELECT * FROM (SELECT %s AS typed, word, entries, names FROM {WORD}"  # noqa: S608
                " WHERE word %% %s AND entries > 0"
                f" ORDER BY similarity(word, %s) DESC, entries DESC, word LIMIT {CORRECTIONS}) c"
            )
            params += [w, w, w]
        return _rows(" UNION ALL ".join(parts), params)
    found = []
    for w in missing:
        # Small vocabularies only (the embedded default): the words of the same first letter.
        candidates = {
            word: counts
            for word, *counts in _rows(
                f"SELECT word, entries, names FROM {WORD}"  # noqa: S608
                " WHERE word LIKE %s AND entries > 0",
                [w[0] + "%"],
            )
        }
        close = difflib.get_close_matches(w, candidates, n=CORRECTIONS, cutoff=SIMILAR_ON_SQLITE)
        found += [(w, word, *candidates[word]) for word in close]
    return found


# --- The filters, shared by the search, the export and the pages --------------------------


def where(criteria, now):
    """(SQL, params) of the criteria's filters, the text aside."""
    sql = ["listed = %s"]
    params = [True]
    statuses = [s for s in STATUSES if s in set(criteria.statuses)] or [lifecycle.VALID]
    moment = connection.ops.adapt_datetimefield_value(now)
    conditions = []
    for status in statuses:
        if status == lifecycle.VALID:
            conditions.append("(status = %s AND starts_at <= %s AND ends_at > %s)")
            params += ["active", moment, moment]
        elif status == lifecycle.NOT_YET_VALID:
            conditions.append("(status = %s AND starts_at > %s)")
            params += ["active", moment]
        elif status == lifecycle.EXPIRED:
            conditions.append("(status = %s AND ends_at <= %s)")
            params += ["active", moment]
        else:
            conditions.append("status = %s")
            params.append(status)
    sql.append("(" + " OR ".join(conditions) + ")")
    if criteria.states:
        sql.append(f"member_state_id IN ({', '.join(['%s'] * len(criteria.states))})")
        params += list(criteria.states)
    if criteria.section:
        sql.append("hs_section = %s")
        params.append(criteria.section)
    if criteria.hs:
        column = {2: "hs_chapter", 4: "hs_heading", 6: "hs_code"}[len(criteria.hs)]
        sql.append(f"{column} = %s")
        params.append(criteria.hs)
    return " AND ".join(sql), params


def _after(cursor):
    if cursor is None:
        return "", []
    moment = connection.ops.adapt_datetimefield_value(cursor.issued_at)
    return " AND (issued_at, certificate_id) < (%s, %s)", [moment, cursor.id]


# --- Text predicates ----------------------------------------------------------------------


def _tsquery(words, *, name_only):
    def word_query(word):
        tags = (text.NAME,) if name_only else (text.NAME, text.OTHER)
        return "(" + " | ".join(tag + a for a in word.alternatives for tag in tags) + ")"

    return " & ".join(word_query(w) for w in words)


def _like(words, *, name_only):
    """(SQL, params): every word in the terms (SQLite)."""
    sql, params = [], []
    tags = (text.NAME,) if name_only else (text.NAME, text.OTHER)
    for word in words:
        alternatives = [f"% {tag}{a} %" for a in word.alternatives for tag in tags]
        sql.append("(" + " OR ".join(["terms LIKE %s"] * len(alternatives)) + ")")
        params += alternatives
    return " AND ".join(sql), params


def text_condition(words):
    """(SQL, params) of "every word matches somewhere", for the export."""
    if not words:
        return "", []
    if connection.vendor == "postgresql":
        return " AND vector @@ to_tsquery('simple', %s)", [_tsquery(words, name_only=False)]
    sql, params = _like(words, name_only=False)
    return f" AND {sql}", params


# --- The search ---------------------------------------------------------------------------


def search(criteria, *, after=None, now=None, page_size=None):
    """One page of the entries matching `criteria` after the cursor token `after`."""
    now = now or timezone.now()
    page_size = page_size or PAGE_SIZE
    cursor = Cursor.parse(after) if after else None
    words = resolve(query_words(criteria.q))
    page = Page(words=words)
    if any(not w.alternatives for w in words):
        return page
    need = page_size + 1
    filters, params = where(criteria, now)
    if connection.vendor == "postgresql":
        rows = _search_postgresql(words, criteria.sort, filters, params, cursor, need)
    else:
        rows = _search_sqlite(words, criteria.sort, filters, params, cursor, need)
    page.results = rows[:page_size]
    for entry in page.results:
        entry.derived_status = status_at(entry, now)
    if len(rows) > page_size:
        last = page.results[-1]
        page.next_cursor = str(Cursor(last.tier, last.issued_at, last.pk))
    return page


def _tiers(words, sort):
    """[(tier, tsquery, bound)] in the order they are read; a tier no entry can be in (a
    word that is in no product's name) is left out."""
    if not words:
        return [(OTHER_TIER, None, None)]
    bound = min(w.entries for w in words)
    everything = _tsquery(words, name_only=False)
    if sort == DATE:
        return [(OTHER_TIER, everything, bound)]
    name_bound = min(w.names for w in words)
    if not name_bound:
        return [(OTHER_TIER, everything, bound)]
    names = _tsquery(words, name_only=True)
    return [(NAME_TIER, names, name_bound), (OTHER_TIER, f"({everything}) & !({names})", bound)]


def _search_postgresql(words, sort, filters, params, cursor, need):
    rows = []
    for tier, tsquery, bound in _tiers(words, sort):
        if cursor is not None and tier > cursor.tier:
            continue
        after = cursor if cursor is not None and tier == cursor.tier else None
        found = _tier_postgresql(tsquery, bound, filters, params, after, need - len(rows))
        for entry in found:
            entry.tier = tier
        rows += found
        if len(rows) >= need:
            break
    return rows


def _tier_postgresql(tsquery, bound, filters, params, after, need):
    after_sql, after_params = _after(after)
    if tsquery is None:
        return _entries(
            f"SELECT {COLUMNS} FROM {ENTRY} WHERE {filters}{after_sql}"  # noqa: S608
            f" ORDER BY {ORDER} LIMIT %s",
            [*params, *after_params, need],
        )
    if bound > RARE:
        found = _entries(
            f"SELECT {COLUMNS} FROM (SELECT {COLUMNS}, vector FROM {ENTRY}"  # noqa: S608
            f" WHERE {filters}{after_sql} ORDER BY {ORDER} LIMIT {WALK}) walk"
            f" WHERE vector @@ to_tsquery('simple', %s) ORDER BY {ORDER} LIMIT %s",
            [*params, *after_params, tsquery, need],
        )
        if len(found) >= need:
            return found
        # Fewer matches among the newest WALK rows than a page: the rest, older than the
        # walk's last row, through the GIN index.
        edge = (
            f"SELECT issued_at AS edge_at, certificate_id AS edge_id FROM {ENTRY}"  # noqa: S608
            f" WHERE {filters}{after_sql} ORDER BY {ORDER} OFFSET {WALK - 1} LIMIT 1"
        )
        return found + _entries(
            f"WITH matches AS MATERIALIZED (SELECT {COLUMNS} FROM {ENTRY}"  # noqa: S608
            f" WHERE {filters} AND vector @@ to_tsquery('simple', %s))"
            f" SELECT matches.* FROM matches, ({edge}) edge"
            " WHERE (issued_at, certificate_id) < (edge_at, edge_id)"
            f" ORDER BY {ORDER} LIMIT %s",
            [*params, tsquery, *params, *after_params, need - len(found)],
        )
    # Rare: every match through the GIN index (MATERIALIZED keeps the planner from
    # walking the date index instead), then the newest.
    return _entries(
        f"WITH matches AS MATERIALIZED (SELECT {COLUMNS} FROM {ENTRY}"  # noqa: S608
        f" WHERE {filters} AND vector @@ to_tsquery('simple', %s))"
        f" SELECT * FROM matches WHERE TRUE{after_sql} ORDER BY {ORDER} LIMIT %s",
        [*params, tsquery, *after_params, need],
    )


def _search_sqlite(words, sort, filters, params, cursor, need):
    if words:
        matches, match_params = _like(words, name_only=False)
        names, name_params = _like(words, name_only=True)
    else:
        matches, match_params, names, name_params = "1 = 1", [], "1 = 0", []
    relevance = sort == RELEVANCE and words
    tier = f"CASE WHEN {names} THEN {NAME_TIER} ELSE {OTHER_TIER} END" if relevance else "0"
    sql = (
        f"SELECT * FROM (SELECT {COLUMNS}, {tier} AS tier FROM {ENTRY}"  # noqa: S608
        f" WHERE {filters} AND {matches}) found"
    )
    all_params = [*(name_params if relevance else []), *params, *match_params]
    if cursor is not None:
        moment = connection.ops.adapt_datetimefield_value(cursor.issued_at)
        sql += " WHERE (tier, issued_at, certificate_id) < (%s, %s, %s)"
        all_params += [cursor.tier, moment, cursor.id]
    sql += f" ORDER BY tier DESC, {ORDER} LIMIT %s"
    return _entries(sql, [*all_params, need])


def _entries(sql, params):
    entries = list(RegisterEntry.objects.raw(sql, params))
    for entry in entries:
        entry.tier = getattr(entry, "tier", OTHER_TIER)
    return entries


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- Reads of the pages and the export ----------------------------------------------------


def matching_sql(criteria, now, *, select=COLUMNS):
    """(SQL, params, words) of every entry matching the criteria, newest first: the rows
    of the search in date order, all of them (the export streams it). None for the SQL
    when a word matches nothing. The params of `select`, if any, go before `params`."""
    words = resolve(query_words(criteria.q))
    if any(not w.alternatives for w in words):
        return None, [], words
    filters, params = where(criteria, now)
    condition, text_params = text_condition(words)
    sql = f"SELECT {select} FROM {ENTRY} WHERE {filters}{condition} ORDER BY {ORDER}"  # noqa: S608
    return sql, [*params, *text_params], words


def last_modified(now=None):
    """The latest moment the public register changed: an entry written, or a certificate
    starting or ending its validity (which changes the register with no write). None
    while it is empty."""
    now = now or timezone.now()
    entries = RegisterEntry.objects.order_by()
    moments = [
        entries.order_by("-updated_at").values_list("updated_at", flat=True).first(),
        entries.filter(starts_at__lte=now)
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first(),
        entries.filter(ends_at__lte=now)
        .order_by("-ends_at")
        .values_list("ends_at", flat=True)
        .first(),
    ]
    moments = [m for m in moments if m is not None]
    return max(moments) if moments else None


def _listed():
    return RegisterEntry.objects.filter(listed=True).select_related("member_state")


def _with_status(entries, now):
    rank = {status: index for index, status in enumerate(STATUSES)}
    for entry in entries:
        entry.derived_status = status_at(entry, now)
    return sorted(entries, key=lambda e: (rank[e.derived_status], -e.issued_at.timestamp()))


def product_entries(product_id, now=None):
    """The listed certificates of a product, valid ones first, then newest; [] when none."""
    now = now or timezone.now()
    return _with_status(list(_listed().filter(product_id=product_id)), now)


def producer_entries(producer_id, now=None):
    """The listed certificates of a producer, valid ones first, then newest; [] when none."""
    now = now or timezone.now()
    return _with_status(list(_listed().filter(producer_id=producer_id)), now)
