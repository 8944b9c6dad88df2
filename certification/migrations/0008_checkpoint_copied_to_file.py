"""AuditCheckpoint.copied_to_file: whether the checkpoint was appended to
AUDIT_CHECKPOINT_FILE, so that one whose append failed is appended by the next checkpoint.
Checkpoints made before were appended when they were made (or the file was not set): they
are marked copied, and only new ones start unmarked."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0007_status_list_drop_expires_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditcheckpoint",
            name="copied_to_file",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="auditcheckpoint",
            name="copied_to_file",
            field=models.BooleanField(default=False),
        ),
    ]
