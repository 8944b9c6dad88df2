from django.core.management.base import BaseCommand, CommandError

from certification.core.numbering import MEMBER_STATES
from certification.verification.signing import SECRETARIAT, key_ids, rotate_key


class Command(BaseCommand):
    help = (
        "Create a member state's first signing key, or rotate to a new one. Retired keys stay "
        "published in the JWKS, so tokens they signed keep verifying. With --secretariat, the "
        "same for the secretariat's key, which signs the audit checkpoints."
    )

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--country", help="Member state code, e.g. UZ.")
        owner.add_argument(
            "--secretariat",
            action="store_true",
            help="The secretariat's key (audit checkpoints, /transparency/jwks.json).",
        )

    def handle(self, *args, country=None, secretariat=False, **options):
        if secretariat:
            code = name = SECRETARIAT
        else:
            code = country.strip().upper()
            name = code
            if code not in MEMBER_STATES:
                raise CommandError(f"--country must be one of: {', '.join(MEMBER_STATES)}.")
        try:
            previous = key_ids(code)
            kid = rotate_key(code)
        except OSError as error:
            raise CommandError(f"Cannot write the signing key: {error}.") from error
        if previous:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Rotated the signing key of {name}: {kid} is now active; "
                    f"{len(previous)} retired key(s) stay published."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Created the first signing key of {name}: {kid}.")
            )
