from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry.models import MemberState, User


class Command(BaseCommand):
    help = "Create a reviewer, customs or secretariat account."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=["reviewer", "customs", "secretariat"])
        parser.add_argument("--country", help="Member state code, for reviewers and customs.")
        parser.add_argument("--full-name", default="")

    @transaction.atomic
    def handle(self, *args, email, password, role, country, full_name, **options):
        state = None
        if country:
            state = MemberState.objects.filter(code=country.strip().upper()).first()
            if state is None:
                codes = ", ".join(MemberState.objects.values_list("code", flat=True))
                raise CommandError(f"--country must be one of: {codes}.")
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"An account with the email {email} already exists.")
        staff = role == User.Role.SECRETARIAT
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError("password: " + " ".join(error.messages)) from None
        try:
            user = User.objects.create_user(
                email=email,
                password=password,
                role=role,
                member_state=state,
                full_name=full_name,
                is_staff=staff,
                is_superuser=staff,
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            ) from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} account {user.email}."))
        if user.needs_second_factor:
            self.stdout.write(
                "Reviewers and the secretariat sign in with a second factor: at the first "
                "sign-in the registry asks this account to set up an authenticator app "
                "(a QR code), and nothing else opens before."
            )
