"""What the load balancer use cases need to store their records, hand work to the
background workers and tell the time.  The LBaaS port is in ``lbaas``, the read side
in ``read_model``."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

from accounts.application.ports import TeamRepository
from loadbalancers.domain.drift import Drift
from loadbalancers.domain.model import LoadBalancer, ProvisioningStatus
from loadbalancers.domain.orphans import Orphan
from portal.kernel.unit_of_work import AbstractUnitOfWork, TrackingRepository
from servers.application.ports import ServerRepository


class LoadBalancerRepository(TrackingRepository, abc.ABC):
    """Load balancers by id.  What it stores is tracked, so that the unit of work
    publishes the events of each after commit."""

    def create_one(self, lb: LoadBalancer) -> LoadBalancer:
        """Store a new load balancer; NameTaken if a live one has its name."""
        self._track(lb)
        return self._create_one(lb)

    def create_batch(self, lbs: Iterable[LoadBalancer]) -> list[LoadBalancer]:
        """Store new load balancers, in the current transaction (all or none once it
        ends); NameTaken if a live one has one of their names."""
        return [self.create_one(lb) for lb in lbs]

    def update_one(self, lb: LoadBalancer) -> LoadBalancer:
        """Store the changes if nobody else stored a newer version (StaleVersion
        otherwise), and return the aggregate with its new version."""
        self._track(lb)
        return self._update_one(lb)

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
        server_id: int | None = None,
        inventory_candidates: bool = False,
    ) -> list[LoadBalancer]:
        """The load balancers matching every filter given: ``server_id``, those with a
        member on that server; ``inventory_candidates``, those with a member whose server
        is not OK in the inventory or that the inventory drained."""

    @abc.abstractmethod
    def get_list_pending(self, *, not_checked_since: datetime) -> list[LoadBalancer]:
        """Load balancers in PENDING_* that no task has looked at since the given time."""

    @abc.abstractmethod
    def count_live(self, *, team_id: int) -> int:
        """How many load balancers of the team are not DELETED."""

    @abc.abstractmethod
    def name_taken(self, name: str) -> bool:
        """True when a live (not DELETED) load balancer has this name."""

    @abc.abstractmethod
    def _create_one(self, lb: LoadBalancer) -> LoadBalancer: ...

    @abc.abstractmethod
    def _update_one(self, lb: LoadBalancer) -> LoadBalancer: ...


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


class DriftRepository(abc.ABC):
    @abc.abstractmethod
    def get_list(self, *, lb_ids: Iterable[UUID] | None = None, open_only: bool = True) -> list[Drift]:
        """The drift of these load balancers (all: None), only what is not resolved by
        default."""

    @abc.abstractmethod
    def create_one(self, drift: Drift) -> Drift: ...

    @abc.abstractmethod
    def update_one(self, drift: Drift) -> Drift: ...


class UnitOfWork(AbstractUnitOfWork):
    """One transaction over load balancers, their drift, orphans, and (read, and locked)
    servers and teams."""

    load_balancers: LoadBalancerRepository
    drift: DriftRepository
    servers: ServerRepository
    teams: TeamRepository
    orphans: OrphanRepository


# -- follow-up work and time ------------------------------------------------------------


class TaskScheduler(Protocol):
    """Hands work to background workers, only once the current transaction commits."""

    def provision(self, lb_id: UUID) -> None: ...

    def apply_update(self, lb_id: UUID) -> None: ...

    def deprovision(self, lb_id: UUID) -> None: ...

    def follow(self, lb_id: UUID, *, delay: float) -> None: ...

    def follow_inventory(self, server_id: int) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Observations(Protocol):
    """What the portal measures of its own work, for its metrics (an adapter hands it to
    Prometheus; the tests keep it in a list).  Measuring never fails the work measured."""

    def provisioning_finished(self, *, provider: str, operation: str, outcome: str, seconds: float) -> None:
        """A request reached its outcome at the provider: ``operation`` create, update or
        delete; ``outcome`` active, error or deleted; ``seconds`` since it was asked."""

    def provider_called(self, *, provider: str, method: str, seconds: float, error: str | None) -> None:
        """One call to an LBaaS client; ``error`` the kind of failure (None: it answered)."""

    def reconcile_passed(self, *, seconds: float, findings: Mapping[str, int], failed: bool) -> None:
        """One reconcile pass: how long, and how many of each thing it found (``failed``:
        the pass itself stopped on an error)."""
