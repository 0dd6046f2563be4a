"""What an import will do, row by row, and what is wrong with each bad row.

Servers are matched by name: a row whose name exists changes that server, any other
row adds one.  Each row is judged with the domain's rules for a new server
(``Server.new``) or a change (``Server.change``), then against the rest of the file
and the inventory (a name or an address:port once; an id only where it agrees)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace

from portal.kernel.errors import FieldErrors, ValidationFailed
from portal.kernel.events import Change
from servers.application.payloads import ImportRow
from servers.domain.errors import ServerInUse
from servers.domain.model import AddressPolicy, Server, ServerStatus

Position = tuple[str, int]


def _normalised(address: object) -> str | None:
    if not isinstance(address, str):
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ImportPlan:
    """Built from the rows, then ``match``-ed against the inventory: ``new`` servers to
    create, ``changed`` ones (with their changes) to store, how many are ``unchanged``,
    and the ``errors`` of each bad row by line (empty when all are good)."""

    def __init__(self, rows: tuple[ImportRow, ...], policy: AddressPolicy) -> None:
        self._rows = rows
        self._policy = policy
        self._errors: dict[int, FieldErrors] = {}
        self.new: list[Server] = []
        self.changed: list[tuple[Server, tuple[Change, ...]]] = []
        self.unchanged = 0
        self._moved: list[tuple[int, Server]] = []
        shaped = [row for row in rows if row.problem is None]
        self.names = sorted({row.name for row in shaped if isinstance(row.name, str)})
        self.ids = sorted({row.id for row in shaped if _whole_number(row.id)})  # type: ignore[type-var]
        self.addresses = sorted({a for row in shaped if (a := _normalised(row.address)) is not None})

    @property
    def errors(self) -> dict[str, dict[str, list[str]]]:
        return {str(line): found.as_dict() for line, found in sorted(self._errors.items()) if found}

    def match(self, *, by_name: list[Server], by_id: list[Server], by_address: list[Server]) -> None:
        """Judge every row against the servers of its name, of its id and at its address."""
        existing = {server.name: server for server in by_name}
        owners = {server.id: server for server in by_id}
        first_line: dict[str, int] = {}
        planned: list[tuple[int, Server]] = []
        for row in self._rows:
            errors = self._errors.setdefault(row.line, FieldErrors())
            if row.problem is not None:
                errors.add("row", row.problem)
                continue
            if isinstance(row.name, str):
                if row.name in first_line:
                    errors.add("name", f"{row.name!r} is also on line {first_line[row.name]}; a server appears once")
                first_line.setdefault(row.name, row.line)
            current = existing.get(row.name) if isinstance(row.name, str) else None
            self._check_id(row, current, owners, errors)
            server = self._judged(row, current, errors)
            if server is not None and not errors:
                planned.append((row.line, server))
        self._check_positions(planned, by_address, set(first_line))

    def check_in_use(self, users_of: Callable[[int], list[str]]) -> None:
        """A server that moves (new address or port) must not be used by a load
        balancer, as with ``update_one``: the providers hold its old address."""
        for line, server in self._moved:
            if users := users_of(server.id):  # type: ignore[arg-type]
                refusal = ServerInUse(server.id, users, refused="change its address or port")  # type: ignore[arg-type]
                self._errors[line].add("address", refusal.message)

    # -- one row ----------------------------------------------------------------------------

    @staticmethod
    def _check_id(
        row: ImportRow, current: Server | None, owners: dict[int | None, Server], errors: FieldErrors
    ) -> None:
        if row.id is None:
            return
        if not _whole_number(row.id):
            errors.add("id", f"id must be a whole number, or left out (got {row.id!r})")
        elif current is not None and row.id != current.id:
            errors.add(
                "id",
                f"server {current.name!r} has id {current.id}, not {row.id}: servers are matched by name "
                "(rename a server through the API or the admin)",
            )
        elif current is None and row.id in owners:
            errors.add(
                "id",
                f"id {row.id} is server {owners[row.id].name!r}: servers are matched by name, so this row would "
                "add another server (rename a server through the API or the admin)",
            )

    def _judged(self, row: ImportRow, current: Server | None, errors: FieldErrors) -> Server | None:
        """The server as the row wants it (changes recorded), or None with its errors."""
        try:
            if current is None:
                status = ServerStatus.OK if row.status is None else row.status
                server = Server.new(
                    name=row.name,  # type: ignore[arg-type]
                    address=row.address,  # type: ignore[arg-type]
                    port=row.port,  # type: ignore[arg-type]
                    status=status,  # type: ignore[arg-type]
                    policy=self._policy,
                )
                if not errors:
                    self.new.append(server)
                return server
            server = replace(current)
            old_position = (server.address, server.port)
            changes = server.change(
                name=current.name,
                address=row.address,  # type: ignore[arg-type]
                port=row.port,  # type: ignore[arg-type]
                status=current.status if row.status is None else row.status,  # type: ignore[arg-type]
                policy=self._policy,
            )
        except ValidationFailed as invalid:
            for field, messages in invalid.details.items():
                for message in messages:
                    errors.add(field, "port is required" if field == "port" and row.port is None else message)
            return None
        if errors:
            return None
        if not changes:
            self.unchanged += 1
        else:
            self.changed.append((server, changes))
            if (server.address, server.port) != old_position:
                self._moved.append((row.line, server))
        return server

    # -- the file as a whole --------------------------------------------------------------

    def _check_positions(
        self, planned: list[tuple[int, Server]], by_address: list[Server], named_in_file: set[str]
    ) -> None:
        """One server per address and port, once the import is done: servers the file
        does not name stay where they are."""
        staying: dict[Position, str] = {
            (server.address, server.port): server.name for server in by_address if server.name not in named_in_file
        }
        placed: dict[Position, int] = {}
        for line, server in planned:
            position = (server.address, server.port)
            where = f"{server.address}:{server.port}"
            if position in staying:
                self._errors[line].add("address", f"{where} is already in the inventory (server {staying[position]!r})")
            elif position in placed:
                self._errors[line].add("address", f"{where} is also on line {placed[position]}")
            else:
                placed[position] = line
