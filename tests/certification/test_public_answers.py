"""The public answers any web page may fetch and caches may keep (the key sets, the status
lists, the audit checkpoints, docs/api.md): their 304s allow any origin like their 200s,
and, being the same in every language, they do not vary with Accept-Language."""

import pytest
from django.test import Client

URLS = [
    "/.well-known/jwks.json",
    "/.well-known/mca-status/UZ.jws",
    "/transparency/jwks.json",
    "/transparency/checkpoints/",
]


@pytest.mark.parametrize("url", URLS)
def test_a_304_allows_any_origin_like_the_200(db, url):
    web = Client()
    fresh = web.get(url)
    assert fresh.status_code == 200 and fresh["Access-Control-Allow-Origin"] == "*"
    cached = web.get(url, HTTP_IF_NONE_MATCH=fresh["ETag"])
    assert cached.status_code == 304
    assert cached["Access-Control-Allow-Origin"] == "*"
    assert cached["ETag"] == fresh["ETag"] and cached["Cache-Control"] == fresh["Cache-Control"]


@pytest.mark.parametrize("url", URLS)
def test_the_answers_do_not_vary_with_the_language(db, url):
    web = Client()
    answers = [
        web.get(url, HTTP_ACCEPT_LANGUAGE="ru"),
        web.get(url, HTTP_ACCEPT_LANGUAGE="uz"),
    ]
    answers.append(web.get(url, HTTP_IF_NONE_MATCH=answers[0]["ETag"]))
    for answer in answers:
        assert "accept-language" not in answer.get("Vary", "").lower()
        assert not answer.has_header("Content-Language")
    assert answers[0].content == answers[1].content


def test_pages_still_vary_with_the_language(db):
    page = Client().get("/verify/", HTTP_ACCEPT_LANGUAGE="ru")
    assert "Accept-Language" in page["Vary"] and page["Content-Language"] == "ru"
