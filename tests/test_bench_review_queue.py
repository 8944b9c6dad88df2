"""bench/review_queue.py loads rows the registry would hold and asks for pages that exist: its
pure parts checked against the models, the audit actions and the queue's filter form, so
that the benchmark cannot rot unnoticed."""

import datetime
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import resolve

from bench.review_queue_floor import floor_app, request_key
from bench.review_queue_measure import KINDS, requests_by_kind, sessions_of
from bench.review_queue_seed import (
    DECIDED,
    application_record,
    application_rows,
    catalogue,
    chapters,
    document_rows,
    event_rows,
    product_entry,
    sizes,
)
from bench.verify_seed import STATES, staff
from certification.models import Application
from certification.selectors import HISTORY_LABELS, QUEUE_VIEWS
from portal.workspace import QueueFilter

NOW = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)
ENTRIES = [
    {
        "name": "Cotton T-shirt",
        "hs_code": "610910",
        "hs_description": "T-shirts; of cotton",
        "ex_works_price": "8.00",
        "currency": "USD",
        "process_steps": ["knitting", "sewing"],
        "materials": [],
        "assessment": {
            "verdict": "PASS",
            "rule_set": {"code": "MCA-2026"},
            "rule": {"scope": "61"},
        },
        "verdict": "PASS",
    },
    {
        "name": "Walnuts",
        "hs_code": "080232",
        "hs_description": "Walnuts, shelled",
        "ex_works_price": "4.00",
        "currency": "USD",
        "process_steps": ["packing"],
        "materials": [],
        "assessment": {"verdict": "FAIL", "rule_set": {"code": "MCA-2026"}, "rule": {"scope": ""}},
        "verdict": "FAIL",
    },
]
IDS = {"reviewers": {cc: 10 + n for n, cc in enumerate(STATES)}, "maker": 3}


@pytest.fixture(scope="module")
def rows():
    return list(application_rows(6000, NOW))


def test_rows_are_consistent_applications(rows):
    producers, products = sizes(6000)
    statuses = set(Application.Status.values)
    assert [row["id"] for row in rows] == list(range(1, 6001))
    for row in rows:
        assert row["status"] in statuses
        # The application, its product and the product's producer are in one state.
        assert STATES[(row["product"] - 1) % 6] == row["state"]
        assert STATES[(row["producer"] - 1) % 6] == row["state"]
        assert 1 <= row["product"] <= products and 1 <= row["producer"] <= producers
        if row["status"] == "draft":
            assert row["submitted_at"] is None
            continue
        assert NOW - datetime.timedelta(days=731) <= row["submitted_at"] <= NOW
        assert row["created_at"] <= row["submitted_at"]
        if row["status"] in DECIDED:
            assert row["submitted_at"] < row["decided_at"] < NOW
        else:
            assert row["decided_at"] is None


def test_the_mix_is_mostly_decided_with_a_queue_in_every_state(rows):
    for cc in STATES:
        mine = [row for row in rows if row["state"] == cc]
        waiting = sum(row["status"] in QUEUE_VIEWS["waiting"] for row in mine)
        decided = sum(row["status"] in QUEUE_VIEWS["decided"] for row in mine)
        assert 0.10 < waiting / len(mine) < 0.20
        assert 0.70 < decided / len(mine) < 0.86


def test_application_records_fill_the_table(rows):
    columns = {field.column for field in Application._meta.concrete_fields}
    assessments = {entry["name"]: json.dumps(entry["assessment"]) for entry in ENTRIES}
    for row in rows[:300]:
        record = application_record(row, IDS, ENTRIES, assessments)
        assert set(record) <= columns
        assert record["member_state_id"] == row["state"]
        if row["submitted_at"] is None:
            assert record["product_snapshot"] is record["assessment"] is None
            continue
        entry = product_entry(row["product"], ENTRIES)
        assert record["product_snapshot"]["hs_code"] == entry["hs_code"]
        assert record["assessment_verdict"] == json.loads(record["assessment"])["verdict"]
        assert (record["reviewer_id"] is not None) == row["reviewed"]
        assert bool(record["override_reason"]) == (
            (row["status"] == "approved" and entry["verdict"] == "FAIL")
            or (row["status"] == "rejected" and entry["verdict"] == "PASS")
        )


def test_events_and_documents_follow_the_applications(rows):
    events = list(event_rows(rows[:600], ENTRIES))
    assert {event["action"] for event in events} <= set(HISTORY_LABELS)
    by_application = {}
    for event in events:
        by_application.setdefault(int(event["target_id"]), []).append(event)
    for row in rows[:600]:
        mine = by_application[row["id"]]
        assert mine[-1]["to_state"] == row["status"]
        assert [e["created_at"] for e in mine] == sorted(e["created_at"] for e in mine)
    submitted = {row["id"] for row in rows[:600] if row["submitted_at"]}
    assert {application for application, _name, _at in document_rows(rows[:600])} == submitted


def test_every_request_is_a_valid_workspace_page():
    kinds = requests_by_kind(
        {cc: f"session-{cc}" for cc in STATES}, ["08", "61"], {cc: [1, 2] for cc in STATES}
    )
    assert tuple(kinds) == KINDS
    for requests in kinds.values():
        assert {session for _path, session in requests} == {f"session-{cc}" for cc in STATES}
        for path, _session in requests:
            url = urlsplit(path)
            assert resolve(url.path).view_name in ("workspace:queue", "workspace:application")
            query = dict(parse_qsl(url.query))
            query.pop("page", None)
            if query:
                assert QueueFilter(query).is_valid(), path


@pytest.mark.django_db
def test_catalogue_holds_real_assessments():
    entries = catalogue()
    assert len(chapters(entries)) >= 5
    assert {entry["verdict"] for entry in entries} == {"PASS", "FAIL"}
    for entry in entries:
        assert entry["assessment"]["verdict"] == entry["verdict"]
        assert entry["hs_description"]


@pytest.mark.django_db
def test_the_bench_reviewers_are_signed_in(client):
    ids = staff()
    for cc, session in sessions_of(ids["reviewers"]).items():
        client.cookies["sessionid"] = session
        response = client.get("/workspace/")
        assert response.status_code == 200, cc
        assert response.context["user"].pk == ids["reviewers"][cc]


def test_floor_answers_only_recorded_requests(tmp_path, monkeypatch):
    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps({request_key("/workspace/", "abc"): []}))
    monkeypatch.setenv("BENCH_QUEUE_QUERIES", str(queries))
    monkeypatch.setattr("bench.review_queue_floor._queries", None)
    answers = []
    body = floor_app(
        {"PATH_INFO": "/workspace/", "QUERY_STRING": "page=2", "HTTP_COOKIE": "sessionid=abc"},
        lambda status, headers: answers.append(status),
    )
    assert answers == ["404 Not Found"] and body == [b"not recorded"]
