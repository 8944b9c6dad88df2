from django.core.management.base import BaseCommand, CommandError

from certification.verification import checkpoints
from certification.verification.signing import SigningKeyMissing


class Command(BaseCommand):
    help = (
        "Sign the audit chain's current head with the secretariat's key, add it to the public "
        "list (/transparency/checkpoints/) and copy it to AUDIT_CHECKPOINT_FILE and "
        "AUDIT_CHECKPOINT_EMAILS. Beat does this every hour."
    )

    def handle(self, *args, **options):
        try:
            checkpoint = checkpoints.create()
        except (checkpoints.ChainChanged, checkpoints.NotCopied, SigningKeyMissing) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Checkpoint {checkpoint.sequence}: {checkpoint.hash} "
                f"(event {checkpoint.last_event_id}), signed by {checkpoint.key_id}."
            )
        )
