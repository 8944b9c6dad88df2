"""The OpenAPI contract: valid, complete, and a schema-driven fuzz run finds no 5xx."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.urls import get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from tests.api.conftest import client_for

EXPECTED_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/auth/register/": {"post"},
    "/api/v1/auth/tokens/": {"get", "post"},
    "/api/v1/auth/tokens/{id}/": {"get", "delete"},
    "/api/v1/producers/": {"get", "post"},
    "/api/v1/producers/{id}/": {"get"},
    "/api/v1/producers/{id}/members/": {"post"},
    "/api/v1/products/": {"get", "post"},
    "/api/v1/products/{id}/": {"get", "patch"},
    "/api/v1/products/{id}/origin/": {"get"},
    "/api/v1/applications/": {"get", "post"},
    "/api/v1/applications/{id}/": {"get"},
    "/api/v1/applications/{id}/documents/": {"post"},
    "/api/v1/certificates/": {"get"},
    "/api/v1/certificates/{number}/": {"get"},
    **{
        f"/api/v1/applications/{{id}}/{action}/": {"post"}
        for action in ("submit", "withdraw", "start-review", "approve", "reject", "request-changes")
    },
    **{
        f"/api/v1/certificates/{{number}}/{action}/": {"post"}
        for action in ("suspend", "reinstate", "revoke")
    },
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_passes_validation(schema):
    validate_schema(schema)


def test_schema_lists_every_endpoint_with_its_errors(schema):
    for path, methods in EXPECTED_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert any(code.startswith("2") for code in codes), (method, path)
            public = {} in operation.get("security", [{}])
            if path.startswith("/api/v1/auth/"):
                assert {"400", "429"} <= codes, (method, path)
            if not public:
                # A reviewer's or the secretariat's token without a second factor: 403.
                assert {"401", "403", "429"} <= codes, (method, path)


def test_the_sign_in_names_its_error_codes(schema):
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert "`invalid_credentials`" in responses["400"]["description"]
    assert "`invalid_otp`" in responses["400"]["description"]
    assert "`otp_required`" in responses["401"]["description"]
    assert "`second_factor_required`" in responses["403"]["description"]


def test_schema_and_docs_are_public(db):
    anonymous = client_for()
    response = anonymous.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert b"/api/v1/applications/{id}/approve/" in response.content
    docs = anonymous.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()  # served locally through the sidecar


def test_url_names_are_unique():
    names = [p.name for p in get_resolver().url_patterns if getattr(p, "name", None)]
    assert len(names) == len(set(names))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def live_registry(tmp_path_factory):
    """The registry as it runs for real: its own embedded database under a temporary
    VAR_DIR (migrated and seeded with the demo data), served by gunicorn on loopback.
    (Django's development server stalls on some of the fuzzer's odd requests.)"""
    var = tmp_path_factory.mktemp("live-registry")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SIGNING_KEYS_DIR")
    }
    env.update(
        VAR_DIR=str(var),
        DEBUG="true",
        SECURE_SSL_REDIRECT="false",
        THROTTLE_ADDRESS="100000/min",
        THROTTLE_TOKEN="100000/min",
        THROTTLE_CUSTOMS="100000/min",
        THROTTLE_AUTH="100000/min",
    )
    python = sys.executable
    for command in (["migrate", "--no-input"], ["seed_demo"]):
        subprocess.run(
            [python, "manage.py", *command],
            env=env,
            check=True,  # noqa: S603
            capture_output=True,
            cwd=ROOT,
            timeout=300,
        )
    tokens = subprocess.run(  # noqa: S603
        [python, "manage.py", "shell", "-c", TOKEN_SCRIPT],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    ).stdout.split()
    tokens = [
        word for previous, word in zip(tokens, tokens[1:], strict=False) if previous == "TOKEN"
    ]
    port = _free_port()
    log = open(var / "gunicorn.log", "wb")  # noqa: SIM115 - read on failure, closed below
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(python).with_name("gunicorn")),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--timeout",
            "60",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,  # a pipe nobody reads would fill up
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v1/schema/", timeout=2)  # noqa: S310
            break
        except OSError:
            time.sleep(0.3)
    yield url, dict(zip(("manufacturer", "reviewer", "customs"), tokens, strict=True))
    server.terminate()
    server.wait(timeout=20)
    log.close()


ROOT = Path(__file__).resolve().parents[2]
# The demo reviewer has the demo authenticator app (seed_demo on the embedded default), so
# its token acts.
TOKEN_SCRIPT = """
from certification.workflow.accounts import token_issue
from registry.models import User
for email in ("maker1-uz@demo.mca.example", "reviewer-uz@demo.mca.example",
              "customs-kz@demo.mca.example"):
    print("TOKEN", token_issue(actor=User.objects.get(email=email), name="fuzz")[1])
"""


@pytest.mark.parametrize(
    ("role", "phases"),
    [
        ("manufacturer", "examples,coverage,fuzzing"),
        ("reviewer", "examples,fuzzing"),
        ("customs", "examples,fuzzing"),
    ],
)
def test_schemathesis_fuzz_finds_no_server_error(live_registry, role, phases, tmp_path):
    """Schema-driven fuzzing of every operation against the live server, authenticated as
    each kind of caller of the demo data: no answer may be a 5xx."""
    st = Path(sys.executable).with_name("st")
    if not st.exists():
        pytest.skip("schemathesis is not installed (requirements-dev.txt)")
    url, tokens = live_registry
    result = subprocess.run(  # noqa: S603
        [
            str(st),
            "run",
            f"{url}/api/v1/schema/",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Token {tokens[role]}",
            "--max-examples",
            os.environ.get("FUZZ_EXAMPLES", "10"),
            "--phases",
            phases,
            "--workers",
            "1",
            "--no-color",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary + result.stderr[-2000:]
    assert " passed" in summary
