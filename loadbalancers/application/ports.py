"""What the load balancer use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from loadbalancers.application.payloads import LoadBalancerQuery
from loadbalancers.domain.errors import ProviderRejected
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, Orphan, ProvisioningStatus
from portal.kernel.pagination import Page
from servers.application.ports import ServerRepository

# -- persistence ------------------------------------------------------------------------


class LoadBalancerRepository(abc.ABC):
    @abc.abstractmethod
    def get_one(self, lb_id: UUID, *, for_update: bool = False) -> LoadBalancer:
        """The load balancer, or LoadBalancerNotFound."""

    @abc.abstractmethod
    def get_list(
        self,
        *,
        ids: Iterable[UUID] | None = None,
        provider: str | None = None,
        statuses: Iterable[ProvisioningStatus] | None = None,
    ) -> list[LoadBalancer]:
        """The load balancers matching every filter given."""

    @abc.abstractmethod
    def get_list_pending(self, *, not_checked_since: datetime) -> list[LoadBalancer]:
        """Load balancers in PENDING_* that no task has looked at since the given time."""

    @abc.abstractmethod
    def name_taken(self, name: str) -> bool:
        """True when a live (not DELETED) load balancer has this name."""

    @abc.abstractmethod
    def create_one(self, lb: LoadBalancer) -> LoadBalancer:
        """Store a new load balancer; NameTaken if a live one has its name."""

    @abc.abstractmethod
    def update_one(self, lb: LoadBalancer) -> LoadBalancer:
        """Store the changes if nobody else stored a newer version (StaleVersion
        otherwise), and return the aggregate with its new version."""


class OrphanRepository(abc.ABC):
    @abc.abstractmethod
    def get_list(
        self, *, provider: str | None = None, ids: Iterable[int] | None = None, deleted: bool | None = False
    ) -> list[Orphan]:
        """The orphans matching every filter given (``deleted=None``: deleted or not)."""

    @abc.abstractmethod
    def create_one(self, orphan: Orphan) -> Orphan: ...

    @abc.abstractmethod
    def update_one(self, orphan: Orphan) -> Orphan: ...

    @abc.abstractmethod
    def delete_batch(self, ids: Iterable[int]) -> None:
        """Forget these orphans (they are no longer orphans)."""


class UnitOfWork(abc.ABC):
    load_balancers: LoadBalancerRepository
    servers: ServerRepository
    orphans: OrphanRepository

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


# -- read side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    id: int
    name: str
    address: str
    port: int
    status: str


@dataclass(frozen=True)
class LoadBalancerView:
    """A load balancer as people see it: with its owner's name and its servers."""

    id: UUID
    name: str
    description: str
    owner_id: int
    owner: str
    servers: list[MemberView]
    listener_protocol: str
    listener_port: int
    algorithm: str
    provisioning_status: str
    operating_status: str
    provider: str
    vip_address: str | None
    error_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class LoadBalancerReadModel(abc.ABC):
    @abc.abstractmethod
    def get_one(self, lb_id: UUID) -> LoadBalancerView | None: ...

    @abc.abstractmethod
    def get_plist(self, query: LoadBalancerQuery) -> Page[LoadBalancerView]:
        """One page, in a constant number of queries whatever its size."""


# -- the external load-balancer-as-a-service --------------------------------------------


@dataclass(frozen=True)
class MemberSpec:
    address: str
    port: int


@dataclass(frozen=True)
class LoadBalancerSpec:
    """What the portal asks a provider to run."""

    name: str
    listener_protocol: str
    listener_port: int
    algorithm: str
    members: tuple[MemberSpec, ...]


@dataclass(frozen=True)
class MemberHealth:
    address: str
    port: int
    operating_status: OperatingStatus


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


# -- follow-up work and time ------------------------------------------------------------------


class TaskScheduler(Protocol):
    """Hands work to background workers, only once the current transaction commits."""

    def provision(self, lb_id: UUID) -> None: ...

    def apply_update(self, lb_id: UUID) -> None: ...

    def deprovision(self, lb_id: UUID) -> None: ...

    def follow(self, lb_id: UUID, *, delay: float) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
