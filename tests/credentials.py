"""What tests sign in with: API tokens and authenticator apps made directly (no audit event,
as a fixture), the current code of an app, and a test client's session confirmed by an app
as the sign-in's second step would confirm it."""

import time
from datetime import timedelta

from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from portal.sessions import LAST_SEEN
from registry.models import ApiToken, AuthenticatorDevice


def enrolled(user, key=None):
    """The account's confirmed authenticator app, made for the occasion if it has none."""
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = AuthenticatorDevice(user=user, name="Test app", confirmed=True)
        device.key = key or AuthenticatorDevice.new_key()
        device.save()
    return device


def current_code(user_or_device, *, fresh=True):
    """The six digits the app shows now. `fresh`: forget the last code accepted first, so
    that a test may sign in twice within one 30-second step."""
    device = user_or_device
    if not isinstance(device, AuthenticatorDevice):
        device = enrolled(device)
    if fresh:
        AuthenticatorDevice.objects.filter(pk=device.pk).update(last_t=-1)
    return f"{device.totp().token():06d}"


def wrong_code(app):
    """Six digits the app accepts at no step within its tolerance now: a code that is
    wrong for certain (a fixed "000000" would be right about once in 330,000 runs). `app`:
    a user (their confirmed app), a device, or the raw key of an app being set up."""
    if isinstance(app, bytes):
        key, drift = app, 0
    else:
        device = app if isinstance(app, AuthenticatorDevice) else enrolled(app)
        key, drift = device.key, device.drift
    reach = AuthenticatorDevice.TOLERANCE + 1
    right = set()
    for step in range(drift - reach, drift + reach + 1):
        totp = TOTP(key, AuthenticatorDevice.STEP, 0, AuthenticatorDevice.DIGITS, step)
        totp.time = time.time()
        right.add(totp.token())
    return f"{next(code for code in range(10**6) if code not in right):06d}"


def confirm_session(client, user):
    """Mark the client's session (signed in as `user`) as confirmed by the user's app."""
    device = enrolled(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[LAST_SEEN] = int(time.time())  # as after the sign-in
    session.save()


def api_key(user, *, days=90, second_factor=True, **fields):
    """A new API token's key for `user` (officials get an app first, unless told not to:
    their tokens act only then)."""
    if second_factor and user.needs_second_factor:
        enrolled(user)
    key = ApiToken.new_key()
    now = timezone.now()
    ApiToken.objects.create(
        user=user,
        name=fields.pop("name", "test"),
        prefix=key[: ApiToken.PREFIX_LENGTH],
        digest=ApiToken.digest_of(key),
        created_at=now,
        expires_at=fields.pop("expires_at", now + timedelta(days=days)),
        **fields,
    )
    return key
