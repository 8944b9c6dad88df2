"""The measurements of bench/verify.py: both servers, the wrk runs and the bulk timing.

``measure`` serves the floor (bench/verify_floor.py) and the registry with the same gunicorn
settings on free loopback ports, warms both up, then loads them with wrk in alternating
rounds (a Lua script asking for random existing numbers) while counting the CPU time the
requests cost, and times the bulk endpoint. It returns the figures; bench/verify_report.py
prints them.

CPU per request: requests/s depend on what else the machine is doing; the CPU time one
request costs (the gunicorn workers, PostgreSQL, Redis and wrk itself, read from /proc)
much less so. Its ratio is what the throughput ratio would be on an otherwise idle machine.
"""

import contextlib
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

from bench.verify_seed import certificate_number

ROOT = Path(__file__).resolve().parents[1]
SERVERS = {"floor": "bench.verify_floor:floor_app", "django": "config.wsgi:application"}

LUA = """
local numbers = {%(numbers)s}
local headers = {["Authorization"] = "Token %(token)s", ["Accept"] = "application/json"}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 100 + id)
end
function request()
  local number = numbers[math.random(#numbers)]
  return wrk.format("GET", "/api/v1/certificates/" .. number .. "/verify/", headers)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def measure(args, env, dsn, workdir, token, count):
    """({"floor": [run, ...], "django": [run, ...]}, the bulk timing, the load average
    (1 min) before and after): `args.rounds` wrk runs of each server, alternating."""
    sample = random.Random(7).sample(range(1, count + 1), min(20_000, count))
    numbers = [certificate_number(i)[0] for i in sample]
    script = workdir / "verify.lua"
    script.write_text(LUA % {"numbers": ",".join(f'"{n}"' for n in numbers), "token": token})
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    probe = f"/api/v1/certificates/{numbers[0]}/verify/"
    load_before = os.getloadavg()[0]
    envs = {"floor": {**env, "BENCH_FLOOR_DSN": dsn}, "django": env}
    ports = dict(zip(SERVERS, _free_ports(len(SERVERS)), strict=True))
    runs = {name: [] for name in SERVERS}
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(gunicorn(app, envs[name], args.workers, ports[name]))
            for name, app in SERVERS.items()
        }
        for name, (process, log) in servers.items():
            wait_ready(ports[name], probe, headers, process, log)
            run_wrk(ports[name], script, args.warmup, args.connections, args.threads)
        # Alternate, so that a change in the machine's load touches both alike.
        for _round in range(args.rounds):
            for name in SERVERS:
                runs[name].append(
                    run_wrk(
                        ports[name],
                        script,
                        args.duration,
                        args.connections,
                        args.threads,
                        master=servers[name][0].pid,
                    )
                )
        bulk_result = bulk(ports["django"], headers, count)
    return runs, bulk_result, (load_before, os.getloadavg()[0])


# --- Servers -------------------------------------------------------------------------------


def _free_ports(count):
    """Distinct free loopback ports (the sockets are held together, then released)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


@contextlib.contextmanager
def gunicorn(app, env, workers, port):
    """Serve the WSGI `app` with gunicorn sync workers on 127.0.0.1:`port`; yields the
    master process and the file its output goes to; stops it on the way out."""
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        app,
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--backlog",
        "2048",
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process, log
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _request(port, path, headers=None, body=None, timeout=10):
    """(status, body) of a GET, or of a POST when there is a body."""
    connection = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        method = "POST" if body is not None else "GET"
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_ready(port, path, headers, process, log, timeout=60):
    """Wait until the server answers `path` with 200; stop on any other answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"The server stopped:\n{log.read().decode(errors='replace')}")
        with contextlib.suppress(OSError):
            status, body = _request(port, path, headers)
            if status == 200:
                return
            raise SystemExit(f"{path} answered {status}: {body[:500]!r}")
        time.sleep(0.2)
    raise SystemExit(f"The server on port {port} did not answer within {timeout} s.")


# --- Load ----------------------------------------------------------------------------------


def run_wrk(port, script, duration, connections, threads, master=None):
    """One wrk run's figures; with the gunicorn `master`, also the CPU ms a request cost."""
    before = _serving_cpu(master) if master else {}
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = _run_wrk(port, script, duration, connections, threads)
    load_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if master:
        after = _serving_cpu(master)
        serving = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
        load = (load_after.ru_utime + load_after.ru_stime) - (
            load_before.ru_utime + load_before.ru_stime
        )
        result["cpu_ms"] = (serving + load) * 1000 / max(result["requests"], 1)
    return result


def wrk_result(port, script, duration, connections, threads):
    """One wrk run of the Lua script: the numbers of the line "RESULT ..." its done() writes."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=duration + 60
    )
    if result.returncode != 0 or "RESULT " not in result.stdout:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    return [int(number) for number in line.split()[1:]]


def _run_wrk(port, script, duration, connections, threads):
    result = wrk_result(port, script, duration, connections, threads)
    requests, micros, status, connect, io_errors, timeouts, p50, p99 = result
    return {
        "rps": requests / (micros / 1e6),
        "requests": requests,
        "non_2xx": status,
        "socket_errors": connect + io_errors + timeouts,
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
    }


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid):
    """(command name, parent pid, CPU seconds) of a process from /proc, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _serving_cpu(master):
    """{pid: CPU seconds} of a gunicorn master's workers and of every PostgreSQL and Redis
    process on this machine."""
    found = {}
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if entry.name.isdigit() and (stat := _stat(entry.name)) is not None:
            name, parent, seconds = stat
            if parent == master or name.startswith(("postgres", "redis-server")):
                found[entry.name] = seconds
    return found


# --- Bulk ----------------------------------------------------------------------------------


def bulk(port, headers, count, runs=20):
    """Time POST /api/v1/certificates/verify/ with 1000 random existing numbers, `runs`
    times after 3 warm-up runs."""
    rng = random.Random(8)
    timings = []
    headers = {**headers, "Content-Type": "application/json"}
    for run in range(runs + 3):
        numbers = [certificate_number(rng.randint(1, count))[0] for _ in range(1000)]
        body = json.dumps({"numbers": numbers})
        started = time.perf_counter()
        status, data = _request(port, "/api/v1/certificates/verify/", headers, body)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            raise SystemExit(f"bulk verify answered {status}: {data[:300]!r}")
        results = json.loads(data)["results"]
        if len(results) != 1000 or any(r["status"] == "not_found" for r in results):
            raise SystemExit("bulk verify did not find every number")
        if run >= 3:  # the first runs warm the worker
            timings.append(elapsed)
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p90_ms": timings[int(len(timings) * 0.9) - 1],
        "max_ms": timings[-1],
        "runs": runs,
    }
