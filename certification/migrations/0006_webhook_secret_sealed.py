"""Webhook secrets sealed at rest (registry/sealing.py): the column becomes
``sealed_secret`` (text: a Fernet token is longer than the secret) and every secret already
stored is encrypted with the first of SECRETS_KEYS, in place, so that every subscriber's
signatures stay as they were. Secrets already sealed (a migration run again after a
failure) are left alone; deleted subscriptions hold none.

Going back decrypts them again, with the same keys."""

from django.db import migrations, models

from registry import sealing


def seal_secrets(apps, schema_editor):
    subscriptions = apps.get_model("certification", "WebhookSubscription")
    for subscription in subscriptions.objects.exclude(sealed_secret="").iterator():
        if sealing.is_sealed(subscription.sealed_secret):
            continue
        # Without SECRETS_KEYS in production this stops the migration, naming the variable.
        subscription.sealed_secret = sealing.seal(subscription.sealed_secret)
        subscription.save(update_fields=["sealed_secret"])


def unseal_secrets(apps, schema_editor):
    subscriptions = apps.get_model("certification", "WebhookSubscription")
    for subscription in subscriptions.objects.exclude(sealed_secret="").iterator():
        if sealing.is_sealed(subscription.sealed_secret):
            subscription.sealed_secret = sealing.unseal(subscription.sealed_secret)
            subscription.save(update_fields=["sealed_secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0005_application_queue_indexes"),
    ]

    operations = [
        migrations.RenameField(
            model_name="webhooksubscription", old_name="secret", new_name="sealed_secret"
        ),
        migrations.AlterField(
            model_name="webhooksubscription",
            name="sealed_secret",
            field=models.TextField(editable=False),
        ),
        migrations.RunPython(seal_secrets, unseal_secrets),
    ]
