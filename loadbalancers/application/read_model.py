"""The read side: load balancers as people see them (with their team, who made them and
their servers), in pages, in a constant number of queries whatever the page size."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from loadbalancers.application.payloads import LoadBalancerQuery
from loadbalancers.domain.model import LoadBalancer
from portal.kernel.pagination import Page
from servers.domain.model import Server


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


def new_view(lb: LoadBalancer, *, team: str, created_by: str | None, servers: Mapping[int, Server]) -> LoadBalancerView:
    """The view of a load balancer just stored (it has no drift yet), from what its unit
    of work already holds: what ``LoadBalancerReadModel.get_one`` would read back."""
    return LoadBalancerView(
        id=lb.id,
        name=lb.name,
        description=lb.description,
        team_id=lb.team_id,
        team=team,
        created_by=created_by,
        servers=[
            MemberView(
                id=m.server_id,
                name=servers[m.server_id].name,
                address=servers[m.server_id].address,
                port=servers[m.server_id].port,
                status=str(servers[m.server_id].status),
                weight=m.weight,
                admin_state=m.admin_state.value,
                operating_status=m.operating_status.value,
                status_reason=m.status_reason or None,
                drained_by_inventory=m.drained_by_inventory,
            )
            for m in lb.members
        ],
        health_monitor=lb.health_monitor.as_dict() if lb.health_monitor else None,
        tags=list(lb.tags),
        deletion_protection=lb.deletion_protection,
        listener_protocol=lb.listener_protocol.value,
        listener_port=lb.listener_port,
        algorithm=lb.algorithm.value,
        provisioning_status=lb.provisioning_status.value,
        operating_status=lb.operating_status.value,
        provider=lb.provider,
        vip_address=lb.vip_address,
        error_reason=lb.error_reason,
        version=lb.version,
        created_at=lb.created_at,
        updated_at=lb.updated_at,
    )


class LoadBalancerReadModel(abc.ABC):
    @abc.abstractmethod
    def get_one(self, lb_id: UUID) -> LoadBalancerView | None: ...

    @abc.abstractmethod
    def get_list(self, ids: Sequence[UUID]) -> list[LoadBalancerView]:
        """These load balancers, in this order (those that do not exist left out)."""

    @abc.abstractmethod
    def get_plist(self, query: LoadBalancerQuery) -> Page[LoadBalancerView]:
        """One page, in a constant number of queries whatever its size."""
