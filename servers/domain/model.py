"""Backend servers: the inventory load balancers draw their members from."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from servers.domain.errors import FieldErrors

NAME_MAX_LENGTH = 63
PORT_MIN, PORT_MAX = 1, 65535
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class ServerStatus(StrEnum):
    OK = "OK"
    DOWN = "DOWN"
    MAINTENANCE = "MAINTENANCE"


def name_errors(name: object, *, what: str = "name") -> list[str]:
    """The house name rule (DNS-label-like), shared by servers and load balancers."""
    if not isinstance(name, str) or not name:
        return [f"{what} is required"]
    problems = []
    if len(name) > NAME_MAX_LENGTH:
        problems.append(f"{what} must be at most {NAME_MAX_LENGTH} characters (got {len(name)})")
    if not _NAME_RE.match(name):
        problems.append(
            f"{what} may contain only lowercase letters, digits and hyphens, "
            "and must start and end with a letter or digit"
        )
    return problems


def port_errors(port: object, *, what: str = "port") -> list[str]:
    if isinstance(port, bool) or not isinstance(port, int):
        return [f"{what} must be a whole number"]
    if not PORT_MIN <= port <= PORT_MAX:
        return [f"{what} must be between {PORT_MIN} and {PORT_MAX} (got {port})"]
    return []


def choice_errors(value: object, choices: type[StrEnum], *, what: str) -> list[str]:
    allowed = [c.value for c in choices]
    if value not in allowed:
        return [f"{what} must be one of {', '.join(allowed)} (got {value!r})"]
    return []


def address_errors(address: object) -> list[str]:
    if not isinstance(address, str) or not address:
        return ["address is required"]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return [f"address must be an IPv4 or IPv6 address (got {address!r})"]
    if getattr(ip, "scope_id", None):
        return [f"address must not name an interface zone (got {address!r})"]
    return []


@dataclass
class Server:
    name: str
    address: str
    port: int
    status: ServerStatus = ServerStatus.OK
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @staticmethod
    def validate(*, name: object, address: object, port: object, status: object) -> None:
        errors = FieldErrors()
        for message in name_errors(name):
            errors.add("name", message)
        for message in address_errors(address):
            errors.add("address", message)
        for message in port_errors(port):
            errors.add("port", message)
        for message in choice_errors(status, ServerStatus, what="status"):
            errors.add("status", message)
        errors.raise_if_any("the server is not valid")

    @classmethod
    def new(cls, *, name: str, address: str, port: int, status: str = ServerStatus.OK) -> Server:
        cls.validate(name=name, address=address, port=port, status=status)
        return cls(name=name, address=str(ipaddress.ip_address(address)), port=port, status=ServerStatus(status))

    def change(self, *, name: str, address: str, port: int, status: str) -> None:
        self.validate(name=name, address=address, port=port, status=status)
        self.name = name
        self.address = str(ipaddress.ip_address(address))
        self.port = port
        self.status = ServerStatus(status)

    @property
    def is_eligible(self) -> bool:
        """Only servers in OK status may back a load balancer."""
        return self.status is ServerStatus.OK
