"""Who is calling the API (docs/api.md, "Signing in").

``Authorization: Token <key>`` names an API token (registry/credentials.py). The key is
hashed here and the token, its account and whether that account has a confirmed second
factor come in one prepared statement (lookup.query). Then, in this order:

- no token has this key: 401 "Invalid token.";
- the token was revoked, or has expired: 401, saying which;
- the account is deactivated: 401 (at once: every request reads the account);
- a reviewer or the secretariat without a confirmed second factor: 403
  ``second_factor_required`` (their tokens are issued only with a code, but a token made
  before the second factor was required, or kept after the secretariat reset it, must not
  act alone).

A GET of the verify endpoint is usually answered before Django by the short way
(certification/api/fastpath.py), whose one query keeps the same conditions in its WHERE and
leaves every refusal to this class.

A browser session may call the API too (SessionAuthentication, with its CSRF check); a
reviewer's or the secretariat's session counts only once its second factor is confirmed
(django-otp's OTPMiddleware says so)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from certification.verification import lookup
from registry.models import ApiToken, User

_TOKEN_COLUMNS = ("id", "user_id", "name", "prefix", "created_at", "expires_at", "revoked_at")
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
_TOKEN_SQL = """
    SELECT {user_columns}, {token_columns}, {second_factor}
      FROM {token} t
      JOIN {user} u ON u.{pk} = t.user_id
     WHERE t.digest = %s
""".format(  # noqa: S608 - table and column names come from the models
    user_columns=", ".join(f"u.{field.column}" for field in User._meta.concrete_fields),
    token_columns=", ".join(f"t.{name}" for name in _TOKEN_COLUMNS),
    second_factor=lookup.SECOND_FACTOR_SQL,
    token=ApiToken._meta.db_table,
    user=User._meta.db_table,
    pk=User._meta.pk.column,
)


class SecondFactorRequired(exceptions.PermissionDenied):
    """A reviewer or the secretariat without a confirmed second factor: 403."""

    error_code = "second_factor_required"
    # Lazy: translated when raised, in the request's language (not once, at import).
    default_detail = gettext_lazy(
        "Reviewers and the secretariat act only after signing in with a second factor: set "
        "up or confirm your authenticator app on the pages (/account/two-factor/) first."
    )


def token_for_key(key):
    """(ApiToken with its user, whether the account may act now) for a presented key, or
    None when no token has it. One query."""
    rows = lookup.query(_TOKEN_SQL, [ApiToken.digest_of(key)])
    if not rows:
        return None
    row = rows[0]
    split = len(_USER_FIELDS)
    user = User.from_db(lookup.DATABASE, _USER_FIELDS, row[:split])
    values = dict(zip(_TOKEN_COLUMNS, row[split : split + len(_TOKEN_COLUMNS)], strict=True))
    for name in ("created_at", "expires_at", "revoked_at"):
        values[name] = lookup.moment(values[name])
    token = ApiToken(**values)
    token.user = user
    return token, bool(row[-1])


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``: the token must be in force, its account active, and
    a reviewer's or the secretariat's account must have a second factor. ``request.auth``
    is the ApiToken."""

    def authenticate_credentials(self, key):
        found = token_for_key(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token, may_act = found
        status = token.status(timezone.now())
        if status == "revoked":
            raise exceptions.AuthenticationFailed(_("This token was revoked."))
        if status == "expired":
            raise exceptions.AuthenticationFailed(
                _("This token expired on %(day)s; make a new one.")
                % {"day": token.expires_at.date().isoformat()}
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if not may_act:
            raise SecondFactorRequired()
        return token.user, token


class VerifiedSessionAuthentication(SessionAuthentication):
    """A browser's session; a reviewer's or the secretariat's only once its second factor
    is confirmed in that session."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user = found[0]
        verified = getattr(user, "is_verified", None)
        if user.needs_second_factor and not (verified and verified()):
            raise SecondFactorRequired()
        return found


class VerifiedSessionScheme(SessionScheme):
    """In the schema, the same `cookieAuth` scheme as DRF's SessionAuthentication."""

    target_class = VerifiedSessionAuthentication
