"""Certificate tokens: one Ed25519 signing key per national authority (docs/api.md).

Keys live on disk, never in the database, logs or API responses::

    {SIGNING_KEYS_DIR}/UZ/uz-20260315-1a2b3c4d.pem   PKCS#8 PEM, mode 0600
    {SIGNING_KEYS_DIR}/UZ/active                    the kid that signs new tokens

A key file its group or others may read is refused, naming the file and ``chmod 600``. With
SIGNING_KEYS_PASSPHRASE set, new key files are encrypted with it (PEM, the best encryption
``cryptography`` offers) and encrypted files are read with it; files written without it
are still read as they are.

A state's directory (mode 0700) keeps every key it ever had: the one named in ``active``
signs, the others are retired but still published in the JWKS so that tokens they signed
keep verifying. Files are written to a temporary name and renamed, so a reader never sees
half a key; a rotation by ``manage.py rotate_signing_key`` in another process is noticed
by running processes through the directories' modification times.

Keys are generated on first use only on the embedded default (``SIGNING_KEYS_AUTOCREATE``);
in production they are provisioned by the command and ``ensure_keys_present()`` stops the
web server and workers from starting without them.

The secretariat has a key of its own, kept the same way under ``{SIGNING_KEYS_DIR}/secretariat/``
(kids ``secretariat-20260315-1a2b3c4d``): it signs the audit checkpoints
(certification/verification/checkpoints.py) and nothing else. It is never published in the
authorities' JWKS nor accepted for a certificate token, so the secretariat cannot vouch for
a certificate; its public keys are ``public_jwks(SECRETARIAT_OWNERS)``.
"""

import base64
import contextlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext

from certification.core.numbering import MEMBER_STATES
from registry.sealing import check_private_file

try:  # POSIX; without it only the in-process lock guards first-use key creation.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

ALGORITHM = "EdDSA"
NAME_LIMIT = 64  # characters of `prd` and `pro`, so the QR code stays scannable
ACTIVE_FILE = "active"
KID_PATTERN = re.compile(r"(?P<cc>[a-z]{2}|secretariat)-[0-9]{8}-[0-9a-f]{8}")
# Who holds keys: the six authorities, and the secretariat for the audit checkpoints.
SECRETARIAT = "secretariat"
SECRETARIAT_OWNERS = (SECRETARIAT,)
OWNERS = (*MEMBER_STATES, SECRETARIAT)

_jws = jwt.PyJWS(algorithms=[ALGORITHM])
# The JWS header's typ of a certificate token; a status list's and a checkpoint's are their
# own, so that none of them passes for another.
CERTIFICATE_TYP = "JWT"


class SigningKeyMissing(ImproperlyConfigured):
    """A member state has no signing key and keys may not be generated here."""


class TokenInvalid(Exception):
    """A token that is not an authentic certificate token.

    ``code`` is ``malformed``, ``unknown_kid``, ``bad_signature``, ``wrong_type`` (a
    genuine token of another kind: a status list, a checkpoint) or ``issuer_mismatch``;
    ``str(error)`` is the translated sentence for people.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Key:
    kid: str
    country: str
    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    jwk: dict


@dataclass(frozen=True)
class _Snapshot:
    root: Path
    fingerprint: tuple
    keys: dict  # kid -> _Key, every key of every state
    active: dict  # country -> kid


_cache: _Snapshot | None = None
_cache_lock = threading.Lock()
_create_lock = threading.Lock()


# --- files -------------------------------------------------------------------------------


def _root() -> Path:
    return Path(settings.SIGNING_KEYS_DIR)


def _state_dir(country: str) -> Path:
    return _root() / country


def _check_country(country: str) -> str:
    if country not in MEMBER_STATES:
        raise ValueError(f"{country!r} is not a member state ({', '.join(MEMBER_STATES)}).")
    return country


def _check_owner(owner: str) -> str:
    """A member state, or SECRETARIAT."""
    if owner != SECRETARIAT:
        _check_country(owner)
    return owner


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomically(directory: Path, name: str, content: bytes) -> None:
    """Write ``directory/name`` (mode 0600) so that readers see the old file or the new one."""
    temporary = directory / f".{name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), 0o600)  # the mode given to open() is reduced by the umask
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _fsync_dir(directory)


def _make_private_dir(path: Path) -> None:
    # Directories we create are 0700; an existing one (say a mounted secret volume) is left
    # as its operator set it up.
    for directory in reversed([path, *path.parents]):
        if directory.exists():
            continue
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # created meanwhile by another process
            continue
        os.chmod(directory, 0o700)  # the mode given to mkdir() is reduced by the umask


def _fingerprint(root: Path) -> tuple:
    """What changes when any owner's keys change: its directory's mtime (a file was added or
    renamed into it) and the identity of its `active` file (replaced on every rotation)."""
    parts = []
    for country in OWNERS:
        directory = root / country
        try:
            directory_stat = directory.stat()
        except FileNotFoundError:
            parts.append(None)
            continue
        try:
            active_stat = (directory / ACTIVE_FILE).stat()
            active = (active_stat.st_ino, active_stat.st_mtime_ns, active_stat.st_size)
        except FileNotFoundError:
            active = None
        parts.append((directory_stat.st_mtime_ns, active))
    return tuple(parts)


def _public_jwk(kid: str, public_key: Ed25519PublicKey) -> dict:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def _passphrase() -> bytes | None:
    passphrase = getattr(settings, "SIGNING_KEYS_PASSPHRASE", None)
    return passphrase.encode("utf-8") if passphrase else None


def _load_key(path: Path, country: str) -> _Key:
    kid = path.stem
    check_private_file(path)
    data = path.read_bytes()
    passphrase = _passphrase()
    encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0] or b"Proc-Type: 4,ENCRYPTED" in data
    if encrypted and passphrase is None:
        raise ImproperlyConfigured(
            f"The signing key file {path} is encrypted: set SIGNING_KEYS_PASSPHRASE."
        )
    try:
        # A key written before the passphrase was set is read as it is.
        private_key = serialization.load_pem_private_key(
            data, password=passphrase if encrypted else None
        )
    except (ValueError, TypeError) as error:
        # Name the file only: the error of a parser could quote what it read.
        problem = " (is SIGNING_KEYS_PASSPHRASE right?)" if encrypted else ""
        raise ImproperlyConfigured(
            f"The signing key file {path} cannot be read{problem}."
        ) from error
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"The signing key file {path} is not an Ed25519 key.")
    public_key = private_key.public_key()
    return _Key(kid, country, private_key, public_key, _public_jwk(kid, public_key))


def _read(root: Path, fingerprint: tuple) -> _Snapshot:
    keys: dict[str, _Key] = {}
    active: dict[str, str] = {}
    for country in OWNERS:
        directory = root / country
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.pem")):
            match = KID_PATTERN.fullmatch(path.stem)
            if match is None or match["cc"] != country.lower():
                continue  # temporary files start with "." and never match
            keys[path.stem] = _load_key(path, country)
        try:
            kid = (directory / ACTIVE_FILE).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            continue
        if kid not in keys:
            raise ImproperlyConfigured(
                f"{directory / ACTIVE_FILE} names the key {kid!r}, which is not in {directory}."
            )
        active[country] = kid
    return _Snapshot(root, fingerprint, keys, active)


def _snapshot() -> _Snapshot:
    """The keys on disk, read again only when the directory changed since the last read."""
    global _cache
    root = _root()
    fingerprint = _fingerprint(root)
    with _cache_lock:
        cached = _cache
        if cached is not None and cached.root == root and cached.fingerprint == fingerprint:
            return cached
        _cache = _read(root, fingerprint)
        return _cache


def _invalidate() -> None:
    global _cache
    with _cache_lock:
        _cache = None


@contextlib.contextmanager
def _state_lock(country: str):
    """Serialise key creation for a state across threads and, where possible, processes."""
    with _create_lock:
        directory = _state_dir(country)
        _make_private_dir(directory)
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock


# --- keys --------------------------------------------------------------------------------


def _new_kid(country: str) -> str:
    today = datetime.now(UTC).strftime("%Y%m%d")
    return f"{country.lower()}-{today}-{secrets.token_hex(4)}"


def _rotate_locked(country: str) -> str:
    directory = _state_dir(country)
    kid = _new_kid(country)
    while (directory / f"{kid}.pem").exists():  # 32 random bits; a clash is near impossible
        kid = _new_kid(country)
    passphrase = _passphrase()
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption(),
    )
    # The key file first, then the pointer: a crash in between leaves an unused key, never an
    # `active` file naming a key that is not there.
    _write_atomically(directory, f"{kid}.pem", pem)
    _write_atomically(directory, ACTIVE_FILE, f"{kid}\n".encode("ascii"))
    _invalidate()
    return kid


def rotate_key(country: str) -> str:
    """Create the state's (or the SECRETARIAT's) first key, or a new active key retiring (and
    still publishing) the current one. Returns the new kid."""
    _check_owner(country)
    with _state_lock(country):
        return _rotate_locked(country)


def key_ids(country: str) -> tuple[str, ...]:
    """Every kid of the state or the SECRETARIAT (active and retired), oldest name first."""
    _check_owner(country)
    return tuple(sorted(key.kid for key in _snapshot().keys.values() if key.country == country))


def active_key(country: str) -> tuple[str, Ed25519PrivateKey]:
    """(kid, private key) of the state's (or the SECRETARIAT's) active key.

    Creates the first key when the state has none and SIGNING_KEYS_AUTOCREATE is on (the
    embedded default); otherwise raises SigningKeyMissing.
    """
    _check_owner(country)
    snapshot = _snapshot()
    kid = snapshot.active.get(country)
    if kid is None:
        if not settings.SIGNING_KEYS_AUTOCREATE:
            raise SigningKeyMissing(_missing_message([country]))
        with _state_lock(country):
            # Another thread or process may have created it while we waited for the lock.
            if _snapshot().active.get(country) is None:
                _rotate_locked(country)
        snapshot = _snapshot()
        kid = snapshot.active[country]
    return kid, snapshot.keys[kid].private_key


def _missing_message(countries: list[str]) -> str:
    commands = "; ".join(
        "manage.py rotate_signing_key --secretariat"
        if country == SECRETARIAT
        else f"manage.py rotate_signing_key --country {country}"
        for country in countries
    )
    return (
        f"No signing key for {', '.join(countries)} in {_root()}. "
        f"Provision one per state with: {commands}."
    )


def ensure_keys_present() -> None:
    """Called when the web server and workers start: every member state must have an active
    key. On the embedded default the missing ones are created; elsewhere SigningKeyMissing
    names every state without a key and the command that provisions it."""
    snapshot = _snapshot()
    missing = [country for country in MEMBER_STATES if country not in snapshot.active]
    if not missing:
        return
    if not settings.SIGNING_KEYS_AUTOCREATE:
        raise SigningKeyMissing(_missing_message(missing))
    for country in missing:
        active_key(country)


def public_jwks(owners: tuple[str, ...] = MEMBER_STATES) -> dict:
    """The JWK Set published at /.well-known/jwks.json: every key of every state, retired
    ones included, public parts only. ``public_jwks(SECRETARIAT_OWNERS)`` is the
    secretariat's, published apart at /transparency/jwks.json."""
    snapshot = _snapshot()
    order = {owner: index for index, owner in enumerate(owners)}
    keys = sorted(
        (key for key in snapshot.keys.values() if key.country in order),
        key=lambda key: (order[key.country], key.kid),
    )
    return {"keys": [dict(key.jwk) for key in keys]}


# --- tokens ------------------------------------------------------------------------------


def sign_claims(country: str, claims: dict, *, typ: str = CERTIFICATE_TYP) -> str:
    """A compact JWS of ``claims`` signed with the state's (or the SECRETARIAT's) active key,
    its header's ``typ`` saying what it is (a status list or a checkpoint is not a
    certificate token).

    The payload is serialised here rather than by ``jwt.encode``, which escapes every
    non-ASCII character (``\\u0428``) and so would double or triple the size of Cyrillic
    names inside the QR code. ``claims["iss"]``, when given, must be ``country``.
    """
    return sign_with_kid(country, claims, typ=typ)[1]


def sign_with_kid(country: str, claims: dict, *, typ: str = CERTIFICATE_TYP) -> tuple[str, str]:
    """(kid, token): sign_claims's token and the kid of the key that signed it, for a caller
    that stores the kid beside the token (rather than reading back the header)."""
    if claims.get("iss", country) != country:
        raise ValueError(f"Claims issued by {claims['iss']!r} cannot be signed by {country}.")
    kid, private_key = active_key(country)
    text = json.dumps(claims, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    payload = text.encode("utf-8")
    headers = {"kid": kid, "typ": typ}
    return kid, _jws.encode(payload, private_key, algorithm=ALGORITHM, headers=headers)


def _timestamp(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("issued_at must be an aware datetime.")
    return int(moment.timestamp())


def _start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def certificate_claims(
    *,
    number,
    country: str,
    hs_code: str,
    product_name: str,
    producer_name: str,
    tax_id: str,
    is_individual: bool,
    issued_at: datetime,
    valid_from: date,
    valid_until: date,
    time_zone: str,
) -> dict:
    """The claims of a certificate token (docs/api.md).

    Validity dates are calendar days in the issuing state's zone: ``exp`` is the end of the
    ``valid_until`` day there (00:00 of the next day), and ``nbf`` the moment of issue, or
    00:00 of ``valid_from`` there when the certificate starts later (a renewal approved
    before the certificate it renews ends). Names are cut to 64 characters (not bytes).
    The tax id of an individual entrepreneur is personal data and stays out of the token.
    """
    _check_country(country)
    hs = str(hs_code)
    if not (len(hs) == 6 and hs.isascii() and hs.isdigit()):
        raise ValueError(f"hs_code must be 6 digits, not {hs_code!r}.")
    issued = _timestamp(issued_at)
    zone = ZoneInfo(time_zone)
    if valid_from > issued_at.astimezone(zone).date():
        not_before = _timestamp(_start_of_day(valid_from, zone))
    else:
        not_before = issued
    claims = {
        "iss": country,
        "sub": str(number),
        "hs": hs,
        "prd": product_name[:NAME_LIMIT],
        "pro": producer_name[:NAME_LIMIT],
    }
    if not is_individual:
        claims["tin"] = tax_id
    claims["nbf"] = not_before
    claims["exp"] = _timestamp(_start_of_day(valid_until + timedelta(days=1), zone))
    claims["iat"] = issued
    return claims


def verify_token(
    token: str, *, owners: tuple[str, ...] = MEMBER_STATES, typ: str = CERTIFICATE_TYP
) -> dict:
    """The claims of a token signed by one of the published keys; raises TokenInvalid.

    Checks authenticity only: ``exp`` and ``nbf`` are NOT checked, because a token proves
    that an authority issued the certificate, not that it is in force now (it may since have
    been suspended, revoked or renewed). The status comes from the registry.

    Only the keys of ``owners`` count: the authorities' for a certificate token (the
    secretariat's key never vouches for one), ``SECRETARIAT_OWNERS`` for a checkpoint. Only
    a header whose ``typ`` is ``typ`` counts (a missing one is "JWT", what certificate tokens
    carry): a status list, signed with the same keys, is not a certificate token.
    """
    if isinstance(token, bytes):
        token = token.decode("ascii", errors="replace")
    token = (token or "").strip()
    try:
        header = _jws.get_unverified_header(token)
    except jwt.exceptions.PyJWTError as error:
        raise TokenInvalid("malformed", gettext("The token is malformed.")) from error
    kid = header.get("kid")
    key = _snapshot().keys.get(kid) if isinstance(kid, str) else None
    if key is None or key.country not in owners:
        raise TokenInvalid(
            "unknown_kid", gettext("The token was signed with a key that is not published.")
        )
    try:
        # Only EdDSA is accepted, whatever the header says (no algorithm confusion).
        payload = _jws.decode(token, key.public_key, algorithms=[ALGORITHM])
    except jwt.exceptions.InvalidSignatureError as error:
        raise TokenInvalid(
            "bad_signature", gettext("The token's signature does not match its content.")
        ) from error
    except jwt.exceptions.PyJWTError as error:
        raise TokenInvalid("malformed", gettext("The token is malformed.")) from error
    try:
        claims = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as error:
        raise TokenInvalid("malformed", gettext("The token is malformed.")) from error
    if not isinstance(claims, dict):
        raise TokenInvalid("malformed", gettext("The token is malformed."))
    found = header.get("typ", CERTIFICATE_TYP)
    if not isinstance(found, str) or found.lower() != typ.lower():
        raise TokenInvalid(
            "wrong_type",
            gettext("The token is not a certificate token.")
            if typ == CERTIFICATE_TYP
            else gettext("The token is not of the kind expected here."),
        )
    if claims.get("iss") != key.country:
        # A genuine signature by one authority over a certificate claiming another issuer.
        raise TokenInvalid(
            "issuer_mismatch",
            gettext("The token names an issuer other than the authority whose key signed it."),
        )
    return claims
