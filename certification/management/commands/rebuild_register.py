from django.core.management.base import BaseCommand
from django.db import transaction

from certification.register import index


class Command(BaseCommand):
    help = (
        "Write the public register (its entries and vocabulary) again from the certificates "
        "and producers, in one transaction: after a restore, or on a database whose "
        "certificates predate the register. The workflow keeps it in step otherwise."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            count = index.rebuild()
        self.stdout.write(self.style.SUCCESS(f"Register rebuilt: {count} entries."))
