"""The examples of docs/api.md work against the registry: the Python code blocks are run as
written (checking a certificate token offline against the published key set, receiving a
webhook delivery), and the worked check-digit computation is the one the code makes."""

import json
import re
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from certification.core.numbering import format_number, parse_number
from certification.models import Application, OutboxEvent
from certification.notifications import webhooks
from certification.verification import signing
from tests.api.conftest import client_for
from tests.certification.conftest import Flow

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TEXT = DOCUMENT.read_text()


def _examples():
    """Every ```python block of the document, run in one namespace, as a reader would."""
    blocks = re.findall(r"```python\n(.*?)```", TEXT, re.DOTALL)
    assert len(blocks) == 2, "docs/api.md: the token check and the webhook receiver"
    namespace = {}
    for block in blocks:
        exec(compile(block, str(DOCUMENT), "exec"), namespace)
    return namespace


EXAMPLES = _examples()
check_certificate_token = EXAMPLES["check_certificate_token"]
receive = EXAMPLES["receive"]


@pytest.fixture
def keys(settings, tmp_path):
    # Keys of this test only: the retired-key case rotates a state's key.
    settings.SIGNING_KEYS_DIR = tmp_path / "keys"


@pytest.fixture
def certificate(db, keys):
    return Flow("UZ").application(Application.Status.APPROVED).certificate


def _key_set():
    response = client_for().get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


def test_a_genuine_token_gives_its_claims(certificate):
    claims = check_certificate_token(certificate.token, _key_set())
    assert claims["sub"] == certificate.number
    assert claims["iss"] == "UZ"
    assert claims["hs"] == certificate.product_snapshot["hs_code"]


def test_a_token_signed_by_a_retired_key_still_checks(certificate):
    signing.rotate_key("UZ")
    key_set = _key_set()
    assert len([key for key in key_set["keys"] if key["kid"].startswith("uz-")]) == 2
    assert check_certificate_token(certificate.token, key_set)["sub"] == certificate.number


def test_a_changed_token_is_refused(certificate):
    header, payload, signature = certificate.token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["prd"] = "Something else"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        check_certificate_token(f"{header}.{forged_payload}.{signature}", _key_set())


def test_a_key_vouches_only_for_its_own_state(certificate):
    kid, kazakh_key = signing.active_key("KZ")
    now = int(timezone.now().timestamp())
    claims = {"iss": "UZ", "sub": certificate.number, "nbf": now, "exp": now + 60, "iat": now}
    forged = jwt.encode(claims, kazakh_key, algorithm="EdDSA", headers={"kid": kid})
    with pytest.raises(jwt.InvalidIssuerError):
        check_certificate_token(forged, _key_set())


def test_a_key_the_registry_never_published_is_refused(keys):
    signing.ensure_keys_present()
    stranger = Ed25519PrivateKey.generate()
    now = int(timezone.now().timestamp())
    claims = {"iss": "UZ", "sub": "MCA-UZ-2026-000123-97", "nbf": now, "exp": now + 60}
    token = jwt.encode(
        {**claims, "iat": now}, stranger, algorithm="EdDSA", headers={"kid": "uz-20260101-00000000"}
    )
    with pytest.raises(KeyError):
        check_certificate_token(token, _key_set())


def test_a_token_past_its_validity_is_refused_by_default(keys):
    now = int(timezone.now().timestamp())
    claims = {"iss": "UZ", "sub": "MCA-UZ-2026-000123-97", "hs": "610910"}
    token = signing.sign_claims(
        "UZ", {**claims, "nbf": now - 7200, "exp": now - 3600, "iat": now - 7200}
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        check_certificate_token(token, _key_set())


def test_the_webhook_receiver(certificate):
    event = OutboxEvent.objects.get(event="certificate.issued", certificate=certificate)
    secret = "whsec_example-secret"
    body = webhooks.body_bytes(event, sent_at=timezone.now())
    signature = webhooks.signature(secret, body)
    handled = set()

    assert receive(secret, body, signature, handled) == (200, json.loads(body))
    assert receive(secret, body, signature, handled) == (200, None)  # a repeated delivery
    assert receive(secret, body + b" ", signature, set()) == (401, None)
    assert receive("whsec_another", body, signature, set()) == (401, None)

    stale = webhooks.body_bytes(event, sent_at=timezone.now() - timedelta(hours=1))
    assert receive(secret, stale, webhooks.signature(secret, stale), set()) == (400, None)


def test_the_worked_check_digits_are_the_codes():
    number = "MCA-UZ-2026-000123-97"
    assert format_number("UZ", 2026, 123) == number
    assert str(parse_number(" mca-uz-2026-000123-97 ")) == number
    mapped = "".join(str(ord(c) - ord("A") + 10) if c.isalpha() else c for c in "MCAUZ2026000123")
    assert mapped == "22121030352026000123"
    assert int(mapped + "00") % 97 == 1 and 98 - 1 == 97
    assert int(mapped + "97") % 97 == 1
    for text in (number, "MCAUZ2026000123", mapped, mapped + "00", mapped + "97"):
        assert f"`{text}`" in TEXT
