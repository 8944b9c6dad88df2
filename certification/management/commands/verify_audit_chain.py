import sys

from django.core.management.base import BaseCommand, CommandError

from certification.core.audit import verify_chain
from certification.models import AuditEvent
from certification.verification import checkpoints


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain and report the first broken link. With "
        "--checkpoints FILE, also check that the chain extends every signed checkpoint in the "
        "file (one JSON line or token per checkpoint, as AUDIT_CHECKPOINT_FILE holds them)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="Checkpoints kept outside the database ('-' reads them from standard input).",
        )

    def handle(self, *args, checkpoints=None, **options):
        marks = self._marks(checkpoints) if checkpoints else []
        broken = verify_chain(marks)
        if broken is None:
            count = AuditEvent.objects.count()
            extends = f"; it extends the {len(marks)} checkpoint(s) given" if marks else ""
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {count} events{extends}."))
            return
        event_id, reason = broken
        where = f"event {event_id}" if event_id is not None else "the first event"
        raise CommandError(f"Audit chain broken at {where}: {reason}.")

    def _marks(self, path):
        try:
            if path == "-":
                lines = sys.stdin.readlines()
            else:
                with open(path, encoding="utf-8") as stream:
                    lines = stream.readlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read the checkpoints in {path}: {error}.") from error
        try:
            marks = checkpoints.read_marks(lines)
        except checkpoints.CheckpointInvalid as error:
            raise CommandError(f"{path}: {error}") from error
        if not marks:
            raise CommandError(f"{path} holds no checkpoint.")
        return marks
