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
plain GIN query). Each tier is read one of two ways, chosen by how many entries match
rather than left to the planner, which cannot know it for words together:
- few (at most RARE): every match through the GIN index, then the newest;
- many: down the date index, the text checked on each row, until the page is full (a
  common word fills it within a few hundred rows).
How many: the vocabulary's count for one word when the filters keep every listed entry
(every status asked for, no other filter: the vocabulary counts listed entries whatever
their status, so its count says nothing of how many are valid); else estimated from a
sample of the table (TABLESAMPLE, about SAMPLE rows), since words may go together or never,
and a word common among expired or revoked entries may be rare among valid ones.
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
from registry.models import MemberState
from registry.names import state_name

PAGE_SIZE = 20
MAX_WORDS = 6
PREFIX_WORDS = 8  # words a beginning stands for, the most common first
CORRECTIONS = 3  # spellings a word no entry holds stands for
SIMILAR_ON_SQLITE = 0.75  # difflib's ratio; pg_trgm's own threshold (0.3) on PostgreSQL
RARE = 2500  # a tier of at most this many matches is read whole through the GIN index
SAMPLE = 5000  # rows sampled to estimate how many entries match several words or filters

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


def asked_statuses(criteria):
    """The statuses the criteria ask for, in the order of STATUSES (valid when none)."""
    return [s for s in STATUSES if s in set(criteria.statuses)] or [lifecycle.VALID]


def rows_key(criteria):
    """What the rows matching the criteria depend on, in a canonical form: equal for
    criteria that differ only in what the rows ignore (the words' case and anything else
    folding evens out, the order and repeats of states and statuses, `sort`: the order of
    the search's pages, not of the export's)."""
    return (
        tuple(query_words(criteria.q)),
        tuple(sorted(set(criteria.states))),
        criteria.section,
        criteria.hs,
        tuple(asked_statuses(criteria)),
    )


def where(criteria, now):
    """(SQL, params) of the criteria's filters, the text aside."""
    sql = ["listed = %s"]
    params = [True]
    statuses = asked_statuses(criteria)
    moment = connection.ops.adapt_datetimefield_value(now)
    conditions = []
    for status in statuses:
        condition, condition_params = lifecycle.status_at_sql(status, moment)
        conditions.append(condition)
        params += condition_params
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


def _every_entry(criteria):
    """Whether the criteria's filters keep every listed entry: every status, and no state,
    section or HS code. The vocabulary's counts are of those entries."""
    return set(criteria.statuses) >= set(STATUSES) and not (
        criteria.states or criteria.section or criteria.hs
    )


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
        # One word and every listed entry: the vocabulary's counts are exact.
        exact = len(words) == 1 and _every_entry(criteria)
        rows = _search_postgresql(words, criteria.sort, filters, params, cursor, need, exact=exact)
    else:
        rows = _search_sqlite(words, criteria.sort, filters, params, cursor, need)
    page.results = rows[:page_size]
    for entry in page.results:
        entry.derived_status = lifecycle.status_at(entry, now)
    if len(rows) > page_size:
        last = page.results[-1]
        page.next_cursor = str(Cursor(last.tier, last.issued_at, last.pk))
    return page


def _tiers(words, sort):
    """[(tier, tsquery, matches)] in the order they are read, `matches` the vocabulary's
    count of the tier's entries (an upper bound: exact only for one word over every listed
    entry); a tier no entry can be in (a word in no product's name) is left out."""
    if not words:
        return [(OTHER_TIER, None, None)]
    entries = min(w.entries for w in words)
    everything = _tsquery(words, name_only=False)
    if sort == DATE:
        return [(OTHER_TIER, everything, entries)]
    names = min(w.names for w in words)
    if not names:
        return [(OTHER_TIER, everything, entries)]
    others = min(w.entries - w.names for w in words) if len(words) == 1 else entries
    return [
        (NAME_TIER, _tsquery(words, name_only=True), names),
        (OTHER_TIER, f"({everything}) & !({_tsquery(words, name_only=True)})", others),
    ]


def _search_postgresql(words, sort, filters, params, cursor, need, *, exact):
    tiers = [
        (tier, tsquery, matches)
        for tier, tsquery, matches in _tiers(words, sort)
        if cursor is None or tier <= cursor.tier
    ]
    unsure = [tsquery for _t, tsquery, matches in tiers if tsquery and matches > RARE]
    if unsure and not exact:
        sampled = dict(zip(unsure, _sampled(unsure, filters, params), strict=True))
        tiers = [(t, q, min(m, sampled.get(q, m)) if q else m) for t, q, m in tiers]
    rows = []
    for tier, tsquery, matches in tiers:
        after = cursor if cursor is not None and tier == cursor.tier else None
        found = _tier_postgresql(tsquery, matches, filters, params, after, need - len(rows))
        for entry in found:
            entry.tier = tier
        rows += found
        if len(rows) >= need:
            break
    return rows


def _sampled(tsqueries, filters, params):
    """How many entries match each tsquery, estimated from one sample of about SAMPLE rows:
    the vocabulary counts each word, not words together nor with the filters."""
    total = _rows("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [ENTRY])
    total = total[0][0]
    if total <= SAMPLE:
        return [0] * len(tsqueries)  # small enough to read whole
    counts = ", ".join(
        f"count(*) FILTER (WHERE {filters} AND vector @@ to_tsquery('simple', %s))"
        for _q in tsqueries
    )
    *hits, read = _rows(
        f"SELECT {counts}, count(*) FROM {ENTRY}"  # noqa: S608
        " TABLESAMPLE SYSTEM (%s) REPEATABLE (15)",
        [*(p for q in tsqueries for p in (*params, q)), round(100 * SAMPLE / total, 4)],
    )[0]
    return [h * total // max(read, 1) for h in hits]


def _tier_postgresql(tsquery, matches, filters, params, after, need):
    after_sql, after_params = _after(after)
    if tsquery is not None and matches <= RARE:
        return _through_gin(tsquery, filters, params, after, need)
    # Many matches: down the date index until a page is full (the text checked on each
    # row, which costs less than reading every match).
    text_sql, text_params = "", []
    if tsquery is not None:
        text_sql, text_params = " AND vector @@ to_tsquery('simple', %s)", [tsquery]
    return _entries(
        f"SELECT {COLUMNS} FROM {ENTRY} WHERE {filters}{text_sql}{after_sql}"  # noqa: S608
        f" ORDER BY {ORDER} LIMIT %s",
        [*params, *text_params, *after_params, need],
    )


def _through_gin(tsquery, filters, params, after, need):
    """Every match through the GIN index (MATERIALIZED keeps the planner from walking the
    date index instead: it cannot know how few there are), the newest `need` of them after
    the cursor, then their rows."""
    after_sql, after_params = _after(after)
    return _entries(
        f"WITH matches AS MATERIALIZED (SELECT certificate_id, issued_at FROM {ENTRY}"  # noqa: S608
        f" WHERE {filters} AND vector @@ to_tsquery('simple', %s)),"
        f" page AS (SELECT certificate_id FROM matches WHERE TRUE{after_sql}"
        f" ORDER BY {ORDER} LIMIT %s)"
        f" SELECT {COLUMNS} FROM {ENTRY} JOIN page USING (certificate_id) ORDER BY {ORDER}",
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


class Found:
    """A register entry as the search reads it: the row's columns as attributes (the
    model's column names: `product_id`, `member_state_id`...), its tier, its state's name
    and, once the page is made, its derived status. A plain object rather than a model
    instance, so that a page costs little more than its statements."""

    def __init__(self, names, values):
        self.__dict__.update(zip(names, values, strict=True))
        self.__dict__.setdefault("tier", OTHER_TIER)

    @property
    def pk(self):
        return self.certificate_id

    @property
    def member_state_name(self):
        """The state's name in the reader's language (as MemberState.local_name)."""
        code = self.member_state_id
        return state_name(code, state_names().get(code, code))


_DATETIMES = ("issued_at", "starts_at", "ends_at", "updated_at")
_DATES = ("valid_from", "valid_until")


def _entries(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        found = [Found(names, row) for row in cursor.fetchall()]
    if connection.vendor != "postgresql":
        for entry in found:
            _from_text(entry)
    return found


def _from_text(entry):
    """SQLite gives plain SQL its dates and moments (naive UTC) as text."""
    for name in _DATETIMES:
        value = getattr(entry, name, None)
        if value is None:
            continue  # not read by this statement
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        setattr(entry, name, value)
    for name in _DATES:
        value = getattr(entry, name, None)
        if isinstance(value, str):
            setattr(entry, name, datetime.date.fromisoformat(value))


_STATE_NAMES = {}


def state_names():
    """{code: name} of the member states, read once per process (they are data)."""
    if not _STATE_NAMES:
        _STATE_NAMES.update(MemberState.objects.values_list("code", "name"))
    return _STATE_NAMES


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- Reads of the pages and the export ----------------------------------------------------


def matching_sql(criteria, now, *, select=COLUMNS):
    """(SQL, params, words) of every entry matching the criteria, in no order and all of
    them: the rows of the search. The export adds date_page() to it. None for the SQL when
    a word matches nothing. The params of `select`, if any, go before `params`."""
    words = resolve(query_words(criteria.q))
    if any(not w.alternatives for w in words):
        return None, [], words
    filters, params = where(criteria, now)
    condition, text_params = text_condition(words)
    sql = f"SELECT {select} FROM {ENTRY} WHERE {filters}{condition}"  # noqa: S608
    return sql, [*params, *text_params], words


def date_page(after, limit):
    """(SQL, params) that make matching_sql's statement one page in the search's date order:
    the `limit` newest entries older than `after` (a Cursor; None: from the newest), by the
    keyset (issued_at, certificate_id) the search's pages use."""
    after_sql, after_params = _after(after)
    return f"{after_sql} ORDER BY {ORDER} LIMIT %s", [*after_params, limit]


def read_entries(sql, params):
    """The rows of a statement over the entries as Found objects (as the search reads
    them: dates and moments as Python's on every database)."""
    return _entries(sql, params)


def last_modified(now=None):
    """The latest moment the public register changed: an entry written, or a certificate
    starting or ending its validity (which changes the register with no write). None
    while it is empty. `updated_at` is the moment of the write, not of its commit: two
    transactions at once may commit in the other order than their moments, so the later
    commit can hide behind the earlier one's moment until the next change (docs/api.md,
    Caching; a per-commit order would need a counter every register write updates, one
    row all of them would wait on)."""
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
        entry.derived_status = lifecycle.status_at(entry, now)
    return sorted(entries, key=lambda e: (rank[e.derived_status], -e.issued_at.timestamp()))


def product_entries(product_id, now=None):
    """The listed certificates of a product, valid ones first, then newest; [] when none."""
    now = now or timezone.now()
    return _with_status(list(_listed().filter(product_id=product_id)), now)


def producer_entries(producer_id, now=None):
    """The listed certificates of a producer, valid ones first, then newest; [] when none."""
    now = now or timezone.now()
    return _with_status(list(_listed().filter(producer_id=producer_id)), now)
