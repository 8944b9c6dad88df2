from django.core.management.base import BaseCommand, CommandError

from certification.core.numbering import MEMBER_STATES
from certification.verification.signing import key_ids, rotate_key


class Command(BaseCommand):
    help = (
        "Create a member state's first signing key, or rotate to a new one. Retired keys stay "
        "published in the JWKS, so tokens they signed keep verifying."
    )

    def add_arguments(self, parser):
        parser.add_argument("--country", required=True, help="Member state code, e.g. UZ.")

    def handle(self, *args, country, **options):
        code = country.strip().upper()
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
                    f"Rotated the signing key of {code}: {kid} is now active; "
                    f"{len(previous)} retired key(s) stay published."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Created the first signing key of {code}: {kid}.")
            )
