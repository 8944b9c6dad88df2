from django.conf import settings
from django.core.management.base import BaseCommand

from certification.demo import sample_statuses, seed_certificates, seed_open_applications
from certification.models import Certificate
from registry.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = (
        "Load demo accounts, producers, products and sample certificates (idempotent) and "
        "print the logins and the sample certificate numbers."
    )

    def handle(self, *args, **options):
        logins = seed_demo()
        samples = seed_certificates()
        seed_open_applications()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data is loaded. Logins (password for all: {DEMO_PASSWORD}):")
        )
        for role, email, detail in logins:
            self.stdout.write(f"  {role:<13} {email:<40} {detail}")
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(
            self.style.SUCCESS(f"\nSample certificates (verify at {base}/verify/{{number}}/):")
        )
        for status, expected, number, product, _state, note in sample_statuses(samples):
            if status != expected:
                note = f"meant to read {expected}; changed since the demo was loaded"
            note = f" ({note})" if note else ""
            self.stdout.write(f"  {status:<14} {number}  {product}{note}")
        first = Certificate.objects.filter(number=samples[0][1]).first()
        if first is not None:
            self.stdout.write(
                "\nWhat the QR code of a certificate opens (the token's signature is checked "
                f"too):\n  {base}/verify/{first.number}/?t={first.token}"
            )
