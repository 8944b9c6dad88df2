from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from certification.models import WebhookSubscription
from registry import sealing
from registry.models import AuthenticatorDevice

# Every column that holds a sealed secret: (model, field).
SEALED = ((WebhookSubscription, "sealed_secret"), (AuthenticatorDevice, "sealed_key"))


class Command(BaseCommand):
    help = (
        "Encrypt every stored secret (webhook secrets, authenticator keys) again with the "
        "first of SECRETS_KEYS, after a new key was put first; then the old key may be "
        "dropped from the list. --new-key prints a fresh key to put first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="Print a new Fernet key for SECRETS_KEYS and change nothing.",
        )

    def handle(self, *args, new_key=False, **options):
        if new_key:
            self.stdout.write(sealing.new_key())
            return
        counts = {}
        try:
            with transaction.atomic():
                for model, field in SEALED:
                    rows = model.objects.exclude(**{field: ""}).select_for_update()
                    count = 0
                    for row in rows.only("pk", field).iterator():
                        setattr(row, field, sealing.reseal(getattr(row, field)))
                        row.save(update_fields=[field])
                        count += 1
                    counts[model._meta.verbose_name_plural] = count
        except sealing.SealBroken as error:
            raise CommandError(f"{error} Nothing was changed.") from None
        done = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Encrypted again with the first of SECRETS_KEYS: {done}.")
        )
