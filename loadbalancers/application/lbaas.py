"""The port every LBaaS adapter implements, what it takes and answers, and the enabled
providers by name."""

from __future__ import annotations

import abc
from collections.abc import Iterator
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
