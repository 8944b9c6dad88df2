"""The former API tokens (DRF's authtoken: one plain key per account, never expiring) become
named tokens kept as their SHA-256 (registry/credentials.py), so that every client keeps
working with the key it has: each key's row is named "migrated", expires API_TOKEN_DAYS from
now, keeps the key's first eight characters to be told apart, and its owner, and its day
of creation. Then the old table, which held the keys in the clear, is dropped.

DRF's authtoken app is no longer installed, so its table is read with plain SQL, and only
where it exists (a database made before this change). Going back cannot restore the keys
(only their hashes are kept), so it is refused (IrreversibleError): a rollback past this
migration needs a backup taken before it."""

import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def tokens_from_authtoken(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("registry", "ApiToken")
    quoted = schema_editor.quote_name(OLD_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {quoted}")  # noqa: S608
        rows = cursor.fetchall()
    expires = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    ApiToken.objects.bulk_create(
        ApiToken(
            user_id=user_id,
            name="migrated",
            prefix=key[:8],
            digest=hashlib.sha256(key.encode("utf-8")).hexdigest(),
            created_at=_moment(created) or timezone.now(),
            expires_at=expires,
        )
        for key, user_id, created in rows
    )
    schema_editor.execute(f"DROP TABLE {quoted}")


def _moment(value):
    """The old row's creation time as plain SQL returns it (text on SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_credentials"),
    ]

    operations = [
        # No reverse: the plain keys are gone; rolling back must refuse, not pretend.
        migrations.RunPython(tokens_from_authtoken),
    ]
