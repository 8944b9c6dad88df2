"""StatusList.expires_at was written and never read: a list's end of validity is the
``exp`` inside its token (``iat`` + STATUS_LIST_VALID_HOURS), and staleness is judged from
``issued_at``."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0006_webhook_secret_sealed"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="statuslist",
            name="expires_at",
        ),
    ]
