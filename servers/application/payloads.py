from __future__ import annotations

from dataclasses import dataclass, field

from portal.kernel.pagination import PageRequest
from servers.domain.model import ServerStatus


@dataclass(frozen=True)
class CreateServer:
    name: str
    address: str
    port: int
    status: str = ServerStatus.OK


@dataclass(frozen=True)
class UpdateServer:
    """A partial change: fields left as None keep their value."""

    name: str | None = None
    address: str | None = None
    port: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class ServerQuery:
    page: PageRequest = field(default_factory=lambda: PageRequest(sort_by="name"))
    status: str | None = None
    search: str | None = None

    SORTABLE = ("id", "name", "address", "port", "status", "created_at", "updated_at")


@dataclass(frozen=True)
class ImportRow:
    """One server of an import file, as sent: the service judges every value.
    ``status`` None: OK for a new server, unchanged for an existing one.  ``id``, when
    given, must be the id of the server of that name (servers are matched by name)."""

    line: int
    name: object = None
    address: object = None
    port: object = None
    status: object = None
    id: object = None
    problem: str | None = None
    """What is wrong with the row as a whole (its shape in the file), if anything."""


@dataclass(frozen=True)
class ImportServers:
    """A whole import: stored all together, or not at all."""

    rows: tuple[ImportRow, ...]


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
