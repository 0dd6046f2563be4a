"""The read side: load balancers as people see them (with their team, who made them and
their servers), in pages, in a constant number of queries whatever the page size."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from loadbalancers.application.payloads import LoadBalancerQuery
from portal.kernel.pagination import Page


@dataclass(frozen=True)
class MemberView:
    """A member: its server (id, name, address, port, and status in the inventory) and
    its settings and health in this load balancer."""

    id: int
    name: str
    address: str
    port: int
    status: str
    weight: int = 1
    admin_state: str = "enabled"
    operating_status: str = "NO_MONITOR"
    status_reason: str | None = None
    drained_by_inventory: bool = False


@dataclass(frozen=True)
class DriftView:
    """One field its provider runs otherwise than the record says, not yet resolved."""

    field: str
    desired: object
    actual: object
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class LoadBalancerView:
    """A load balancer as people see it: with its team's slug, who made it and its servers."""

    id: UUID
    name: str
    description: str
    team_id: int
    team: str
    created_by: str | None
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
    health_monitor: dict[str, object] | None = None
    tags: list[str] = field(default_factory=list)
    deletion_protection: bool = False
    drift: list[DriftView] = field(default_factory=list)
    """What its provider runs otherwise than this record (found by the reconciler)."""

    @property
    def notices(self) -> list[str]:
        """What people should know about its members: servers the inventory says are not OK."""
        return [
            f"member {m.name} is in {m.status} in the inventory"
            + (": it is drained until operations set the server OK again" if m.drained_by_inventory else "")
            for m in self.servers
            if m.status != "OK"
        ]


class LoadBalancerReadModel(abc.ABC):
    @abc.abstractmethod
    def get_one(self, lb_id: UUID) -> LoadBalancerView | None: ...

    @abc.abstractmethod
    def get_list(self, ids: Sequence[UUID]) -> list[LoadBalancerView]:
        """These load balancers, in this order (those that do not exist left out)."""

    @abc.abstractmethod
    def get_plist(self, query: LoadBalancerQuery) -> Page[LoadBalancerView]:
        """One page, in a constant number of queries whatever its size."""
