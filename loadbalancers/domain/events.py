"""What happened to a load balancer.  The message bus routes each to its handlers."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Event:
    lb_id: UUID


@dataclass(frozen=True)
class CreationRequested(Event):
    pass


@dataclass(frozen=True)
class UpdateRequested(Event):
    pass


@dataclass(frozen=True)
class DeletionRequested(Event):
    pass


@dataclass(frozen=True)
class BecameActive(Event):
    vip_address: str | None


@dataclass(frozen=True)
class ProvisioningFailed(Event):
    reason: str


@dataclass(frozen=True)
class Deleted(Event):
    pass
