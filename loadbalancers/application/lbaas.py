"""The port every LBaaS adapter implements, what it takes and answers, and the enabled
providers by name."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from loadbalancers.domain.errors import ProviderRejected
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.monitors import HealthMonitor
from loadbalancers.domain.statuses import OperatingStatus, ProvisioningStatus


@dataclass(frozen=True)
class MemberSpec:
    address: str
    port: int
    weight: int = 1
    """0-256: its share of new connections against the other members'."""
    admin_state: str = AdminState.ENABLED
    """``enabled``, or ``drain``: no new connections, the current ones finish."""

    @property
    def is_draining(self) -> bool:
        return self.admin_state == AdminState.DRAIN


@dataclass(frozen=True)
class LoadBalancerSpec:
    """What the portal asks a provider to run."""

    name: str
    listener_protocol: str
    listener_port: int
    algorithm: str
    members: tuple[MemberSpec, ...]
    health_monitor: HealthMonitor | None = None
    """How to check each member; None: no checks (members read NO_MONITOR)."""
    tags: tuple[str, ...] = ()
    """``label`` or ``key=value``; a provider with tags puts them on what it makes."""
    project: str | None = None
    """The team's project at a provider that keeps tenants apart (Octavia); None: the
    provider's default.  Set when the load balancer is created; a provider cannot move a
    load balancer between projects, so a later change applies to new load balancers
    only."""


@dataclass(frozen=True)
class MemberHealth:
    address: str
    port: int
    operating_status: OperatingStatus
    reason: str | None = None
    """The provider's word on it (a failed check's result), when it has one."""


@dataclass(frozen=True)
class ProviderLoadBalancer:
    """A provider's answer about one of its load balancers."""

    ref: str
    provisioning_status: ProvisioningStatus
    operating_status: OperatingStatus
    vip_address: str | None = None
    members: tuple[MemberHealth, ...] = field(default_factory=tuple)
    error: str | None = None
    client_token: str | None = None
    installation: str | None = None
    """The portal installation that made it (None: made before installations had an
    identity, or not by a portal)."""
    health_monitor: HealthMonitor | None = None
    """The health checks it runs, as the provider reports them (None: none)."""
    running: LoadBalancerSpec | None = None
    """What it runs now, read back from the provider (listener, algorithm, members with
    their weights and admin states, health monitor), in the terms of ``as_running``;
    None when the provider cannot tell (then no drift is looked for)."""


@dataclass(frozen=True)
class SpecChange:
    """One field that differs between two specs: ``member 10.0.0.3:8080 weight`` etc."""

    field: str
    before: object
    after: object


@dataclass(frozen=True)
class ProviderOperation:
    """One step a provider would take: an API call and its parameters (ELBv2), a
    configuration write, runtime command or reload (HAProxy), a resource write (the
    sandbox).  ``params`` is plain JSON."""

    name: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderPlan:
    """What ``create`` or ``update`` with a spec would do at the provider, found out
    without doing it."""

    operations: tuple[ProviderOperation, ...] = ()
    diff: str = ""
    """The change to the provider's configuration as a unified diff, where it has one
    (HAProxy); empty otherwise."""


# The fields compared between what the portal asks for and what a provider runs; the
# name and the tags are the resource's labels, not what it does with traffic.
COMPARED = ("listener_protocol", "listener_port", "algorithm", "health_monitor")


def spec_changes(before: LoadBalancerSpec | None, after: LoadBalancerSpec) -> list[SpecChange]:
    """Field by field, what differs between two specs (``before`` None: nothing there
    yet, so every field with a value is new).  Members are known by address and port: one only on
    one side is ``member <address>:<port>``; one on both sides with another weight or
    admin state, ``member <address>:<port> weight`` / ``admin_state``."""
    changes = []
    for name in COMPARED:
        old = _plain(getattr(before, name)) if before is not None else None
        new = _plain(getattr(after, name))
        if old != new:
            changes.append(SpecChange(name, old, new))
    old_members = {_member_key(m): m for m in (before.members if before is not None else ())}
    new_members = {_member_key(m): m for m in after.members}
    for key in sorted(old_members.keys() | new_members.keys()):
        old_member, new_member = old_members.get(key), new_members.get(key)
        if old_member is None or new_member is None:
            changes.append(SpecChange(f"member {key}", _member_settings(old_member), _member_settings(new_member)))
            continue
        for name in ("weight", "admin_state"):
            if getattr(old_member, name) != getattr(new_member, name):
                changes.append(SpecChange(f"member {key} {name}", getattr(old_member, name), getattr(new_member, name)))
    return changes


def _member_key(member: MemberSpec) -> str:
    return f"[{member.address}]:{member.port}" if ":" in member.address else f"{member.address}:{member.port}"


def _member_settings(member: MemberSpec | None) -> dict[str, object] | None:
    return None if member is None else {"weight": member.weight, "admin_state": str(member.admin_state)}


def _plain(value: object) -> object:
    if isinstance(value, HealthMonitor):
        return value.as_dict()
    return str(value) if isinstance(value, str) else value


class LBaaSClient(abc.ABC):
    """The port every LBaaS adapter implements.  Adapters translate their SDK's
    errors into ProviderUnavailable (transient), ProviderRejected (permanent) and
    ProviderResourceNotFound; no SDK exception leaves an adapter.  Every resource an
    adapter creates carries the installation it was built for, and reports it."""

    name: str

    @abc.abstractmethod
    def create(self, spec: LoadBalancerSpec, *, client_token: str) -> ProviderLoadBalancer:
        """Start creating; the same client token never creates a second resource."""

    @abc.abstractmethod
    def get(self, ref: str) -> ProviderLoadBalancer:
        """Current state; ProviderResourceNotFound once it is gone."""

    @abc.abstractmethod
    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        """Start changing members and algorithm to match the spec."""

    @abc.abstractmethod
    def delete(self, ref: str) -> None:
        """Start deleting; deleting something already gone is harmless."""

    @abc.abstractmethod
    def get_list(self) -> list[ProviderLoadBalancer]:
        """Everything the portal owns at this provider."""

    @abc.abstractmethod
    def plan(self, ref: str | None, spec: LoadBalancerSpec) -> ProviderPlan:
        """What ``create`` (``ref`` None) or ``update`` of ``ref`` with this spec would do
        at the provider, step by step, found out by reading only: nothing is written.
        ``update`` then does exactly these steps while nothing changes meanwhile."""

    def as_running(self, spec: LoadBalancerSpec) -> LoadBalancerSpec:
        """The spec as this provider reports running it once applied (``running``), so
        that the two compare equal when nothing drifted: a provider that cannot keep some
        setting as given (a default health check it always runs, say) says so here.  The
        spec itself by default."""
        return spec

    def refusals(self, spec: LoadBalancerSpec) -> list[str]:
        """What this provider would refuse of the spec, known without asking it (no call
        to the provider): the portal refuses such a request at once (400) instead of
        accepting it and failing in the background.  None by default."""
        return []


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    description: str
    is_default: bool


class Providers:
    """The enabled LBaaS providers, by name, and the default one."""

    def __init__(self, clients: dict[str, LBaaSClient], *, default: str, descriptions: dict[str, str]):
        if default not in clients:
            raise ValueError(f"the default provider {default!r} is not among the enabled ones: {sorted(clients)}")
        self._clients = clients
        self._descriptions = descriptions
        self.default = default

    @property
    def names(self) -> list[str]:
        return list(self._clients)

    def get(self, name: str) -> LBaaSClient:
        try:
            return self._clients[name]
        except KeyError:
            raise ProviderRejected(f"provider {name!r} is not enabled in this portal") from None

    def __iter__(self) -> Iterator[ProviderInfo]:
        for name in self._clients:
            yield ProviderInfo(name=name, description=self._descriptions.get(name, ""), is_default=name == self.default)
