"""The examples of docs/api.md work against the registry: the Python code blocks are run as
written (checking a certificate token offline against the published key set, checking it
against the state's signed status list, receiving a webhook delivery), and the worked
check-digit computation is the one the code makes."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.utils import timezone

from certification.core.numbering import format_number, parse_number
from certification.models import Application, OutboxEvent
from certification.notifications import webhooks
from certification.verification import signing, status_list
from certification.workflow import services
from tests.api.conftest import client_for
from tests.certification.conftest import Flow

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TEXT = DOCUMENT.read_text()


def _examples():
    """Every ```python block of the document, run in one namespace, as a reader would."""
    blocks = re.findall(r"```python\n(.*?)```", TEXT, re.DOTALL)
    assert len(blocks) == 3, "docs/api.md: the token check, the status list, the webhook receiver"
    namespace = {}
    for block in blocks:
        exec(compile(block, str(DOCUMENT), "exec"), namespace)
    return namespace


EXAMPLES = _examples()
check_certificate_token = EXAMPLES["check_certificate_token"]
check_status_list = EXAMPLES["check_status_list"]
verify_offline = EXAMPLES["verify_offline"]
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


def test_a_status_list_is_not_a_certificate_token(certificate):
    with pytest.raises(jwt.InvalidTokenError, match="not a certificate token"):
        check_certificate_token(_status_list(), _key_set())


def _status_list(state="UZ"):
    response = client_for().get(f"/.well-known/mca-status/{state}.jws")
    assert response.status_code == 200
    return response.content.decode("ascii")


def test_offline_a_certificate_no_list_names_is_valid_as_of_the_list(certificate):
    listed = _status_list()
    claims = check_status_list(listed, _key_set())
    as_of = datetime.fromtimestamp(claims["iat"], UTC)
    assert verify_offline(certificate.token, listed, _key_set()) == (
        f"{certificate.number} is valid as of {as_of:%Y-%m-%d %H:%M} UTC"
    )


def test_offline_a_revoked_certificate_is_reported(certificate, django_capture_on_commit_callbacks):
    reviewer = Flow("UZ").reviewer
    with django_capture_on_commit_callbacks(execute=True):  # the list is made on commit
        services.certificate_revoke(actor=reviewer, number=certificate.number, reason="Forged")
    certificate.refresh_from_db()
    day = certificate.status_changed_at.astimezone(ZoneInfo("Asia/Tashkent")).date()
    assert verify_offline(certificate.token, _status_list(), _key_set()) == (
        f"{certificate.number} is REVOKED since {day.isoformat()}"
    )


def test_offline_a_forged_list_is_refused(certificate):
    signing.ensure_keys_present()  # Kazakhstan's key is in the set
    listed, key_set = _status_list(), _key_set()
    header, payload, signature = listed.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["count"] += 1
    changed = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verify_offline(certificate.token, f"{header}.{changed}.{signature}", key_set)

    typ = status_list.TYP
    kid = jwt.get_unverified_header(listed)["kid"]
    stranger = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid, "typ": typ}
    )
    with pytest.raises(jwt.InvalidSignatureError):
        verify_offline(certificate.token, stranger, key_set)

    kazakh_kid, kazakh_key = signing.active_key("KZ")
    kazakh = jwt.encode(
        claims, kazakh_key, algorithm="EdDSA", headers={"kid": kazakh_kid, "typ": typ}
    )
    with pytest.raises(jwt.InvalidIssuerError):
        verify_offline(certificate.token, kazakh, key_set)

    # The secretariat's key signs checkpoints only: it is not in the authorities' key set.
    secretariat_kid, secretariat_key = signing.active_key(signing.SECRETARIAT)
    secretariat = jwt.encode(
        claims, secretariat_key, algorithm="EdDSA", headers={"kid": secretariat_kid, "typ": typ}
    )
    with pytest.raises(KeyError):
        verify_offline(certificate.token, secretariat, key_set)

    with pytest.raises(jwt.InvalidTokenError, match="not a status list"):
        verify_offline(certificate.token, certificate.token, key_set)


def test_offline_an_expired_list_is_refused(certificate):
    yesterday = timezone.now() - timedelta(hours=settings.STATUS_LIST_VALID_HOURS + 1)
    old = signing.sign_claims(
        "UZ", status_list.claims_for("UZ", {}, now=yesterday), typ=status_list.TYP
    )
    # Genuine, and refused only for its age.
    assert jwt.decode(old, options={"verify_signature": False, "verify_exp": False})["count"] == 0
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_offline(certificate.token, old, _key_set())


def test_offline_another_state_s_list_is_refused(certificate):
    with pytest.raises(ValueError, match="another state's"):
        verify_offline(certificate.token, _status_list("KZ"), _key_set())


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
    remainder = int(mapped + "00") % 97
    assert remainder == 1
    check_digits = f"{98 - remainder:02d}"  # as docs/api.md computes them
    assert check_digits == number[-2:] == "97"
    assert int(mapped + check_digits) % 97 == 1
    # The same steps give every number's check digits, two digits where the result is < 10.
    padded = 0
    for sequence in range(1, 300):
        digits = "".join(str(int(c, 36)) for c in f"MCAUZ2026{sequence:06d}")
        expected = f"{98 - int(digits + '00') % 97:02d}"
        assert format_number("UZ", 2026, sequence)[-2:] == expected, sequence
        padded += expected.startswith("0")
    assert padded
    for text in (number, "MCAUZ2026000123", mapped, mapped + "00", mapped + "97"):
        assert f"`{text}`" in TEXT
