"""Secrets at rest: what the registry must read back (webhook secrets, the keys of the
authenticator apps) is kept in the database encrypted, never as it was given
(docs/operations.md, "Secrets at rest").

The keys come from the environment: ``SECRETS_KEYS``, a comma-separated list of Fernet
keys (``manage.py rotate_secrets --new-key`` prints one). The first key encrypts, every key
decrypts (``MultiFernet``), so a key is rotated by putting a new one first, running
``manage.py rotate_secrets`` (every value encrypted again with the first key) and then
dropping the old one.

Without ``SECRETS_KEYS``, the embedded default (``DEBUG`` true) generates one key on first
use into ``{VAR_DIR}/secrets.key`` (mode 0600), as it does the signing keys; with ``DEBUG``
false the web server and the workers refuse to start (``ensure_key_present``) and nothing is
encrypted or decrypted.

A sealed value is a Fernet token (authenticated AES-128-CBC with HMAC-SHA256, its time of
encryption inside): whoever reads the database, or a dump of it, without the keys learns
nothing of the secret and cannot forge one."""

import functools
import os
import stat
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Every Fernet token starts with its version byte 0x80, "gA" in URL-safe base64.
SEALED_PREFIX = "gAAAAA"

_lock = threading.Lock()


class SecretsKeyMissing(ImproperlyConfigured):
    """No key to encrypt or decrypt with, and none may be generated here."""


class SealBroken(ImproperlyConfigured):
    """A sealed value that none of the keys opens: SECRETS_KEYS lacks the key it was sealed
    with, or the value was altered."""


def check_private_file(path: Path) -> None:
    """Refuse a key file that its group or others may read or write (POSIX modes only)."""
    if os.name != "posix":  # pragma: no cover - Windows keeps no such modes
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"The key file {path} has mode {mode:04o}: its group or others may read it. "
            f"Run `chmod 600 {path}`."
        )


def new_key() -> str:
    """A fresh Fernet key (32 random bytes, URL-safe base64), for SECRETS_KEYS."""
    return Fernet.generate_key().decode("ascii")


def _key_file() -> Path:
    return Path(settings.VAR_DIR) / "secrets.key"


def _embedded_keys() -> list[str]:
    """The embedded default's key: read from var/, generated there on first use."""
    path = _key_file()
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it meanwhile
                pass
            else:
                with os.fdopen(fd, "w") as stream:
                    os.fchmod(stream.fileno(), 0o600)
                    stream.write(new_key() + "\n")
    check_private_file(path)
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def configured_keys() -> list[str]:
    keys = list(getattr(settings, "SECRETS_KEYS", None) or [])
    if keys:
        return keys
    if getattr(settings, "SECRETS_KEYS_AUTOCREATE", False):
        return _embedded_keys()
    raise SecretsKeyMissing(
        "SECRETS_KEYS is not set: webhook secrets and authenticator keys are kept encrypted "
        "with it. Generate a key with `manage.py rotate_secrets --new-key` and set "
        "SECRETS_KEYS to it (docs/operations.md, Secrets at rest)."
    )


@functools.lru_cache(maxsize=4)
def _multi(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # Never the value itself: it is the secret.
            raise ImproperlyConfigured(
                f"SECRETS_KEYS: key number {position} is not a Fernet key (32 bytes in "
                "URL-safe base64); `manage.py rotate_secrets --new-key` prints one."
            ) from None
    return MultiFernet(fernets)


def _fernet() -> MultiFernet:
    return _multi(tuple(configured_keys()))


def ensure_key_present() -> None:
    """Called when the web server and the workers start: a usable key, or SecretsKeyMissing
    (production without SECRETS_KEYS) or ImproperlyConfigured (a malformed key)."""
    _fernet()


def is_sealed(value: str) -> bool:
    return bool(value) and value.startswith(SEALED_PREFIX)


def seal(secret: str) -> str:
    """The secret encrypted with the first key, as text for a database column."""
    return _fernet().encrypt(secret.encode("utf-8")).decode("ascii")


def unseal(sealed: str) -> str:
    """The secret a sealed value holds; SealBroken when no key opens it."""
    return _opened(lambda fernet: fernet.decrypt(sealed.encode("ascii")).decode("utf-8"))


def reseal(sealed: str) -> str:
    """The same secret sealed anew with the first key (rotate_secrets)."""
    return _opened(lambda fernet: fernet.rotate(sealed.encode("ascii")).decode("ascii"))


def _opened(use):
    try:
        return use(_fernet())
    except (InvalidToken, UnicodeError):
        raise SealBroken(
            "A sealed secret opens with none of SECRETS_KEYS: the key it was sealed with is "
            "missing from the list, or the stored value was altered."
        ) from None
