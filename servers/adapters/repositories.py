from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace

from django.db import IntegrityError, transaction
from django.utils import timezone

from servers import models
from servers.adapters import mappers
from servers.application.ports import ServerRepository
from servers.domain.errors import ImportClashed, ServerAddressTaken, ServerNameTaken, ServerNotFound
from servers.domain.model import Server

# Rows written by one statement of a batch (SQLite allows 999 parameters in older builds).
_BATCH = 200


def _chunks(values: list, size: int = 900) -> Iterator[list]:  # type: ignore[type-arg]
    """``values`` in pieces small enough for one ``IN (...)`` on every database."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


@contextlib.contextmanager
def _clashes_refused() -> Iterator[None]:
    """A unique name or address taken by another write since the batch was checked:
    the batch is undone and the import refused (409), never a 500."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise ImportClashed() from None


_UNSEEN = object()
_FIELDS = ("name", "address", "port", "status")


def _values(server: Server) -> dict[str, object]:
    """The stored values of a server's own fields."""
    row = mappers.to_row(server)
    return {name: getattr(row, name) for name in _FIELDS}


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

    def get_list_by_name(self, names: Iterable[str], *, for_update: bool = False) -> list[Server]:
        found = []
        for chunk in _chunks(sorted(set(names))):
            rows = models.Server.objects.filter(name__in=chunk).order_by("pk")
            for server in map(mappers.to_domain, rows.select_for_update(no_key=True) if for_update else rows):
                found.append(server)
                if for_update:
                    self._locked[server.id] = replace(server)  # type: ignore[index]
        return found

    def get_list_by_address(self, addresses: Iterable[str]) -> list[Server]:
        found = []
        for chunk in _chunks(sorted(set(addresses))):
            found.extend(map(mappers.to_domain, models.Server.objects.filter(address__in=chunk).order_by("pk")))
        return found

    def create_batch(self, servers: list[Server]) -> list[Server]:
        rows = [mappers.to_row(server) for server in servers]
        with _clashes_refused():
            models.Server.objects.bulk_create(rows, batch_size=_BATCH)
        if any(row.pk is None for row in rows):  # a database that does not return new ids
            ids = dict(models.Server.objects.filter(name__in=[r.name for r in rows]).values_list("name", "pk"))
            for row in rows:
                row.pk = ids[row.name]
        return [mappers.to_domain(row) for row in rows]

    def update_batch(self, servers: list[Server]) -> list[Server]:
        """Each server's changed fields (against the row as this unit of work locked it;
        every field of one it did not lock) are written, and the servers changed the same
        way share their UPDATEs: an import that sets many servers to one status costs a
        statement per ``_chunks`` of them, not a CASE per row."""
        now = timezone.now()
        changed_alike: dict[tuple[tuple[str, object], ...], list[int]] = defaultdict(list)
        for server in servers:
            before = self._locked.pop(server.id, None)  # type: ignore[arg-type]
            after = _values(server)
            old = _values(before) if before is not None else {}
            changed = tuple((name, value) for name, value in after.items() if old.get(name, _UNSEEN) != value)
            changed_alike[changed].append(server.id)  # type: ignore[arg-type]
        with _clashes_refused():
            for changed, ids in changed_alike.items():
                for chunk in _chunks(ids):
                    models.Server.objects.filter(pk__in=chunk).update(updated_at=now, **dict(changed))
        return [replace(server, updated_at=now) for server in servers]

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
