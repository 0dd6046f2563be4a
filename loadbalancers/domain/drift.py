"""Drift: a load balancer that runs, at its provider, something other than what the
portal asked for (someone changed it there, in its console or its runtime API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class DriftPolicy(StrEnum):
    REPORT = "report"
    """Tell (the record, the audit trail, webhooks) and change nothing."""
    REPAIR = "repair"
    """Tell, and apply the portal's record again through a normal update; delete
    orphans once their grace period is over."""


@dataclass
class Drift:
    """One field of one load balancer that differs at the provider, from when it was
    first seen until it is resolved (the provider runs the record again)."""

    lb_id: UUID
    field: str
    desired: object
    actual: object
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None = None
    repaired_at: datetime | None = None
    """When a repair was asked for while it was open: one that did not hold is not asked
    again by the reconciler (it would loop), only reported."""
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def seen(self, actual: object, now: datetime) -> None:
        self.actual = actual
        self.last_seen_at = now

    def resolve(self, now: datetime) -> None:
        self.resolved_at = now
