from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

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
    """One per unit of work.  The servers it has locked cannot change until that unit of
    work ends, so it remembers them and reads them only once (a create locks its servers,
    then checks them against the provider's rules)."""

    def __init__(self) -> None:
        self._locked: dict[int, Server] = {}

    def get_one(self, server_id: int, *, for_update: bool = False) -> Server:
        if server_id not in _ID_RANGE:
            raise ServerNotFound(server_id)
        if server_id in self._locked:
            return replace(self._locked[server_id])
        rows = models.Server.objects.select_for_update(no_key=True) if for_update else models.Server.objects
        try:
            server = mappers.to_domain(rows.get(pk=server_id))
        except models.Server.DoesNotExist:
            raise ServerNotFound(server_id) from None
        if for_update:
            self._locked[server_id] = replace(server)
        return server

    def get_list(self, server_ids: Iterable[int], *, for_update: bool = False) -> list[Server]:
        wanted = {i for i in server_ids if i in _ID_RANGE}
        found = {i: replace(self._locked[i]) for i in wanted if i in self._locked}
        if missing := sorted(wanted - set(found)):
            rows = models.Server.objects.filter(pk__in=missing).order_by("pk")
            for server in map(mappers.to_domain, rows.select_for_update(no_key=True) if for_update else rows):
                found[server.id] = server  # type: ignore[index]
                if for_update:
                    self._locked[server.id] = replace(server)  # type: ignore[index]
        return [found[i] for i in sorted(found)]

    def create_one(self, server: Server) -> Server:
        row = mappers.to_row(server)
        self._save(row, server)
        return mappers.to_domain(row)

    def update_one(self, server: Server) -> Server:
        self._locked.pop(server.id, None)  # type: ignore[arg-type]
        row = mappers.to_row(server, models.Server.objects.get(pk=server.id))
        self._save(row, server)
        return mappers.to_domain(row)

    def delete_one(self, server_id: int) -> None:
        self._locked.pop(server_id, None)
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
