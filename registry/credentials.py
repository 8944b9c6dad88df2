"""What an account signs in with besides its password: API tokens and the second factor
(docs/architecture.md, "Accounts and sign-in"). The models live here and are imported by
registry/models.py; the writes that use them are certification/workflow/accounts.py.

Nothing here keeps a secret as it was given:

- an API token's key is 256 random bits, shown once; the row keeps its SHA-256 (enough to
  find the token a request presents, useless to present) and its first characters, so that
  a person can tell their tokens apart;
- an authenticator app's key is needed again at every sign-in, so it is kept sealed
  (registry/sealing.py: encrypted with SECRETS_KEYS);
- recovery codes carry 80 random bits each and are kept as their SHA-256."""

import hashlib
import secrets
import time
from base64 import b32encode
from datetime import timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin, VerifyNotAllowed
from django_otp.oath import TOTP

from registry import sealing

ISSUER = "Made in Central Asia"
# Failed tries that cost nothing (typing mistakes) before each further one waits twice as
# long as the one before, from one second up to LOGIN_DELAY_MAX_SECONDS: the sign-in's
# delay per account and address (certification/core/login_guard.py) and an app's own.
FREE_FAILURES = 3


def failure_delay(failures):
    """Seconds to wait after this many failed tries in a row."""
    if failures <= FREE_FAILURES:
        return 0
    return min(2 ** (failures - FREE_FAILURES - 1), settings.LOGIN_DELAY_MAX_SECONDS)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A named API key of an account, valid until it expires or is revoked (docs/api.md).

    The key reads ``mca_`` and 43 URL-safe characters; ``prefix`` keeps its first 12
    (``mca_`` and 8 more) to name it in lists. Keys migrated from the former one-key-per-
    account tokens are 40 hex digits, named "migrated", their prefix the first 8."""

    KEY_START = "mca_"
    PREFIX_LENGTH = 12

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def new_key(cls) -> str:
        return cls.KEY_START + secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(key: str) -> str:
        """What a token row keeps of its key: the key's SHA-256, in hex."""
        return sha256(key)

    def status(self, now=None):
        """ "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or timezone.now()):
            return "expired"
        return "active"


class AuthenticatorDevice(ThrottlingMixin, TimestampMixin, Device):
    """An account's authenticator app (TOTP, RFC 6238: six digits every 30 seconds, HMAC-
    SHA-1, as every app reads a QR code) and its recovery codes, as one django-otp device:
    its middleware, login() and the admin site know it like the library's own.

    Each code is accepted once (``last_t``); after FREE_FAILURES failed codes each further
    try waits 1, 2, 4 … seconds, at most LOGIN_DELAY_MAX_SECONDS (django-otp's throttling,
    capped here so that nobody holding the password can keep the account's owner out for
    long)."""

    STEP = 30
    DIGITS = 6
    TOLERANCE = 1  # a code of the step before or after is accepted too (clock skew)
    RECOVERY_CODES = 10
    _ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"

    sealed_key = models.TextField(editable=False)
    last_t = models.BigIntegerField(default=-1, editable=False)
    drift = models.SmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("authenticator app")

    @property
    def key(self) -> bytes:
        return bytes.fromhex(sealing.unseal(self.sealed_key))

    @key.setter
    def key(self, value: bytes):
        self.sealed_key = sealing.seal(value.hex())

    @staticmethod
    def new_key() -> bytes:
        return secrets.token_bytes(20)

    @property
    def base32_key(self) -> str:
        """The key as an app takes it typed in: base32, without padding."""
        return b32encode(self.key).decode("ascii").rstrip("=")

    def config_url(self) -> str:
        """The otpauth:// address of the enrolment QR code."""
        label = quote(f"{ISSUER}:{self.user.email}")
        params = urlencode(
            {
                "secret": self.base32_key,
                "issuer": ISSUER,
                "algorithm": "SHA1",
                "digits": self.DIGITS,
                "period": self.STEP,
            },
            quote_via=quote,
        )
        return f"otpauth://totp/{label}?{params}"

    def totp(self) -> TOTP:
        totp = TOTP(self.key, self.STEP, 0, self.DIGITS, self.drift)
        totp.time = time.time()
        return totp

    # --- django-otp's device interface ---------------------------------------------------

    def get_throttle_factor(self):
        return 1

    def verify_is_allowed(self):
        wait = failure_delay(self.throttling_failure_count)
        if wait and self.throttling_failure_timestamp is not None:
            until = self.throttling_failure_timestamp + timedelta(seconds=wait)
            if timezone.now() < until:
                return False, {
                    "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                    "failure_count": self.throttling_failure_count,
                    "locked_until": until,
                }
        return True, None

    def verify_token(self, token):
        """A six-digit code of the app, or one of the recovery codes (then used up and
        ``self.recovery_code_used`` set)."""
        self.recovery_code_used = False
        if not self.verify_is_allowed()[0]:
            return False
        text = "".join(str(token or "").split())
        if text.isdigit() and len(text) == self.DIGITS:
            verified = self._verify_code(int(text))
        else:
            verified = self.recovery_code_used = self._use_recovery_code(text)
        if verified:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment(commit=True)
        return verified

    def _verify_code(self, code):
        totp = self.totp()
        if not totp.verify(code, self.TOLERANCE, self.last_t + 1):
            return False
        self.last_t = totp.t()
        self.drift = totp.drift
        return True

    # --- recovery codes -------------------------------------------------------------------

    @staticmethod
    def _normal(code: str) -> str:
        return code.replace("-", "").replace(" ", "").lower()

    def _use_recovery_code(self, text):
        normal = self._normal(text)
        if len(normal) != 16:
            return False
        deleted, _rows = self.recovery_codes.filter(digest=sha256(normal)).delete()
        return deleted > 0

    def new_recovery_codes(self) -> list[str]:
        """Ten new recovery codes, replacing any left: returned once, kept as SHA-256."""
        codes = [
            "".join(secrets.choice(self._ALPHABET) for _ in range(16))
            for _ in range(self.RECOVERY_CODES)
        ]
        self.recovery_codes.all().delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(device=self, digest=sha256(code)) for code in codes
        )
        return ["-".join(code[i : i + 4] for i in range(0, 16, 4)) for code in codes]


class RecoveryCode(models.Model):
    """One unused recovery code of an authenticator device: its SHA-256 only."""

    device = models.ForeignKey(
        AuthenticatorDevice, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64, db_index=True, editable=False)

    def __str__(self):
        return f"recovery code {self.pk}"
