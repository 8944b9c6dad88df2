import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from certification.demo import sample_statuses, seed_certificates, seed_open_applications
from certification.models import Certificate
from registry.demo import DEMO_PASSWORD, DEMO_TOTP_KEY_BASE32, seed_demo

# The current six-digit code of a base32 TOTP key (RFC 6238), with Python alone.
CODE_ONE_LINER = (
    'python3 -c "import base64,hmac,struct,time;'
    "k=base64.b32decode('{key}');"
    "h=hmac.digest(k,struct.pack('>Q',int(time.time())//30),'sha1');o=h[-1]&15;"
    "print('%06d'%((int.from_bytes(h[o:o+4],'big')&0x7fffffff)%10**6))\""
)


class Command(BaseCommand):
    help = (
        "Load demo accounts, producers, products and sample certificates (idempotent) and "
        "print the logins and the sample certificate numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-second-factor",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Give the demo reviewers and secretariat the printed demo authenticator key "
            "(default: only on the embedded default, DEBUG true).",
        )

    def handle(self, *args, demo_second_factor=None, **options):
        if demo_second_factor is None:
            demo_second_factor = settings.DEBUG
        elif demo_second_factor and not settings.DEBUG:
            raise CommandError(
                "--demo-second-factor gives officials a published key: only on the embedded "
                "default (DEBUG true)."
            )
        logins = seed_demo(demo_second_factor=demo_second_factor)
        samples = seed_certificates()
        seed_open_applications()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data is loaded. Logins (password for all: {DEMO_PASSWORD}):")
        )
        for role, email, detail in logins:
            self.stdout.write(f"  {role:<13} {email:<40} {detail}")
        self.second_factor(demo_second_factor)
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

    def second_factor(self, enrolled):
        """How the demo reviewers and secretariat pass the sign-in's second step."""
        if not enrolled:
            self.stdout.write(
                "\nReviewers and the secretariat sign in with a second factor: each demo "
                "official sets up an authenticator app at its first sign-in (a QR code)."
            )
            return
        warning = (
            "\nDEMO ONLY, EMBEDDED DEFAULT: the demo reviewers and the secretariat share a "
            "PUBLISHED authenticator key. Never run seed_demo this way where the registry is "
            "for real."
        )
        self.stdout.write(self.style.WARNING(warning))
        self.stdout.write(
            "Their sign-in asks for a six-digit code after the password. Add this key to any "
            f"authenticator app (time-based, 30 s):\n  {DEMO_TOTP_KEY_BASE32}\n"
            "or print the current code with:\n  " + CODE_ONE_LINER.format(key=DEMO_TOTP_KEY_BASE32)
        )
