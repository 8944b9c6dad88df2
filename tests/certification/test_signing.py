import base64
import json
import re
import stat
import threading
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from certification.core.numbering import MEMBER_STATES
from certification.verification import signing
from certification.verification.signing import (
    KID_PATTERN,
    SigningKeyMissing,
    TokenInvalid,
    active_key,
    certificate_claims,
    ensure_keys_present,
    public_jwks,
    rotate_key,
    sign_claims,
    verify_token,
)

TASHKENT = "Asia/Tashkent"


@pytest.fixture
def keys_dir(settings, tmp_path):
    settings.SIGNING_KEYS_DIR = tmp_path / "keys"
    settings.SIGNING_KEYS_AUTOCREATE = True
    return settings.SIGNING_KEYS_DIR


@pytest.fixture
def production_keys(keys_dir, settings):
    settings.SIGNING_KEYS_AUTOCREATE = False
    return keys_dir


def _claims(**overrides):
    today = datetime.now(UTC).date()
    arguments = {
        "number": "MCA-UZ-2026-000123-97",
        "country": "UZ",
        "hs_code": "610910",
        "product_name": "Футболка трикотажная хлопковая",
        "producer_name": "ООО «Ташкент Текстиль»",
        "tax_id": "301234567",
        "is_individual": False,
        "issued_at": datetime.now(UTC),
        "valid_from": today,
        "valid_until": today + timedelta(days=730),
        "time_zone": TASHKENT,
    }
    arguments.update(overrides)
    return certificate_claims(**arguments)


def _segments(token):
    header, payload, signature = token.split(".")
    return header, payload, signature


def _b64decode(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _published_key(kid):
    (jwk,) = [key for key in public_jwks()["keys"] if key["kid"] == kid]
    return jwt.PyJWK(jwk)


def _utc(timestamp):
    return datetime.fromtimestamp(timestamp, UTC)


# --- tokens verify with any JOSE library ------------------------------------------------


def test_token_verifies_with_pyjwt_against_the_published_jwks(keys_dir):
    claims = _claims()
    token = sign_claims("UZ", claims)

    header = jwt.get_unverified_header(token)
    decoded = jwt.decode(token, _published_key(header["kid"]), algorithms=["EdDSA"])

    assert header == {"alg": "EdDSA", "kid": active_key("UZ")[0], "typ": "JWT"}
    assert decoded == claims
    assert verify_token(token) == claims


def test_payload_is_utf8_without_unicode_escapes(keys_dir):
    token = sign_claims("UZ", _claims())

    raw = _b64decode(_segments(token)[1])

    assert b"\\u" not in raw
    assert "Футболка трикотажная".encode() in raw
    assert "«Ташкент Текстиль»".encode() in raw
    assert b'"iss":"UZ","sub":"MCA-UZ-2026-000123-97"' in raw  # compact separators


def test_names_are_cut_at_64_characters_not_bytes(keys_dir):
    long_name = "Ковёр ручной работы " * 10
    claims = _claims(product_name=long_name, producer_name="Ш" * 65)

    raw = _b64decode(_segments(sign_claims("UZ", claims))[1])
    decoded = verify_token(sign_claims("UZ", claims))

    assert decoded["prd"] == long_name[:64]
    assert len(decoded["prd"]) == 64
    assert decoded["pro"] == "Ш" * 64
    assert ("Ш" * 64).encode() in raw and ("Ш" * 65).encode() not in raw


def test_claims_follow_the_contract(keys_dir):
    issued_at = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)

    claims = _claims(
        issued_at=issued_at, valid_from=date(2026, 3, 10), valid_until=date(2028, 3, 9)
    )

    assert claims == {
        "iss": "UZ",
        "sub": "MCA-UZ-2026-000123-97",
        "hs": "610910",
        "prd": "Футболка трикотажная хлопковая",
        "pro": "ООО «Ташкент Текстиль»",
        "tin": "301234567",
        "nbf": int(issued_at.timestamp()),
        "exp": int(datetime(2028, 3, 9, 19, 0, tzinfo=UTC).timestamp()),
        "iat": int(issued_at.timestamp()),
    }


def test_tax_id_of_an_individual_is_left_out(keys_dir):
    claims = _claims(is_individual=True, tax_id="31507199000012")

    decoded = verify_token(sign_claims("UZ", claims))

    assert "tin" not in decoded
    assert "31507199000012" not in json.dumps(decoded)


def test_exp_is_the_end_of_the_last_day_in_the_issuing_states_zone(keys_dir):
    claims = _claims(valid_until=date(2028, 1, 31))

    assert _utc(claims["exp"]) == datetime(2028, 1, 31, 19, 0, tzinfo=UTC)
    assert _utc(_claims(valid_until=date(2028, 1, 31), time_zone="Asia/Baku")["exp"]) == (
        datetime(2028, 1, 31, 20, 0, tzinfo=UTC)
    )


def test_nbf_of_a_renewal_not_yet_in_force_is_the_start_of_its_first_day(keys_dir):
    claims = _claims(
        issued_at=datetime(2027, 12, 1, 6, 0, tzinfo=UTC),
        valid_from=date(2028, 2, 1),
        valid_until=date(2030, 1, 31),
    )

    assert _utc(claims["nbf"]) == datetime(2028, 1, 31, 19, 0, tzinfo=UTC)
    assert _utc(claims["iat"]) == datetime(2027, 12, 1, 6, 0, tzinfo=UTC)


def test_issue_date_is_taken_in_the_states_zone(keys_dir):
    # 20:00 UTC on 10 March is already 11 March in Tashkent: a certificate valid from
    # 11 March issued then is in force from the moment of issue.
    issued_at = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)

    claims = _claims(issued_at=issued_at, valid_from=date(2026, 3, 11))

    assert claims["nbf"] == int(issued_at.timestamp())


def test_naive_issue_time_is_refused(keys_dir):
    with pytest.raises(ValueError, match="aware"):
        _claims(issued_at=datetime(2026, 3, 10, 9, 0))


# --- what is refused --------------------------------------------------------------------


def test_one_changed_claim_is_rejected(keys_dir):
    token = sign_claims("UZ", _claims())
    header, payload, signature = _segments(token)
    claims = json.loads(_b64decode(payload))
    claims["sub"] = "MCA-UZ-2026-000124-70"
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(claims, ensure_ascii=False).encode())
        .rstrip(b"=")
        .decode()
    )
    forged = f"{header}.{forged_payload}.{signature}"

    with pytest.raises(TokenInvalid) as caught:
        verify_token(forged)
    assert caught.value.code == "bad_signature"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, _published_key(jwt.get_unverified_header(token)["kid"]), ["EdDSA"])


def test_another_states_key_cannot_sign_for_the_first(keys_dir):
    uz_kid, _ = active_key("UZ")
    _, kz_private_key = active_key("KZ")
    payload = json.dumps(_claims(), ensure_ascii=False).encode()

    forged = jwt.api_jws.encode(payload, kz_private_key, algorithm="EdDSA", headers={"kid": uz_kid})

    with pytest.raises(TokenInvalid) as caught:
        verify_token(forged)
    assert caught.value.code == "bad_signature"


def test_a_genuine_signature_by_another_state_over_its_certificate_is_rejected(keys_dir):
    kz_kid, kz_private_key = active_key("KZ")
    payload = json.dumps(_claims()).encode()  # iss UZ

    token = jwt.api_jws.encode(payload, kz_private_key, algorithm="EdDSA", headers={"kid": kz_kid})

    with pytest.raises(TokenInvalid) as caught:
        verify_token(token)
    assert caught.value.code == "issuer_mismatch"
    with pytest.raises(ValueError):
        sign_claims("KZ", _claims())


def test_only_a_certificate_token_s_typ_passes_for_one(keys_dir):
    kid, private_key = active_key("UZ")
    payload = json.dumps(_claims()).encode()
    untyped = jwt.api_jws.encode(
        payload, private_key, algorithm="EdDSA", headers={"kid": kid, "typ": None}
    )
    assert "typ" not in jwt.get_unverified_header(untyped)
    assert verify_token(untyped)["sub"] == "MCA-UZ-2026-000123-97"
    assert jwt.get_unverified_header(sign_claims("UZ", _claims()))["typ"] == "JWT"

    # Signed with the same key, a status list is genuine but not a certificate token.
    listed = sign_claims("UZ", _claims(), typ="mca-status-list+jwt")
    with pytest.raises(TokenInvalid) as caught:
        verify_token(listed)
    assert caught.value.code == "wrong_type"
    assert str(caught.value) == "The token is not a certificate token."
    assert verify_token(listed, typ="mca-status-list+jwt")["sub"] == "MCA-UZ-2026-000123-97"
    with pytest.raises(TokenInvalid) as caught:
        verify_token(untyped, typ="mca-status-list+jwt")
    assert caught.value.code == "wrong_type"


def test_sign_with_kid_names_the_key_that_signed(keys_dir):
    claims = _claims()
    kid, token = signing.sign_with_kid("UZ", claims, typ="mca-status-list+jwt")
    assert kid == active_key("UZ")[0] == jwt.get_unverified_header(token)["kid"]
    assert verify_token(token, typ="mca-status-list+jwt") == claims


def test_unknown_kid_and_garbage_are_rejected(keys_dir):
    token = sign_claims("UZ", _claims())
    kid, private_key = active_key("UZ")
    not_json = jwt.api_jws.encode(b"[1, 2", private_key, algorithm="EdDSA", headers={"kid": kid})
    stranger = Ed25519PrivateKey.generate()
    unknown = jwt.api_jws.encode(
        b'{"iss":"UZ"}', stranger, algorithm="EdDSA", headers={"kid": "uz-20260101-00000000"}
    )

    for bad, code in [
        (unknown, "unknown_kid"),
        ("not a token", "malformed"),
        ("", "malformed"),
        (not_json, "malformed"),
        ("a.b.c", "malformed"),
        (token.split(".")[0] + "..", "bad_signature"),
        (token[:-10], "bad_signature"),
    ]:
        with pytest.raises(TokenInvalid) as caught:
            verify_token(bad)
        assert caught.value.code == code, bad
        assert str(caught.value)


def test_another_algorithm_is_rejected_even_with_a_known_kid(keys_dir):
    kid, _ = active_key("UZ")
    public_jwk = _published_key(kid)
    raw_public = _b64decode(public_jwk._jwk_data["x"])
    # Algorithm confusion: an HMAC "signed" with the public key bytes.
    forged = jwt.api_jws.encode(
        json.dumps(_claims()).encode(), raw_public * 2, algorithm="HS256", headers={"kid": kid}
    )

    with pytest.raises(TokenInvalid):
        verify_token(forged)


def test_expiry_is_not_checked_a_token_proves_authenticity_only(keys_dir):
    claims = _claims(
        issued_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        valid_from=date(2026, 1, 5),
        valid_until=date(2026, 1, 6),
    )

    assert verify_token(sign_claims("UZ", claims)) == claims


# --- keys -------------------------------------------------------------------------------


def test_rotation_keeps_old_tokens_verifiable_and_signs_new_ones_with_the_new_key(keys_dir):
    old_token = sign_claims("UZ", _claims())
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    new_kid = rotate_key("UZ")
    new_token = sign_claims("UZ", _claims())

    assert new_kid != old_kid
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert active_key("UZ")[0] == new_kid
    assert verify_token(old_token)["sub"] == "MCA-UZ-2026-000123-97"
    assert verify_token(new_token)["sub"] == "MCA-UZ-2026-000123-97"
    published = {key["kid"] for key in public_jwks()["keys"]}
    assert {old_kid, new_kid} <= published
    assert signing.key_ids("UZ") == tuple(sorted([old_kid, new_kid]))


def test_jwks_publishes_public_parts_only(keys_dir):
    ensure_keys_present()
    rotate_key("TJ")

    keys = public_jwks()["keys"]

    assert len(keys) == len(MEMBER_STATES) + 1
    for key in keys:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert "d" not in key
        fixed = {name: key[name] for name in ("kty", "crv", "alg", "use")}
        assert fixed == {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"}
        assert "=" not in key["x"]
        assert len(_b64decode(key["x"])) == 32
        assert KID_PATTERN.fullmatch(key["kid"])
    for country in MEMBER_STATES:
        kid, private_key = active_key(country)
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        (published,) = [key for key in keys if key["kid"] == kid]
        assert _b64decode(published["x"]) == raw
        assert kid.startswith(country.lower() + "-")


def test_key_files_are_private(keys_dir):
    kid = rotate_key("UZ")

    state_dir = keys_dir / "UZ"
    assert stat.S_IMODE((state_dir / f"{kid}.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((state_dir / "active").stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert (state_dir / "active").read_text().strip() == kid
    assert (state_dir / f"{kid}.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert not [path for path in state_dir.iterdir() if path.name.endswith(".tmp")]


def test_missing_key_without_autocreate_names_the_command(production_keys):
    with pytest.raises(SigningKeyMissing) as caught:
        active_key("KG")

    assert isinstance(caught.value, ImproperlyConfigured)
    assert "manage.py rotate_signing_key --country KG" in str(caught.value)
    assert not (production_keys / "KG").exists()
    with pytest.raises(SigningKeyMissing):
        sign_claims("KG", _claims(country="KG"))


def test_startup_check_lists_every_state_without_a_key(production_keys):
    rotate_key("UZ")

    with pytest.raises(SigningKeyMissing) as caught:
        ensure_keys_present()

    message = str(caught.value)
    for country in ("KZ", "KG", "TJ", "TM", "AZ"):
        assert f"rotate_signing_key --country {country}" in message
    assert "--country UZ" not in message

    for country in MEMBER_STATES[1:]:
        rotate_key(country)
    ensure_keys_present()


def test_startup_check_creates_missing_keys_on_the_embedded_default(keys_dir):
    kid = rotate_key("UZ")

    ensure_keys_present()

    assert active_key("UZ")[0] == kid
    assert sorted(path.name for path in keys_dir.iterdir()) == sorted(MEMBER_STATES)


def test_first_use_creates_one_key_even_when_requests_race(keys_dir):
    kids = []

    def sign():
        kids.append(active_key("UZ")[0])

    threads = [threading.Thread(target=sign) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(kids)) == 1
    assert len(list((keys_dir / "UZ").glob("*.pem"))) == 1


def test_a_rotation_by_another_process_is_seen(keys_dir):
    old_kid = rotate_key("UZ")
    assert active_key("UZ")[0] == old_kid  # now cached
    # What the command does in another process: new key file, then the `active` pointer.
    new_kid = "uz-20990101-0123abcd"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (keys_dir / "UZ" / f"{new_kid}.pem").write_bytes(pem)
    (keys_dir / "UZ" / f"{new_kid}.pem").chmod(0o600)  # a key others may read is refused
    (keys_dir / "UZ" / "new-active").write_text(new_kid)
    (keys_dir / "UZ" / "new-active").replace(keys_dir / "UZ" / "active")

    assert active_key("UZ")[0] == new_kid
    assert new_kid in {key["kid"] for key in public_jwks()["keys"]}


def test_unknown_country_is_refused(keys_dir):
    with pytest.raises(ValueError):
        rotate_key("RU")
    with pytest.raises(ValueError):
        active_key("uz")


# --- the command ------------------------------------------------------------------------


def test_command_creates_the_first_key_then_rotates(production_keys):
    out = StringIO()
    call_command("rotate_signing_key", "--country", "uz", stdout=out)
    first_kid = active_key("UZ")[0]

    assert "Created the first signing key of UZ" in out.getvalue()
    assert first_kid in out.getvalue()

    out = StringIO()
    call_command("rotate_signing_key", "--country", "UZ", stdout=out)
    second_kid = active_key("UZ")[0]

    assert "Rotated the signing key of UZ" in out.getvalue()
    assert second_kid in out.getvalue() and second_kid != first_kid
    assert {first_kid, second_kid} == {key["kid"] for key in public_jwks()["keys"]}


def test_command_refuses_unknown_countries(production_keys):
    with pytest.raises(CommandError, match="UZ, KZ, KG, TJ, TM, AZ"):
        call_command("rotate_signing_key", "--country", "RU")
    assert not production_keys.exists()


# --- Key files: their mode, and a passphrase -------------------------------------------------


def test_a_key_file_its_group_or_others_may_read_is_refused(keys_dir):
    signing.rotate_key("UZ")
    key = next((keys_dir / "UZ").glob("*.pem"))
    assert key.stat().st_mode & 0o777 == 0o600  # as written
    key.chmod(0o640)
    signing._invalidate()
    with pytest.raises(ImproperlyConfigured, match=rf"chmod 600 {re.escape(str(key))}"):
        signing.active_key("UZ")
    key.chmod(0o600)
    signing._invalidate()
    assert signing.active_key("UZ")[0] == key.stem


def test_with_a_passphrase_new_keys_are_written_encrypted_and_read_with_it(keys_dir, settings):
    signing.rotate_key("KZ")  # made before the passphrase: still read as it is
    settings.SIGNING_KEYS_PASSPHRASE = "correct horse battery staple"
    kid = signing.rotate_key("UZ")
    pem = (keys_dir / "UZ" / f"{kid}.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    token = signing.sign_claims("UZ", {"iss": "UZ", "sub": "x"})
    assert signing.verify_token(token)["sub"] == "x"
    assert signing.active_key("KZ")
    settings.SIGNING_KEYS_PASSPHRASE = None
    signing._invalidate()
    with pytest.raises(ImproperlyConfigured, match="is encrypted: set SIGNING_KEYS_PASSPHRASE"):
        signing.active_key("UZ")
    settings.SIGNING_KEYS_PASSPHRASE = "wrong"
    signing._invalidate()
    with pytest.raises(ImproperlyConfigured, match="is SIGNING_KEYS_PASSPHRASE right"):
        signing.active_key("UZ")
