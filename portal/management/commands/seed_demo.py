"""The demo data of the embedded default: each app's own seed command, by name (the
portal-wide layer imports no app).  Idempotent."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo accounts, team and servers, once."

    def handle(self, *args: object, **options: object) -> None:
        call_command("seed_servers", stdout=self.stdout)
        call_command("seed_accounts", stdout=self.stdout)
        # `make run` (runportal) then prints where to sign in and what to try, at its address.
        self.stdout.write(f"Database:     {settings.DATABASES['default']['NAME']}")
