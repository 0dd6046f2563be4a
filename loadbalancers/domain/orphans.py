"""Resources at a provider that no load balancer owns any more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loadbalancers.domain.model import ERROR_REASON_MAX_LENGTH


@dataclass
class Orphan:
    """A resource at a provider that this installation made (it carries the
    installation's identity) but no live load balancer owns: its record was lost, or
    the database was restored from a backup older than the resource.  It is deleted
    only once it has been an orphan for a grace period, and never in bulk without an
    operator."""

    provider: str
    ref: str
    client_token: str
    first_seen_at: datetime
    last_seen_at: datetime
    deleted_at: datetime | None = None
    deletion_reason: str = ""
    id: int | None = None

    def is_due(self, now: datetime, grace_seconds: float) -> bool:
        return self.deleted_at is None and (now - self.first_seen_at).total_seconds() >= grace_seconds

    def seen(self, now: datetime) -> None:
        self.last_seen_at = now

    def mark_deleted(self, now: datetime, reason: str) -> None:
        self.deleted_at = now
        self.deletion_reason = reason[:ERROR_REASON_MAX_LENGTH]
