"""The public register (certification/register/): what it lists and what it never does,
kept in step by the workflow's services, its search (typos, transliteration, filters,
relevance, keyset pages) and its vocabulary. Tests marked `postgres` run the PostgreSQL
search paths (GIN walk and fallback, pg_trgm corrections) and skip on SQLite."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certification.core import lifecycle
from certification.models import Application, Certificate, RegisterEntry, RegisterWord
from certification.register import export, index, search
from certification.register.search import Criteria
from certification.workflow import services
from registry.models import MemberState, Producer
from tests.certification.conftest import Flow
from tests.factories import MaterialFactory, ProducerFactory, ProductFactory, state

S = Application.Status
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL); CI runs it"
)


def certify(flow, name, *, hs_code="610910", status=S.APPROVED):
    """A product of the flow's producer taken to `status` (approved: certified)."""
    product = ProductFactory(producer=flow.producer, name=name, hs_code=hs_code)
    MaterialFactory(product=product, hs_code="520522", origin_country=flow.state.code)
    application = services.application_create(actor=flow.member, product_id=product.pk)
    steps = {
        S.DRAFT: [],
        S.SUBMITTED: ["submit"],
        S.REJECTED: ["submit", "start", "reject"],
        S.APPROVED: ["submit", "start", "approve"],
    }[status]
    for step in steps:
        kwargs = {"comment": "Checked at the mill."} if step == "approve" else {}
        flow.do(step, application, **kwargs)
    return product


def verified_producer(flow, legal_name, **fields):
    """Another producer of the flow's member, attested."""
    producer = ProducerFactory(
        member_state=flow.state, legal_name=legal_name, verified_at=timezone.now(), **fields
    )
    flow.member.producers.add(producer)
    return producer


def numbers(page):
    return [entry.number for entry in page.results]


def names(criteria, **kwargs):
    return [entry.product_name for entry in search.search(criteria, **kwargs).results]


def certificate_of(product):
    return Certificate.objects.get(product=product)


# --- What is listed -------------------------------------------------------------------------


def test_a_certified_product_is_listed_and_drafts_rejected_and_submitted_never(flow):
    certify(flow, "Dried apricots")
    certify(flow, "Dried figs", status=S.DRAFT)
    certify(flow, "Dried plums", status=S.SUBMITTED)
    certify(flow, "Dried melon", status=S.REJECTED)

    assert names(Criteria(q="dried")) == ["Dried apricots"]
    everything = Criteria(statuses=tuple(search.STATUSES))
    assert names(everything) == ["Dried apricots"]
    assert RegisterEntry.objects.count() == 1


def test_the_entry_is_written_in_the_approval_s_transaction(flow, monkeypatch):
    product = certify(flow, "Silk scarf", status=S.SUBMITTED)
    application = Application.objects.get(product=product)
    flow.do("start", application)

    def outbox_down(*args, **kwargs):
        raise RuntimeError("the outbox is down")

    # The approval's last step fails: all it wrote is rolled back, the entry with it.
    with monkeypatch.context() as patched:
        patched.setattr(services.outbox, "emit", outbox_down)
        with pytest.raises(RuntimeError, match="the outbox is down"):
            flow.do("approve", application, comment="Checked at the mill.")
    assert not RegisterEntry.objects.exists()
    assert not Certificate.objects.filter(product=product).exists()
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW

    flow.do("approve", application, comment="Checked at the mill.")
    entry = RegisterEntry.objects.get()
    certificate = certificate_of(product)
    assert entry.pk == certificate.pk and entry.number == certificate.number
    assert entry.listed and entry.status == "active"
    assert (entry.hs_code, entry.hs_heading, entry.hs_chapter, entry.hs_section) == (
        "610910",
        "6109",
        "61",
        "XI",
    )
    assert entry.hs_description == certificate.product_snapshot["hs_description"]
    assert entry.origin_criterion == certificate.origin_criterion
    assert " nsilk nscarf " in entry.terms


def test_an_unverified_producer_s_certificates_are_not_listed(flow):
    product = certify(flow, "Walnut kernels", hs_code="080232")
    producer = flow.producer
    producer.verified_at = None
    producer.save(update_fields=["verified_at"])
    index.reindex_producer(producer)
    assert names(Criteria(q="walnut")) == []
    assert RegisterWord.objects.get(word="walnut").entries == 0

    producer.verified_at = timezone.now()
    producer.save(update_fields=["verified_at"])
    index.reindex_producer(producer)
    assert names(Criteria(q="walnut")) == [product.name]
    assert RegisterWord.objects.get(word="walnut").entries == 1


def test_suspended_and_revoked_only_when_asked_and_marked(flow):
    certify(flow, "Copper wire", hs_code="740811")
    number = RegisterEntry.objects.get().number
    services.certificate_suspend(actor=flow.reviewer, number=number, reason="Inspection.")
    assert names(Criteria(q="copper")) == []
    page = search.search(Criteria(q="copper", statuses=("suspended",)))
    assert [(e.number, e.derived_status) for e in page.results] == [(number, "suspended")]
    assert names(Criteria(q="copper", statuses=("revoked",))) == []

    services.certificate_reinstate(actor=flow.reviewer, number=number)
    assert names(Criteria(q="copper")) == ["Copper wire"]

    services.certificate_revoke(actor=flow.reviewer, number=number, reason="Origin not proven.")
    assert names(Criteria(q="copper")) == []
    page = search.search(Criteria(q="copper", statuses=("valid", "revoked")))
    assert [e.derived_status for e in page.results] == ["revoked"]


def test_expired_and_not_yet_valid_by_the_clock_alone(flow):
    certify(flow, "Pomegranate juice", hs_code="200989")
    entry = RegisterEntry.objects.get()
    before = entry.starts_at - datetime.timedelta(seconds=1)
    after = entry.ends_at
    assert names(Criteria(q="juice"), now=before) == []
    assert names(Criteria(q="juice", statuses=("not_yet_valid",)), now=before) == [
        "Pomegranate juice"
    ]
    assert names(Criteria(q="juice"), now=after) == []
    assert names(Criteria(q="juice", statuses=("expired",)), now=after) == ["Pomegranate juice"]


def test_every_form_of_the_status_is_lifecycle_s_derived_status_around_midnight(db):
    """The status is derived in several forms: lifecycle.derived_status from the dates (the
    verification page, the API), derived_status_q (SQL over certificates), and from the
    register's instants (validity_instants) lifecycle.status_at (the search's pages, the
    export) and status_at_sql (the search's filter). Around each state's midnights, all of
    them say what derived_status says."""
    valid_from, valid_until = datetime.date(2027, 1, 10), datetime.date(2027, 1, 20)
    certificates = []
    for code in ("UZ", "KG", "AZ"):  # UTC+5, +6 and +4: their midnights fall apart
        flow = Flow(code)
        for stored in ("active", "suspended", "revoked"):
            certificate = certificate_of(certify(flow, f"Grid {code} {stored}"))
            Certificate.objects.filter(pk=certificate.pk).update(
                status=stored, valid_from=valid_from, valid_until=valid_until
            )
            certificate.refresh_from_db()
            index.reindex_certificate(certificate)
            certificates.append(certificate)
    entries = {e.number: e for e in RegisterEntry.objects.select_related("member_state")}
    for entry in entries.values():
        assert (entry.starts_at, entry.ends_at) == lifecycle.validity_instants(
            entry.member_state, valid_from, valid_until
        )
    states = list(MemberState.objects.all())
    everything = Criteria(statuses=tuple(search.STATUSES))

    moments = [
        datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(2027, 1, 15, 12, tzinfo=datetime.UTC),
        datetime.datetime(2027, 2, 1, tzinfo=datetime.UTC),
    ]
    for code in ("UZ", "KG", "AZ"):
        zone = ZoneInfo(state(code).time_zone)
        for day in (valid_from, valid_until, valid_until + datetime.timedelta(days=1)):
            midnight = datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=zone)
            moments += [midnight - datetime.timedelta(microseconds=1), midnight]
    seen = set()
    for moment in moments:
        expected = {
            c.number: lifecycle.derived_status(c, lifecycle.today_in(c.member_state, moment))
            for c in certificates
        }
        seen |= set(expected.values())
        assert {n: lifecycle.status_at(e, moment) for n, e in entries.items()} == expected
        for status in search.STATUSES:
            having = {n for n, s in expected.items() if s == status}
            q = lifecycle.derived_status_q(status, states, now=moment)
            assert set(Certificate.objects.filter(q).values_list("number", flat=True)) == having
            filters, params = search.where(Criteria(statuses=(status,)), moment)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT number FROM {search.ENTRY} WHERE {filters}",  # noqa: S608
                    params,
                )
                assert {row[0] for row in cursor.fetchall()} == having, (moment, status)
        page = search.search(everything, now=moment, page_size=100)
        assert {e.number: e.derived_status for e in page.results} == expected
        rows = [row for rows in export.pages(everything, now=moment) for row in rows]
        assert {row[0]: row[1] for row in rows} == expected, moment
    assert seen == set(search.STATUSES)


# --- Kept in step ---------------------------------------------------------------------------


def test_a_product_edit_leaves_what_was_certified(flow):
    product = certify(flow, "Hand-knotted wool carpet", hs_code="570110")
    services.product_update(
        actor=flow.member, product_id=product.pk, data={"name": "Machine-made rug"}
    )
    assert names(Criteria(q="carpet")) == ["Hand-knotted wool carpet"]
    assert names(Criteria(q="rug")) == []


def test_a_renamed_producer_is_found_by_both_names_and_shown_by_the_new_one(flow):
    certify(flow, "Green tea", hs_code="090210")
    old_name = flow.producer.legal_name
    services.producer_update(
        actor=flow.member, producer_id=flow.producer.pk, data={"legal_name": "Chorsu Tea House"}
    )
    page = search.search(Criteria(q="chorsu"))
    assert [(e.producer_name, e.certified_producer_name) for e in page.results] == [
        ("Chorsu Tea House", old_name)
    ]
    assert names(Criteria(q=old_name)) == ["Green tea"]


def test_reindexing_a_producer_reads_sections_and_old_entries_once(flow):
    for n, hs_code in enumerate(("610910", "081310", "570110")):
        certify(flow, f"Sample good {n}", hs_code=hs_code)
    producer = Producer.objects.get(pk=flow.producer.pk)
    producer.legal_name = "Silk Road Goods LLC"
    producer.save(update_fields=["legal_name"])
    with CaptureQueriesContext(connection) as captured:
        index.reindex_producer(producer)
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert sum('FROM "registry_hscode"' in sql for sql in reads) == 1
    # The old entries in one read, then each entry's own (update_or_create's) before its write.
    assert sum('FROM "certification_registerentry"' in sql for sql in reads) == 1 + 3
    entries = RegisterEntry.objects.order_by("pk")
    assert [e.hs_section for e in entries] == ["XI", "II", "XI"]
    assert {e.producer_name for e in entries} == {"Silk Road Goods LLC"}
    assert RegisterWord.objects.get(word="silk").entries == 3
    assert RegisterWord.objects.get(word="sample").entries == 3


def test_an_individual_entrepreneur_s_tax_id_never_enters_the_register(flow):
    producer = flow.producer
    # The flow's producer is a company; another one of the member's is an individual.
    individual = verified_producer(flow, "Aziz Karimov", kind="individual")
    flow.producer = individual
    certify(flow, "Felt slippers", hs_code="640420")
    flow.producer = producer
    certify(flow, "Felt hats", hs_code="650500")

    entries = {e.product_name: e for e in RegisterEntry.objects.all()}
    assert entries["Felt slippers"].producer_tax_id == ""
    assert individual.tax_id not in entries["Felt slippers"].terms
    assert entries["Felt hats"].producer_tax_id == producer.tax_id
    assert names(Criteria(q=individual.tax_id)) == []


def test_rebuild_writes_what_the_services_wrote(flow):
    certify(flow, "Almond kernels", hs_code="080212")
    certify(flow, "Raisins, sultana", hs_code="080620")
    services.certificate_suspend(
        actor=flow.reviewer, number=RegisterEntry.objects.first().number, reason="Check."
    )

    def snapshot():
        entries = list(RegisterEntry.objects.order_by("pk").values())
        for entry in entries:
            entry.pop("updated_at")
        words = RegisterWord.objects.filter(entries__gt=0).values_list("word", "entries", "names")
        return entries, sorted(words)

    services.producer_update(
        actor=flow.member, producer_id=flow.producer.pk, data={"legal_name": "Raisin Road LLC"}
    )
    written = snapshot()
    assert ("raisins", 1, 1) in written[1] and ("road", 2, 0) in written[1]
    assert index.rebuild() == 2
    assert snapshot() == written


# --- The search -----------------------------------------------------------------------------


def test_typos_and_transliteration_find_the_product_and_say_so(flow):
    tashkent = verified_producer(flow, "Тошкент Тўқимачилик")
    certify(flow, "Raisins, sultana", hs_code="080620")
    flow.producer = tashkent
    certify(flow, "Knitted T-shirt", hs_code="610910")

    page = search.search(Criteria(q="raisns"))
    assert numbers(page) and page.results[0].product_name == "Raisins, sultana"
    assert [(w.typed, w.alternatives) for w in page.corrected] == [("raisns", ("raisins",))]
    for query in ("Toshkent", "Тошкент", "TOSHKENT", "toqimachilik", "Ташкент"):
        assert names(Criteria(q=query)) == ["Knitted T-shirt"], query
    assert names(Criteria(q="Тошкент raisins")) == []


def test_a_word_no_entry_holds_gives_nothing_and_is_named(flow):
    certify(flow, "Dried apricots", hs_code="081310")
    page = search.search(Criteria(q="apricots zzqqxx"))
    assert page.results == [] and page.unmatched == ["zzqqxx"]


def test_a_beginning_finds_the_words_it_begins(flow):
    certify(flow, "Dried apricots", hs_code="081310")
    assert names(Criteria(q="apric")) == ["Dried apricots"]


def test_relevance_puts_name_matches_first_and_date_puts_newest_first(flow):
    cotton_producer = verified_producer(flow, "Cotton Valley LLC")
    certify(flow, "Cotton yarn, combed", hs_code="520522")
    flow.producer = cotton_producer
    certify(flow, "Silk scarf", hs_code="500720")  # newer, found through its producer

    assert names(Criteria(q="cotton")) == ["Cotton yarn, combed", "Silk scarf"]
    assert names(Criteria(q="cotton", sort="date")) == ["Silk scarf", "Cotton yarn, combed"]


def test_filters_by_state_section_chapter_and_heading(db):
    uz, kz = Flow("UZ"), Flow("KZ")
    certify(uz, "Dried apricots", hs_code="081310")
    certify(kz, "Wool carpet", hs_code="570110")
    assert names(Criteria(states=("KZ",))) == ["Wool carpet"]
    assert names(Criteria(section="II")) == ["Dried apricots"]
    assert names(Criteria(hs="57")) == ["Wool carpet"]
    assert names(Criteria(hs="0813")) == ["Dried apricots"]
    assert names(Criteria(hs="081310", states=("KZ",))) == []


def _certify_many(flow, count):
    for n in range(count):
        certify(flow, f"Ceramic bowl {n}", hs_code="691200")


def test_keyset_pages_are_stable_when_certificates_are_issued_meanwhile(flow):
    _certify_many(flow, 5)
    for sort in ("relevance", "date"):
        criteria = Criteria(q="bowl", sort=sort)
        before = RegisterEntry.objects.count()  # 5, then 6
        first = search.search(criteria, page_size=2)
        second = search.search(criteria, after=first.next_cursor, page_size=2)
        certify(flow, f"Ceramic bowl new {sort}", hs_code="691200")
        again = search.search(criteria, after=first.next_cursor, page_size=2)
        assert numbers(again) == numbers(second)
        third = search.search(criteria, after=second.next_cursor, page_size=2)
        seen = numbers(first) + numbers(second) + numbers(third)
        assert len(seen) == len(set(seen)) == before
        assert third.next_cursor is None


def test_a_cursor_that_is_not_one_reads_the_first_page(flow):
    _certify_many(flow, 2)
    for token in ("nonsense", "1.2.x", "7.1.1", "1.99999999999999999999.3"):
        assert len(search.search(Criteria(), after=token).results) == 2


def test_the_pages_reads(flow):
    product = certify(flow, "Honey, acacia", hs_code="040900")
    number = RegisterEntry.objects.get().number
    services.certificate_revoke(actor=flow.reviewer, number=number, reason="Adulterated.")
    again = services.application_create(actor=flow.member, product_id=product.pk)
    for step in ("submit", "start", "approve"):
        flow.do(step, again, comment="Checked.") if step == "approve" else flow.do(step, again)
    entries = search.product_entries(product.pk)
    assert [e.derived_status for e in entries] == ["valid", "revoked"]
    assert [e.derived_status for e in search.producer_entries(flow.producer.pk)] == [
        "valid",
        "revoked",
    ]
    assert search.product_entries(product.pk + 1000) == []


def test_last_modified_moves_with_writes_and_with_the_clock(flow):
    assert search.last_modified() is None
    certify(flow, "Apple juice", hs_code="200971")
    entry = RegisterEntry.objects.get()
    assert search.last_modified() == entry.updated_at
    later = entry.ends_at + datetime.timedelta(days=3)
    assert search.last_modified(now=later) == entry.ends_at


# --- PostgreSQL: the plans ------------------------------------------------------------------


@pytest.mark.postgres
@on_postgresql
def test_postgresql_walk_gives_the_rows_of_the_gin_path(flow, monkeypatch):
    _certify_many(flow, 7)
    works = verified_producer(flow, "Ceramic Works LLC")
    flow.producer = works
    certify(flow, "Tea cup", hs_code="691200")  # the newest, found by its producer's name
    expected = {}
    for sort in ("relevance", "date"):
        for states in ((), ("UZ",)):  # the vocabulary's counts; a sample of the table
            criteria = Criteria(q="ceramic", sort=sort, states=states)
            monkeypatch.setattr(search, "RARE", 10**9)  # the GIN path only
            expected[sort] = _all_pages(criteria)
            assert len(expected[sort]) == 8
            monkeypatch.setattr(search, "RARE", 0)  # the walk down the date index
            monkeypatch.setattr(search, "_sampled", lambda queries, *args: [10**9] * len(queries))
            assert _all_pages(criteria) == expected[sort], (sort, states)
            monkeypatch.undo()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE certification_registerentry")
    filters, params = search.where(Criteria(states=("UZ",)), timezone.now())
    monkeypatch.setattr(search, "SAMPLE", 1)  # a sample of one row in eight
    # The sample is of pages, and the eight rows may lie on more than one: every row of UZ
    # says "ceramic", so its estimate is the whole table or, if no page was drawn, none;
    # one row says "tea", so its estimate is at most that.
    ceramic, tea = search._sampled(["nceramic | oceramic", "ntea"], filters, params)
    assert ceramic in (0, 8) and 0 <= tea <= ceramic
    tea_cup = RegisterEntry.objects.get(product_name="Tea cup").number
    assert expected["relevance"][-1] == tea_cup and expected["date"][0] == tea_cup


@pytest.mark.postgres
@on_postgresql
def test_postgresql_counts_a_word_common_among_stopped_entries_but_rare_among_valid_ones(
    flow, monkeypatch
):
    # The vocabulary counts every listed entry of a word, valid or not: five here, one of
    # them valid. For the default status that count is no measure, so the plan is chosen
    # by the sample's estimate (few: through the GIN index), not by the walk down the date
    # index that five matches over RARE would take.
    for n in range(5):
        certify(flow, f"Ceramic bowl {n}", hs_code="691200")
    for entry in RegisterEntry.objects.order_by("pk")[:4]:
        services.certificate_revoke(actor=flow.reviewer, number=entry.number, reason="Lead.")
    assert RegisterWord.objects.get(word="ceramic").entries == 5
    monkeypatch.setattr(search, "RARE", 2)
    sampled, through_gin = [], []
    real_sampled, real_through_gin = search._sampled, search._through_gin
    monkeypatch.setattr(
        search,
        "_sampled",
        lambda queries, *args: sampled.append(queries) or real_sampled(queries, *args),
    )
    monkeypatch.setattr(
        search,
        "_through_gin",
        lambda tsquery, *args: through_gin.append(tsquery) or real_through_gin(tsquery, *args),
    )
    assert names(Criteria(q="ceramic")) == ["Ceramic bowl 4"]
    assert sampled and through_gin  # the sample's estimate, then the GIN index

    sampled.clear()
    everything = Criteria(q="ceramic", statuses=tuple(search.STATUSES))
    assert names(everything) == [f"Ceramic bowl {n}" for n in (4, 3, 2, 1, 0)]
    assert sampled == []  # every status: the vocabulary's count is exact


def _all_pages(criteria):
    seen, after = [], None
    while True:
        page = search.search(criteria, after=after, page_size=3)
        seen += numbers(page)
        after = page.next_cursor
        if after is None:
            return seen


@pytest.mark.postgres
@on_postgresql
def test_postgresql_stores_the_vector_and_corrects_with_trigrams(flow):
    certify(flow, "Raisins, sultana", hs_code="080620")
    with connection.cursor() as cursor:
        cursor.execute("SELECT vector::text FROM certification_registerentry")
        assert "'nraisins'" in cursor.fetchone()[0]
    page = search.search(Criteria(q="sultanna"))
    assert names(Criteria(q="sultanna")) == ["Raisins, sultana"]
    assert page.corrected[0].alternatives[0] == "sultana"


def test_money_is_not_in_the_register(flow):
    product = certify(flow, "Cashmere sweater", hs_code="611012")
    # The product's price and its materials' values stay in the certificate's snapshot only.
    snapshot = certificate_of(product).product_snapshot
    assert Decimal(snapshot["ex_works_price"]) == product.ex_works_price == Decimal("10.00")
    assert [m["value"] for m in snapshot["materials"]] == ["3.00"]
    entry = RegisterEntry.objects.values().get()
    texts = {field: value for field, value in entry.items() if isinstance(value, str)}
    assert "terms" in texts and "product_name" in texts
    for money in ("10.00", "3.00"):
        assert [field for field, value in texts.items() if money in value] == [], money
