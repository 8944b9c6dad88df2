"""bench/search.py's data and queries, checked small and fast: the rows its generator
COPYs are register entries the application would write (columns, terms, validity instants,
HS sections, no individual's tax id), and its queries cover every kind."""

import random
from collections import Counter

import pytest

from bench.search import KINDS, make_queries
from bench.search_seed import NOW, REGISTER_COLUMNS, entry, line, vocabulary_sample
from certification.core import lifecycle
from certification.models import RegisterEntry
from certification.register import text
from registry.models import HSCode, MemberState

COUNT = 1_000_000


def test_the_columns_are_the_register_s():
    model = {f.column for f in RegisterEntry._meta.concrete_fields}
    assert set(REGISTER_COLUMNS) == model


@pytest.mark.django_db
def test_the_rows_are_valid_register_entries():
    states = {s.code: s for s in MemberState.objects.all()}
    sections = dict(HSCode.objects.filter(level=2).values_list("code", "section"))
    descriptions = dict(HSCode.objects.filter(level=6).values_list("code", "description"))
    statuses = Counter()
    for i in range(1, 401):
        values = dict(zip(REGISTER_COLUMNS, entry(i, COUNT), strict=True))
        row = RegisterEntry(**values)
        row.full_clean(exclude=["certificate", "member_state", "producer", "product"])
        assert (row.starts_at, row.ends_at) == lifecycle.validity_instants(
            states[row.member_state_id], row.valid_from, row.valid_until
        )
        assert row.hs_section == sections[row.hs_chapter]
        assert row.hs_description == descriptions[row.hs_code]
        assert row.terms == text.terms(
            row.product_name,
            [row.producer_name, row.producer_trade_name, row.producer_name,
             row.producer_trade_name, row.hs_code, row.hs_description],
        )  # fmt: skip
        if row.producer_kind == "individual":
            assert row.producer_tax_id == ""
        copied = line(entry(i, COUNT))
        assert copied.endswith("\n") and copied.count("\n") == 1
        assert copied.count("\t") == len(REGISTER_COLUMNS) - 1
        statuses[lifecycle.status_at(row, NOW)] += 1
    assert statuses["valid"] == 360 and statuses["suspended"] == 12
    assert statuses["revoked"] == 8 and statuses["expired"] == 12
    assert statuses["not_yet_valid"] == 8


def test_the_queries_cover_every_kind_with_words_of_the_data():
    queries = make_queries(140, COUNT, random.Random(15))  # noqa: S311
    assert Counter(q["kind"] for q in queries) == dict.fromkeys(KINDS, 20)
    words = vocabulary_sample(COUNT)
    held = set()
    for i in range(1, 3001):
        held |= set(text.words_of_terms(entry(i, COUNT)[-2]))
    assert set(words["goods"]) <= held and set(words["cities"]) <= held
    assert set(words["brands"][:3]) <= {b for b in words["brands"]}
