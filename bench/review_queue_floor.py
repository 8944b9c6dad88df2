"""The floor of bench/review_queue.py: the database work of each workspace page with psycopg and
no Django.

bench/review_queue_measure.py records, for every request the benchmark makes (a path and a
reviewer's session), the SQL Django sends to PostgreSQL for it (the session, the user, the
counts, the page), exactly as sent, into a JSON file. This raw WSGI application, served by
gunicorn as ``bench.review_queue_floor:floor_app`` with the same settings as the registry (the file
in ``BENCH_QUEUE_QUERIES``, the database in ``BENCH_FLOOR_DSN``), answers the same request by
sending those statements one after another on a persistent autocommit connection, as Django
does (client-side binding, never prepared), reading every row, and returning a short body.
What the page costs beyond that is Django's: ORM, middleware, templates. Nothing here may
import Django.
"""

import json
import os
from http.cookies import SimpleCookie

import psycopg

_connection = None  # one per worker process, opened on its first request
_queries = None


def request_key(path, session):
    """How the floor finds a request's statements: the path with its query string and the
    reviewer's session key."""
    return f"{path}|{session}"


def floor_app(environ, start_response):
    """WSGI: a recorded request -> its statements run, "ok"; anything else 404."""
    global _connection, _queries

    if _queries is None:
        with open(os.environ["BENCH_QUEUE_QUERIES"], encoding="utf-8") as file:
            _queries = json.load(file)
    path = environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        path += "?" + environ["QUERY_STRING"]
    cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    session = cookie["sessionid"].value if "sessionid" in cookie else ""
    statements = _queries.get(request_key(path, session))
    if statements is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not recorded"]
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(
            os.environ["BENCH_FLOOR_DSN"],
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
            prepare_threshold=None,
        )
    rows = 0
    with _connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description is not None:
                rows += len(cursor.fetchall())
    body = f"ok {len(statements)} statements, {rows} rows".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
