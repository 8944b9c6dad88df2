"""The measurements of bench/review_queue.py: which requests, the SQL they run, both servers and
the wrk runs.

``requests_by_kind`` lists, for each kind of page the benchmark measures, the requests it
makes (a path and the session of the reviewer of one state). ``record`` sends each request
once through Django in this process (the test client, the production settings, the bench
database) and keeps the statements it sent to PostgreSQL, exactly as sent; the floor
(bench/review_queue_floor.py) replays them. ``measure`` serves the floor and the registry with the
same gunicorn settings (bench/verify_measure.py's), checks every request answers 200 on both,
warms both up, then loads each kind with wrk from a second process, floor and Django in
turn, and returns the latency percentiles. ``explain`` shows PostgreSQL's plans of a kind's
statements.

CPU per request: on a machine shared with other work, latencies grow with the queue for
the CPU. The CPU time a request costs (the gunicorn workers and the PostgreSQL backends of
the bench database, read from /proc) hardly does: for one request at a time on an idle
machine it is about the latency.
"""

import contextlib
import json
import os
from pathlib import Path

from bench.review_queue_floor import request_key
from bench.verify_measure import (
    _free_ports,
    _request,
    _stat,
    gunicorn,
    wait_ready,
    wrk_result,
)

SERVERS = {"floor": "bench.review_queue_floor:floor_app", "django": "config.wsgi:application"}
KINDS = ("default", "page 20", "chapter", "age", "decided", "application")
AGES = (30, 60)

LUA = """
local targets = {%(targets)s}
local counter = 0
local threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 100 + id)
  bad = 0
end
function request()
  local t = targets[math.random(#targets)]
  return wrk.format("GET", t[1], {["Cookie"] = "sessionid=" .. t[2]})
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("bad") end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, bad + e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def requests_by_kind(sessions, chapters, waiting):
    """{kind: [(path, session key), ...]}: what each kind asks for, as every state's
    reviewer. `sessions` {state: session key}; `waiting` {state: [application id, ...]}."""
    everyone = list(sessions.items())
    return {
        "default": [("/workspace/", s) for _cc, s in everyone],
        "page 20": [("/workspace/?page=20", s) for _cc, s in everyone],
        "chapter": [(f"/workspace/?chapter={ch}", s) for ch in chapters for _cc, s in everyone],
        "age": [(f"/workspace/?older_than={days}", s) for days in AGES for _cc, s in everyone],
        "decided": [("/workspace/?view=decided", s) for _cc, s in everyone],
        "application": [
            (f"/workspace/applications/{pk}/", sessions[cc])
            for cc, ids in waiting.items()
            for pk in ids
        ],
    }


def sessions_of(reviewer_ids):
    """{state: session key}: each state's reviewer signed in (a session in the database,
    as after the sign-in page, confirmed by an authenticator app where the registry asks
    officials for a second factor)."""
    from django.conf import settings
    from django.test import Client

    from registry.models import User

    found = {}
    for cc, pk in reviewer_ids.items():
        user = User.objects.get(pk=pk)
        client = Client()
        client.force_login(user)
        if getattr(user, "needs_second_factor", False):
            _confirm_second_factor(client.session, user)
        found[cc] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return found


def _confirm_second_factor(session, user):
    """The session confirmed by the user's authenticator app (made for the occasion), as
    the sign-in's second step confirms it."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from registry.models import AuthenticatorDevice

    device = AuthenticatorDevice(user=user, name="bench", confirmed=True)
    device.key = AuthenticatorDevice.new_key()
    device.save()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def record(kinds):
    """({request key: [statement, ...]}, {kind: statements per request, min and max}):
    every request sent once through Django here, with the statements it sent."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    statements, counts = {}, {}
    for kind, requests in kinds.items():
        for path, session in requests:
            client.cookies["sessionid"] = session
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code} in this process.")
            sql = [query["sql"] for query in captured.captured_queries]
            statements[request_key(path, session)] = sql
            low, high = counts.get(kind, (len(sql), len(sql)))
            counts[kind] = (min(low, len(sql)), max(high, len(sql)))
    return statements, counts


def explain(dsn, statements):
    """PostgreSQL's plans (EXPLAIN ANALYZE, BUFFERS) of the statements that read the
    applications, their events or documents, as text."""
    import psycopg

    out = []
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as db:
        for sql in statements:
            if "certification_" not in sql:
                continue
            plan = db.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
            out.append(sql)
            out.extend("    " + line for (line,) in plan)
    return "\n".join(out)


def measure(args, env, dsn, workdir, kinds, statements):
    """({kind: {"floor": [run, ...], "django": [run, ...]}}, the load average (1 min)
    before and after): `args.rounds` wrk runs of each kind on each server."""
    queries = workdir / "queries.json"
    queries.write_text(json.dumps(statements))
    scripts = {kind: _script(workdir, kind, requests) for kind, requests in kinds.items()}
    everything = _script(workdir, "all", [r for requests in kinds.values() for r in requests])
    envs = {
        "floor": {**env, "BENCH_FLOOR_DSN": dsn, "BENCH_QUEUE_QUERIES": str(queries)},
        "django": env,
    }
    ports = dict(zip(SERVERS, _free_ports(len(SERVERS)), strict=True))
    runs = {kind: {name: [] for name in SERVERS} for kind in kinds}
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(gunicorn(app, envs[name], args.workers, ports[name]))
            for name, app in SERVERS.items()
        }
        for name, (process, log) in servers.items():
            path, session = kinds["default"][0]
            wait_ready(ports[name], path, _headers(session), process, log)
            _check_all(ports[name], kinds)
            run_wrk(ports[name], everything, args.warmup, args.connections)
        # Alternate, so that a change in the machine's load touches both alike.
        for _round in range(args.rounds):
            for kind in kinds:
                for name in SERVERS:
                    before = _serving_cpu(servers[name][0].pid, args.database)
                    run = run_wrk(ports[name], scripts[kind], args.duration, args.connections)
                    after = _serving_cpu(servers[name][0].pid, args.database)
                    spent = sum(after[pid] - before.get(pid, 0.0) for pid in after)
                    run["cpu_ms"] = spent * 1000 / max(run["requests"], 1)
                    runs[kind][name].append(run)
    return runs, (load_before, os.getloadavg()[0])


def _serving_cpu(master, database):
    """{pid: CPU seconds} of a gunicorn master's workers and of the PostgreSQL backends
    connected to the bench database (not those of other work on the machine)."""
    found = {}
    marker = f" {database} ".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or (stat := _stat(entry.name)) is None:
            continue
        name, parent, seconds = stat
        if parent == master:
            found[entry.name] = seconds
        elif name.startswith("postgres"):
            with contextlib.suppress(OSError):
                if marker in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                    found[entry.name] = seconds
    return found


def _headers(session):
    return {"Cookie": f"sessionid={session}"}


def _check_all(port, kinds):
    """Every request answers 200 (not the sign-in page's redirect: a lost session)."""
    for requests in kinds.values():
        for path, session in requests:
            status, body = _request(port, path, _headers(session))
            if status != 200:
                raise SystemExit(f"{path} answered {status} on port {port}: {body[:300]!r}")


def _script(workdir, name, requests):
    script = workdir / f"queue-{name.replace(' ', '-')}.lua"
    targets = ",".join(f'{{"{path}","{session}"}}' for path, session in requests)
    script.write_text(LUA % {"targets": targets})
    return script


def run_wrk(port, script, duration, connections):
    """One wrk run (one thread, `connections` connections) of the script's requests."""
    requests, micros, failed, socket_errors, p50, p95, p99, most = wrk_result(
        port, script, duration, connections, threads=1
    )
    return {
        "rps": requests / (micros / 1e6),
        "requests": requests,
        "failed": failed + socket_errors,
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
        "max_ms": most / 1000,
    }
