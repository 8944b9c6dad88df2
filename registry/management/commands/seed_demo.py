from django.core.management.base import BaseCommand

from registry.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load demo accounts, producers and products (idempotent) and print the logins."

    def handle(self, *args, **options):
        logins = seed_demo()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data is loaded. Logins (password for all: {DEMO_PASSWORD}):")
        )
        for role, email, detail in logins:
            self.stdout.write(f"  {role:<13} {email:<40} {detail}")
