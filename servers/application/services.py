"""Use cases for the server inventory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from portal.kernel.actors import Actor
from portal.kernel.errors import FieldErrors, ValidationFailed
from portal.kernel.pagination import Page, PageRequest
from portal.kernel.validators import choice_errors
from servers.application.imports import ImportPlan
from servers.application.payloads import CreateServer, ImportResult, ImportServers, ServerQuery, UpdateServer
from servers.application.ports import ServerReadModel, ServersUnitOfWork
from servers.domain.errors import ServerInUse
from servers.domain.model import STRICT_ADDRESS_POLICY, AddressPolicy, Server, ServerStatus


class ServerService:
    def __init__(
        self,
        uow_factory: Callable[[], ServersUnitOfWork],
        read_model: ServerReadModel,
        *,
        policy: AddressPolicy = STRICT_ADDRESS_POLICY,
    ):
        self._uow_factory = uow_factory
        self._read_model = read_model
        self._policy = policy

    def get_one(self, server_id: int) -> Server:
        with self._uow_factory() as uow:
            return uow.servers.get_one(server_id)

    def get_list(self, server_ids: list[int]) -> list[Server]:
        """The servers among these ids that exist."""
        with self._uow_factory() as uow:
            return uow.servers.get_list(server_ids)

    def get_plist(self, query: ServerQuery) -> Page[Server]:
        self._check_query(query)
        return self._read_model.get_plist(query)

    def get_iter(self, query: ServerQuery) -> Iterator[Server]:
        """Every server the query matches, in its order, whatever its page (an export:
        limit, offset and cursor are ignored).
        The query is checked now; the servers are read as the iterator is consumed."""
        query = replace(query, page=PageRequest(sort_by=query.page.sort_by, sort_direction=query.page.sort_direction))
        self._check_query(query)
        return self._read_model.get_iter(query)

    @staticmethod
    def _check_query(query: ServerQuery) -> None:
        query.page.check(ServerQuery.SORTABLE)
        if query.status is not None:
            errors = FieldErrors()
            for message in choice_errors(query.status, ServerStatus, what="status"):
                errors.add("status", message)
            errors.raise_if_any("the list query is not valid")

    def create_one(self, actor: Actor, payload: CreateServer) -> Server:
        server = Server.new(
            name=payload.name, address=payload.address, port=payload.port, status=payload.status, policy=self._policy
        )
        with self._uow_factory() as uow:
            server = uow.servers.create_one(server)
            uow.record(server.created())
            uow.commit(by=actor)
        return server

    def update_one(self, actor: Actor, server_id: int, payload: UpdateServer) -> Server:
        with self._uow_factory() as uow:
            server = uow.servers.get_one(server_id, for_update=True)
            moves = (payload.address, payload.port) != (None, None) and (
                (payload.address or server.address, payload.port or server.port) != (server.address, server.port)
            )
            if moves and (users := uow.usage.users_of(server_id)):
                # The providers hold its old address: take it out of those load balancers first.
                raise ServerInUse(server_id, users, refused="change its address or port")
            changes = server.change(
                name=server.name if payload.name is None else payload.name,
                address=server.address if payload.address is None else payload.address,
                port=server.port if payload.port is None else payload.port,
                status=server.status if payload.status is None else payload.status,
                policy=self._policy,
            )
            if not changes:
                return server
            server = uow.servers.update_one(server)
            uow.record(server.updated(changes))
            uow.commit(by=actor)
        return server

    def update_status(self, actor: Actor, server_id: int, status: str) -> Server:
        return self.update_one(actor, server_id, UpdateServer(status=status))

    def get_users(self, server_id: int) -> list[str]:
        """The live load balancers that use the server, by name."""
        with self._uow_factory() as uow:
            return uow.usage.users_of(server_id)

    def delete_one(self, actor: Actor, server_id: int) -> None:
        """Refused while any load balancer uses the server, naming them."""
        with self._uow_factory() as uow:
            server = uow.servers.get_one(server_id, for_update=True)
            users = uow.usage.users_of(server_id)
            if users:
                raise ServerInUse(server_id, users)
            uow.servers.delete_one(server_id)
            uow.record(server.deleted())
            uow.commit(by=actor)

    def import_batch(self, actor: Actor, payload: ImportServers) -> ImportResult:
        """Create the servers of the import whose name is new, change those whose name
        exists, in one transaction.  Every row is judged first, with the rules of
        ``create_one`` and ``update_one`` (a server in use keeps its address and port);
        when any row is bad, ValidationFailed names each by line and field
        (``details.rows``) and nothing is stored."""
        if not payload.rows:
            raise ValidationFailed("there are no servers to import", details={"rows": ["the import is empty"]})
        with self._uow_factory() as uow:
            plan = ImportPlan(payload.rows, self._policy)
            plan.match(
                by_name=uow.servers.get_list_by_name(plan.names, for_update=True),
                by_id=uow.servers.get_list(plan.ids),
                by_address=uow.servers.get_list_by_address(plan.addresses),
            )
            plan.check_in_use(uow.usage.users_of)
            if plan.errors:
                bad = len(plan.errors)
                raise ValidationFailed(
                    f"{bad} row(s) of the import are not valid; nothing was imported",
                    details={"rows": plan.errors},
                )
            created = uow.servers.create_batch(plan.new) if plan.new else []
            updated = uow.servers.update_batch([server for server, _ in plan.changed]) if plan.changed else []
            uow.record(*(server.created() for server in created))
            uow.record(*(server.updated(changes) for server, (_, changes) in zip(updated, plan.changed, strict=True)))
            uow.commit(by=actor)
        return ImportResult(created=len(created), updated=len(updated), unchanged=plan.unchanged)
