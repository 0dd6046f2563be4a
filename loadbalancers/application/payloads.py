"""Inputs of the load balancer use cases."""

from __future__ import annotations

from dataclasses import dataclass, field

from loadbalancers.domain.model import Algorithm, ListenerProtocol
from portal.kernel.pagination import PageRequest


@dataclass(frozen=True)
class CreateLoadBalancer:
    name: str
    servers: list[int]
    listener_protocol: str = ListenerProtocol.HTTP
    listener_port: int = 80
    algorithm: str = Algorithm.ROUND_ROBIN
    description: str = ""
    provider: str | None = None
    team: str | None = None
    """The team's slug; left out: the one team where the caller may create, if only one."""


@dataclass(frozen=True)
class UpdateLoadBalancer:
    """A partial change: fields left as None keep their value.  ``version``, when
    given, must match the stored one (optimistic concurrency)."""

    servers: list[int] | None = None
    algorithm: str | None = None
    description: str | None = None
    version: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.servers is None and self.algorithm is None and self.description is None


@dataclass(frozen=True)
class LoadBalancerQuery:
    page: PageRequest = field(default_factory=lambda: PageRequest(sort_by="created_at", sort_direction="desc"))
    provisioning_status: str | None = None
    operating_status: str | None = None
    search: str | None = None
    team: str | None = None
    """Only this team's (a slug)."""
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
