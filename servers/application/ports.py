"""What the servers use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
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
    def get_list_by_name(self, names: Iterable[str], *, for_update: bool = False) -> list[Server]:
        """The servers that have one of these names."""

    @abc.abstractmethod
    def get_list_by_address(self, addresses: Iterable[str]) -> list[Server]:
        """The servers at one of these (normalised) addresses, on any port."""

    @abc.abstractmethod
    def create_one(self, server: Server) -> Server:
        """Store a new server and return it with its id; ServerNameTaken / ServerAddressTaken."""

    @abc.abstractmethod
    def update_one(self, server: Server) -> Server: ...

    @abc.abstractmethod
    def delete_one(self, server_id: int) -> None: ...

    @abc.abstractmethod
    def create_batch(self, servers: list[Server]) -> list[Server]:
        """Store new servers, all or none, and return them with their ids, in the same
        order; ImportClashed when a name or address is taken meanwhile."""

    @abc.abstractmethod
    def update_batch(self, servers: list[Server]) -> list[Server]:
        """Store changed servers, all or none; ImportClashed as ``create_batch``."""


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

    @abc.abstractmethod
    def get_iter(self, query: ServerQuery) -> Iterator[Server]:
        """Every server that matches (the query's page is ignored, its order kept), read
        a few at a time, so that an export of any size never sits in memory."""
