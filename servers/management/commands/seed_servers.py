"""Demo servers for the embedded default, in every status.  Idempotent: a second run
changes nothing."""

from django.core.management.base import BaseCommand

from portal.kernel.actors import Actor, Source
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
    help = "Create the demo servers, once."

    def handle(self, *args: object, **options: object) -> None:
        service, seeder = bootstrap.build(), Actor.system(Source.CLI)
        for server in DEMO_SERVERS:
            try:
                service.create_one(seeder, server)
                self.stdout.write(f"created server {server.name} ({server.status})")
            except (ServerNameTaken, ServerAddressTaken):
                pass  # already there: seeding is idempotent
