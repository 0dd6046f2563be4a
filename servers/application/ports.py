"""What the servers use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Protocol

from portal.kernel.pagination import Page
from portal.kernel.unit_of_work import AbstractUnitOfWork
from servers.application.payloads import ServerQuery
from servers.domain.model import Server


class ServerRepository(abc.ABC):
    @abc.abstractmethod
    def get_one(self, server_id: int, *, for_update: bool = False) -> Server:
        """The server, or ServerNotFound.  ``for_update`` locks it until commit."""

    @abc.abstractmethod
    def get_list(self, server_ids: Iterable[int], *, for_update: bool = False) -> list[Server]:
        """The servers that exist among ``server_ids`` (missing ones are left out)."""

    @abc.abstractmethod
    def create_one(self, server: Server) -> Server:
        """Store a new server and return it with its id; ServerNameTaken / ServerAddressTaken."""

    @abc.abstractmethod
    def update_one(self, server: Server) -> Server: ...

    @abc.abstractmethod
    def delete_one(self, server_id: int) -> None: ...


class ServerUsage(Protocol):
    """Tells who uses a server.  Apps that build on servers plug one in, so the
    servers app itself never depends on them."""

    def users_of(self, server_id: int) -> list[str]: ...


class ServersUnitOfWork(AbstractUnitOfWork):
    servers: ServerRepository
    usage: ServerUsage


class ServerReadModel(abc.ABC):
    """The read side: servers as lists show them."""

    @abc.abstractmethod
    def get_plist(self, query: ServerQuery) -> Page[Server]:
        """One page of the servers that match, in the query's order."""
