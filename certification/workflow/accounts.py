"""The writes of signing in (docs/architecture.md, "Accounts and sign-in"): API tokens, the
second factor, sign-ins of officials in the audit trail, signing out everywhere.

As the workflow's services: a keyword-only ``actor``, one transaction, the caller's checks
in the usual order (NotFound, PermissionDenied, TransitionNotAllowed, ValidationFailed) and
one audit event per change, whose data never holds a key, code, secret or password (a
token is named by its name and first characters only)."""

import secrets
from datetime import timedelta

import django_otp
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from certification.core import audit, policy
from certification.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationFailed,
)
from registry.models import ApiToken, AuthenticatorDevice, User

MAX_ACTIVE_TOKENS = 50


def _locked_user(user):
    return User.objects.select_for_update().get(pk=user.pk)


def _invalid(field, message):
    return ValidationFailed(message, fields={field: [message]})


# --- API tokens ----------------------------------------------------------------------------


def tokens_of(user):
    """The account's tokens, newest first: in force, expired and revoked."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_issue(*, actor, name, days=None):
    """A new token of the actor's own: (ApiToken, key). The key is in this answer only.
    ``days``: its lifetime, at most the account's (User.token_days); that by default."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied()
    name = (name or "").strip()
    if not name:
        raise _invalid("name", _("Give the token a name, to tell it from your others."))
    if len(name) > 100:
        raise _invalid("name", _("A token's name has at most 100 characters."))
    longest = actor.token_days
    days = longest if days in (None, "") else days
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= longest:
        raise _invalid(
            "days", _("A token of this account lasts 1 to %(days)d days.") % {"days": longest}
        )
    with transaction.atomic():
        user = _locked_user(actor)  # two requests at once cannot both pass the limit
        now = timezone.now()
        active = tokens_of(user).filter(revoked_at=None, expires_at__gt=now).count()
        if active >= MAX_ACTIVE_TOKENS:
            raise Conflict(
                _("An account may have at most %(count)d tokens in force: revoke one first.")
                % {"count": MAX_ACTIVE_TOKENS}
            )
        key = ApiToken.new_key()
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=key[: ApiToken.PREFIX_LENGTH],
            digest=ApiToken.digest_of(key),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        audit.record(user, "token.created", token, data=_token_data(token))
    return token, key


def token_revoke(*, actor, token_id):
    """Revoke a token: the owner's own, or any by the secretariat. It stops working at
    once; it stays listed as revoked."""
    with transaction.atomic():
        tokens = ApiToken.objects.select_for_update()
        if not (actor.is_authenticated and actor.role == User.Role.SECRETARIAT):
            tokens = tokens.filter(user_id=actor.pk)
        try:
            token = tokens.filter(pk=int(token_id)).first()
        except (TypeError, ValueError):
            token = None
        if token is None:
            raise NotFound(_("No such token."))
        if token.revoked_at is not None:
            raise TransitionNotAllowed(
                "revoked",
                "revoke",
                _("This token was revoked on %(day)s.")
                % {"day": token.revoked_at.date().isoformat()},
            )
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(actor, "token.revoked", token, data=_token_data(token))
    return token


def _token_data(token):
    return {
        "owner": token.user_id,
        "name": token.name,
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat(),
    }


# --- The second factor ---------------------------------------------------------------------


def authenticator(user):
    """The account's confirmed authenticator app, or None."""
    if user is None or not user.is_authenticated:
        return None
    return AuthenticatorDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def enrolment_start(*, actor):
    """A new, unconfirmed authenticator with a fresh key, for the enrolment page's QR code
    (an earlier unconfirmed one is replaced). Refused while one is confirmed."""
    with transaction.atomic():
        user = _locked_user(actor)
        if authenticator(user) is not None:
            raise Conflict(_("An authenticator app is set up already."))
        AuthenticatorDevice.objects.filter(user=user, confirmed=False).delete()
        device = AuthenticatorDevice(user=user, name="Authenticator app", confirmed=False)
        device.key = AuthenticatorDevice.new_key()
        device.save()
    return device


def enrolment_pending(user):
    return AuthenticatorDevice.objects.filter(user_id=user.pk, confirmed=False).first()


def enrolment_confirm(*, actor, code):
    """Confirm the pending authenticator with a first code of the app. Returns (device,
    the ten recovery codes, shown once).

    Every session of the account ends, as on signing out everywhere (User.session_salt):
    one opened before the app, with the password alone, must not stay open unconfirmed.
    ``actor`` is given the new salt, so that the caller keeps its own session with
    django.contrib.auth.update_session_auth_hash."""
    with transaction.atomic():
        user = _locked_user(actor)
        device = (
            AuthenticatorDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .first()
        )
        if device is None:
            raise TransitionNotAllowed(
                "confirmed", "confirm", _("Start the set-up again: no app is waiting for it.")
            )
        if not _code_shape(code) or not device.verify_token(code):
            raise _invalid(
                "code", _("That code is not right. Type the six digits the app shows now.")
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = device.new_recovery_codes()
        actor.session_salt = _new_session_salt(user)
        audit.record(user, "account.otp_enrolled", user, data={})
    return device, codes


def _code_shape(code):
    text = "".join(str(code or "").split())
    return text.isdigit() and len(text) == AuthenticatorDevice.DIGITS


def verify_code(user, code, *, recovery=True):
    """The account's authenticator when `code` (six digits, or a recovery code unless
    ``recovery`` is False) is right, else None. The device is locked while checked, so a
    code is accepted once."""
    if not recovery and not _code_shape(code):
        return None  # not a code of the app: a recovery code never does this
    with transaction.atomic():
        device = (
            AuthenticatorDevice.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=True)
            .first()
        )
        if device is None or not device.verify_token(code):
            return None
        if device.recovery_code_used:
            audit.record(
                user,
                "account.recovery_code_used",
                user,
                data={"left": device.recovery_codes.count()},
            )
    return device


def verified_in_session(request, device):
    """Mark the request's session as confirmed by this device (django-otp)."""
    django_otp.login(request, device)


def recovery_codes_renew(*, actor, code):
    """Ten new recovery codes in place of those left, for a code of the app (a recovery
    code does not do: whoever holds one only must not make themselves ten more)."""
    device = verify_code(actor, code, recovery=False)
    if device is None:
        raise _invalid("code", _("That code is not right. Type the six digits the app shows now."))
    with transaction.atomic():
        codes = device.new_recovery_codes()
        audit.record(actor, "account.recovery_codes_renewed", actor, data={})
    return codes


def two_factor_turn_off(*, actor, code):
    """A manufacturer's or customs officer's own choice, for a code of the app (not a
    recovery code); reviewers and the secretariat may not sign in without one."""
    if actor.needs_second_factor:
        raise PermissionDenied(_("Reviewers and the secretariat keep their second factor."))
    if verify_code(actor, code, recovery=False) is None:
        raise _invalid("code", _("That code is not right. Type the six digits the app shows now."))
    with transaction.atomic():
        AuthenticatorDevice.objects.filter(user=actor).delete()
        audit.record(actor, "account.otp_disabled", actor, data={})


def two_factor_reset(*, actor, user_id):
    """The secretariat removes an account's authenticator (a lost phone): the account
    enrols again at its next sign-in; until then a reviewer's tokens do not act."""
    policy.ensure_secretariat(actor)
    with transaction.atomic():
        try:
            user = User.objects.select_for_update().filter(pk=int(user_id)).first()
        except (TypeError, ValueError):
            user = None
        if user is None:
            raise NotFound(_("No such account."))
        deleted, _rows = AuthenticatorDevice.objects.filter(user=user).delete()
        audit.record(actor, "account.otp_reset", user, data={"had_app": bool(deleted)})
    return user


# --- Sign-ins and sessions -----------------------------------------------------------------


def sign_in_recorded(user, *, succeeded, step, address, via):
    """A reviewer's or the secretariat's sign-in, or a failed try at it, in the audit trail
    (other accounts' are not recorded). `step`: "password" or "second_factor"; `via`:
    "pages" or "api"."""
    if user is None or not user.needs_second_factor:
        return
    with transaction.atomic():
        audit.record(
            user if succeeded else None,
            "account.signed_in" if succeeded else "account.sign_in_failed",
            user,
            data={"step": step, "address": address, "via": via},
        )


def sign_out_everywhere(*, actor):
    """End every session of the account, this one included (User.session_salt). API tokens
    and the second factor stay as they are."""
    with transaction.atomic():
        user = _locked_user(actor)
        _new_session_salt(user)
        audit.record(user, "account.signed_out_everywhere", user, data={})
    return user


def _new_session_salt(user):
    """Give the (locked) account a new session salt: every session it has ends."""
    user.session_salt = secrets.token_hex(16)
    user.save(update_fields=["session_salt"])
    return user.session_salt
