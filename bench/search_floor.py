"""The floor of bench/search.py: the statements each search ran, replayed through psycopg
alone, in a process of its own. Nothing here may import Django.

    python bench/search_floor.py DSN STATEMENTS.json TIMINGS.json

STATEMENTS.json holds, for every query of the run, the SQL statements and parameters that
certification/register/search.py sent for it (recorded by the Django worker); the floor
runs them once to warm up, then once more timed, a query at a time: every statement of the
query, each answer fetched whole, as Django's cursor does. It binds parameters on the
client (psycopg's ClientCursor), as Django's PostgreSQL backend does by default, so both
send the database the very same text.
"""

import datetime
import json
import sys
import time
from pathlib import Path

# Not bench/ first on the path: a module there (bench/queue.py) would stand in for the
# standard library's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import psycopg  # noqa: E402


def decode(value):
    if isinstance(value, dict) and "datetime" in value:
        return datetime.datetime.fromisoformat(value["datetime"])
    return value


def replay(connection, statements):
    with psycopg.ClientCursor(connection) as cursor:
        for sql, params in statements:
            cursor.execute(sql, [decode(p) for p in params])
            cursor.fetchall()


def main(dsn, statements_path, timings_path):
    with open(statements_path) as file:
        queries = json.load(file)
    with psycopg.connect(dsn, autocommit=True) as connection:
        for query in queries:  # warm-up
            replay(connection, query)
        timings = []
        for query in queries:
            started = time.perf_counter()
            replay(connection, query)
            timings.append(time.perf_counter() - started)
    with open(timings_path, "w") as file:
        json.dump(timings, file)


if __name__ == "__main__":
    main(*sys.argv[1:4])
