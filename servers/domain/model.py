"""Backend servers: the inventory load balancers draw their members from."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from portal.kernel.errors import FieldErrors
from portal.kernel.events import Change, changes_between, created, removed
from portal.kernel.validators import choice_errors, name_errors, port_errors
from servers.domain.events import ServerCreated, ServerDeleted, ServerStatusChanged, ServerUpdated


class ServerStatus(StrEnum):
    OK = "OK"
    DOWN = "DOWN"
    MAINTENANCE = "MAINTENANCE"


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


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Metadata services that answer on addresses outside link-local ranges.
CLOUD_METADATA_ADDRESSES = {
    ipaddress.ip_address("fd00:ec2::254"): "AWS instance metadata over IPv6",
    ipaddress.ip_address("100.100.100.200"): "Alibaba Cloud metadata",
    ipaddress.ip_address("168.63.129.16"): "Azure's platform endpoint",
}
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a server may have.  Load balancers send traffic and health checks
    to servers, some providers from the portal's own network: an address there that
    reaches the portal's host, the cloud's metadata service or a whole group of hosts
    must not become a backend.  Private networks (10/8, ...) are where backends normally
    live, and stay allowed."""

    allow_loopback: bool = False
    """Loopback (127/8, ::1): the host itself.  Fine on a laptop (the HAProxy demo), not elsewhere."""
    refused_networks: tuple[IPNetwork, ...] = ()
    """Networks no server may be in, such as the portal's own."""

    def refusals(self, address: str) -> list[str]:
        """Why a server may not have this (valid) address; empty when it may."""
        given = ipaddress.ip_address(address)
        mapped = getattr(given, "ipv4_mapped", None)
        ip = mapped or given
        what = f"{address} (IPv4-mapped {ip})" if mapped else address
        reason = self._reason(ip)
        if reason is None:
            networks = [n for n in self.refused_networks if given in n or ip in n]
            if not networks:
                return []
            reason = f"in {networks[0]}, a network where the portal accepts no servers"
        return [f"{what} is {reason}; servers must be reachable backends"]

    def _reason(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        if ip.is_unspecified:
            return "unspecified (it stands for the portal's own host)"
        if ip in _THIS_NETWORK:
            return "in 0.0.0.0/8 ('this network'), not a host address"
        if ip.is_link_local:
            return "link-local (cloud metadata)" if ip.version == 4 else "link-local (one network segment only)"
        if ip in CLOUD_METADATA_ADDRESSES:
            return f"a cloud metadata service ({CLOUD_METADATA_ADDRESSES[ip]})"
        if ip.is_multicast:
            return "multicast (a group of hosts, not a server)"
        if ip.is_loopback and not self.allow_loopback:
            return "loopback (the portal's own host)"
        return None


STRICT_ADDRESS_POLICY = AddressPolicy()
"""The default wherever no policy is given: loopback refused too."""


def _same_address(address: object, current: str | None) -> bool:
    return (
        isinstance(address, str)
        and current is not None
        and ipaddress.ip_address(address) == ipaddress.ip_address(current)
    )


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
    def validate(
        *,
        name: object,
        address: object,
        port: object,
        status: object,
        policy: AddressPolicy = STRICT_ADDRESS_POLICY,
        current_address: str | None = None,
    ) -> None:
        """Every problem with these fields at once.  ``current_address`` is the server's
        address so far: kept as it is, it is not judged again by ``policy`` (a server
        registered before a rule existed may still be renamed or marked DOWN)."""
        errors = FieldErrors()
        for message in name_errors(name):
            errors.add("name", message)
        address_problems = address_errors(address)
        if not address_problems and not _same_address(address, current_address):
            address_problems = policy.refusals(str(address))
        for message in address_problems:
            errors.add("address", message)
        for message in port_errors(port):
            errors.add("port", message)
        for message in choice_errors(status, ServerStatus, what="status"):
            errors.add("status", message)
        errors.raise_if_any("the server is not valid")

    @classmethod
    def new(
        cls,
        *,
        name: str,
        address: str,
        port: int,
        status: str = ServerStatus.OK,
        policy: AddressPolicy = STRICT_ADDRESS_POLICY,
    ) -> Server:
        cls.validate(name=name, address=address, port=port, status=status, policy=policy)
        return cls(name=name, address=str(ipaddress.ip_address(address)), port=port, status=ServerStatus(status))

    def change(
        self, *, name: str, address: str, port: int, status: str, policy: AddressPolicy = STRICT_ADDRESS_POLICY
    ) -> tuple[Change, ...]:
        """Change the fields, judged as on creation; returns what changed."""
        self.validate(name=name, address=address, port=port, status=status, policy=policy, current_address=self.address)
        before = self.described()
        self.name = name
        self.address = str(ipaddress.ip_address(address))
        self.port = port
        self.status = ServerStatus(status)
        return changes_between(before, self.described())

    def described(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address, "port": self.port, "status": self.status.value}

    def created(self) -> ServerCreated:
        return ServerCreated(target_id=str(self.id), target_name=self.name, changes=created(self.described()))

    def updated(self, changes: tuple[Change, ...]) -> ServerUpdated:
        """The event of a change: a status change when only the status changed."""
        kind = ServerStatusChanged if [c.field for c in changes] == ["status"] else ServerUpdated
        return kind(target_id=str(self.id), target_name=self.name, changes=changes)

    def deleted(self) -> ServerDeleted:
        return ServerDeleted(target_id=str(self.id), target_name=self.name, changes=removed(self.described()))

    @property
    def is_eligible(self) -> bool:
        """Only servers in OK status may back a load balancer."""
        return self.status is ServerStatus.OK
