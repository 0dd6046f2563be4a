"""Inputs of the load balancer use cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from loadbalancers.domain.model import KEEP, Algorithm, ListenerProtocol
from portal.kernel.pagination import PageRequest


@dataclass(frozen=True)
class CreateLoadBalancer:
    name: str
    servers: list[object]
    """Server ids, or ``{"server": id, "weight": n, "admin_state": "drain"}`` objects."""
    listener_protocol: str = ListenerProtocol.HTTP
    listener_port: int = 80
    algorithm: str = Algorithm.ROUND_ROBIN
    description: str = ""
    provider: str | None = None
    team: str | None = None
    """The team's slug; left out: the one team where the caller may create, if only one."""
    health_monitor: object = None
    """``{"type": "HTTP", "interval": 5, ...}``; None: no monitor."""
    tags: list[str] = field(default_factory=list)
    deletion_protection: bool = False


BATCH_MAX = 100
"""The most load balancers one batch creates or deletes."""


@dataclass(frozen=True)
class CreateBatch:
    """Load balancers to create all together or not at all, by their index in the
    request."""

    items: Mapping[int, CreateLoadBalancer]
    rejected: Mapping[int, Mapping[str, object]] = field(default_factory=dict)
    """Items the entry point could not even read, with why (field -> messages): the
    batch fails with them, and with whatever the other items break."""

    @property
    def size(self) -> int:
        return len(self.items) + len(self.rejected)


@dataclass(frozen=True)
class DeleteBatch:
    """Load balancers to delete all together or not at all."""

    ids: tuple[object, ...]
    """As sent: ids, or anything else, which is then reported by its index."""


@dataclass(frozen=True)
class UpdateLoadBalancer:
    """A partial change: fields left as None keep their value.  ``version``, when
    given, must match the stored one (optimistic concurrency)."""

    servers: list[object] | None = None
    algorithm: str | None = None
    description: str | None = None
    health_monitor: object = KEEP
    """The fields to change (a mapping), None to remove the monitor, KEEP to leave it."""
    tags: list[str] | None = None
    deletion_protection: bool | None = None
    version: int | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "servers",
        "algorithm",
        "description",
        "health_monitor",
        "tags",
        "deletion_protection",
    )

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, name) is (KEEP if name == "health_monitor" else None) for name in self.FIELDS)


@dataclass(frozen=True)
class LoadBalancerQuery:
    page: PageRequest = field(default_factory=lambda: PageRequest(sort_by="created_at", sort_direction="desc"))
    provisioning_status: str | None = None
    operating_status: str | None = None
    search: str | None = None
    team: str | None = None
    """Only this team's (a slug)."""
    provider: str | None = None
    """Only those held by this LBaaS provider."""
    tags: tuple[str, ...] = ()
    """Only those that carry every one of these tags."""
    team_ids: tuple[int, ...] | None = None
    """Only these teams' (None: every team's): the caller's scope, set by the service."""

    SORTABLE = (
        "name",
        "created_at",
        "updated_at",
        "provisioning_status",
        "operating_status",
        "listener_port",
        "provider",
        "vip_address",
    )
