from django.core.management.base import BaseCommand, CommandError

from certification.core.audit import verify_chain
from certification.models import AuditEvent


class Command(BaseCommand):
    help = "Check the audit trail's hash chain and report the first broken link."

    def handle(self, *args, **options):
        broken = verify_chain()
        if broken is None:
            count = AuditEvent.objects.count()
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {count} events."))
            return
        event_id, reason = broken
        where = f"event {event_id}" if event_id is not None else "the first event"
        raise CommandError(f"Audit chain broken at {where}: {reason}.")
