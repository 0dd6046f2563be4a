from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from servers import models
from servers.adapters import mappers
from servers.application.ports import ServerRepository
from servers.domain.errors import ServerAddressTaken, ServerNameTaken, ServerNotFound
from servers.domain.model import Server

# Ids the primary key column can hold; others cannot exist, and asking the database
# about them would fail instead of finding nothing.
_ID_RANGE = range(1, 2**63)


class DjangoServerRepository(ServerRepository):
    def get_one(self, server_id: int, *, for_update: bool = False) -> Server:
        if server_id not in _ID_RANGE:
            raise ServerNotFound(server_id)
        rows = models.Server.objects.select_for_update() if for_update else models.Server.objects
        try:
            return mappers.to_domain(rows.get(pk=server_id))
        except models.Server.DoesNotExist:
            raise ServerNotFound(server_id) from None

    def get_list(self, server_ids: Iterable[int], *, for_update: bool = False) -> list[Server]:
        rows = models.Server.objects.filter(pk__in=[i for i in server_ids if i in _ID_RANGE]).order_by("pk")
        if for_update:
            rows = rows.select_for_update()
        return [mappers.to_domain(row) for row in rows]

    def create_one(self, server: Server) -> Server:
        row = mappers.to_row(server)
        self._save(row, server)
        return mappers.to_domain(row)

    def update_one(self, server: Server) -> Server:
        row = mappers.to_row(server, models.Server.objects.get(pk=server.id))
        self._save(row, server)
        return mappers.to_domain(row)

    def delete_one(self, server_id: int) -> None:
        models.Server.objects.filter(pk=server_id).delete()

    @staticmethod
    def _save(row: models.Server, server: Server) -> None:
        """Uniqueness is the database's to guarantee; this turns a clash into the
        matching domain error."""
        others = models.Server.objects.exclude(pk=server.id)
        if others.filter(name=server.name).exists():
            raise ServerNameTaken(server.name)
        if others.filter(address=server.address, port=server.port).exists():
            raise ServerAddressTaken(server.address, server.port)
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            if others.filter(name=server.name).exists():
                raise ServerNameTaken(server.name) from None
            raise ServerAddressTaken(server.address, server.port) from None
