"""Demo data for the embedded default: an admin account with an API token and a few
servers in every status.  Idempotent: a second run changes nothing."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from config import env
from servers import bootstrap
from servers.application.payloads import CreateServer
from servers.domain.errors import ServerAddressTaken, ServerNameTaken

DEMO_SERVERS = (
    CreateServer(name="web-1", address="10.0.0.11", port=8080, status="OK"),
    CreateServer(name="web-2", address="10.0.0.12", port=8080, status="OK"),
    CreateServer(name="web-3", address="10.0.0.13", port=8080, status="OK"),
    CreateServer(name="api-1", address="10.0.1.21", port=9000, status="OK"),
    CreateServer(name="web-4", address="10.0.0.14", port=8080, status="MAINTENANCE"),
    CreateServer(name="legacy-1", address="10.0.9.99", port=80, status="DOWN"),
)


class Command(BaseCommand):
    help = "Create the demo admin account (with an API token) and demo servers, once."

    def handle(self, *args: object, **options: object) -> None:
        username = env.text("DEMO_ADMIN_USERNAME", "admin")
        password = env.text("DEMO_ADMIN_PASSWORD", "admin")
        if not username or not password:
            raise CommandError("DEMO_ADMIN_USERNAME and DEMO_ADMIN_PASSWORD must not be empty")
        users = get_user_model()
        user = users.objects.filter(username=username).first()
        if user is None:
            user = users.objects.create_superuser(username=username, email="", password=password)
            self.stdout.write(f"created the demo admin {username!r}")
        token, _ = Token.objects.get_or_create(user=user)

        service = bootstrap.build()
        for server in DEMO_SERVERS:
            try:
                service.create_one(server)
                self.stdout.write(f"created server {server.name} ({server.status})")
            except (ServerNameTaken, ServerAddressTaken):
                pass  # already there: seeding is idempotent

        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo account: {username} / {password} (sign in at http://127.0.0.1:8000/admin/)\n"
                f"API token:    {token.key}\n"
                f"Try:          curl -H 'Authorization: Token {token.key}' http://127.0.0.1:8000/api/v1/servers/\n"
                f"Database:     {settings.DATABASES['default']['NAME']}"
            )
        )
