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
