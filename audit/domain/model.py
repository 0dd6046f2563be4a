"""The audit trail (seed 003): an append-only entry per domain event, and the
retention rule that keeps the newest entries only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.kernel.errors import FieldErrors
from portal.kernel.events import Change, DomainEvent

MESSAGE_MAX_LENGTH = 500


@dataclass(frozen=True)
class AuditEntry:
    """Who (``actor``: a username, or ``system``) did what (``action``) to which record
    (``target_*``, with its name at the time), in which team, through which door
    (``source``), in which request, when; a line a person reads, and what changed."""

    at: datetime
    actor_id: int | None
    actor: str
    source: str
    request_id: str | None
    team_id: int | None
    action: str
    target_type: str
    target_id: str
    target_name: str
    message: str
    changes: tuple[Change, ...] = ()
    id: int | None = None
    team: str | None = None
    """The team's slug, when read back (entries store only its id)."""

    @classmethod
    def of(cls, event: DomainEvent) -> AuditEntry:
        context = event.context
        if context is None:
            raise ValueError(f"{type(event).__name__} was not committed by anyone: it carries no context")
        return cls(
            at=context.at,
            actor_id=context.actor_id,
            actor=context.actor,
            source=context.source,
            request_id=context.request_id,
            team_id=event.team_id,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            target_name=event.target_name,
            message=event.message[:MESSAGE_MAX_LENGTH],
            changes=event.changes,
        )


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep the newest ``rows`` entries and, with ``days``, none older than that many
    days.  Entries are pruned after every ``every`` writes, at most ``batch`` rows per
    delete, so a write never waits on a long delete."""

    rows: int = 1000
    days: int | None = None
    batch: int = 500

    def __post_init__(self) -> None:
        errors = FieldErrors()
        if isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 1:
            errors.add("rows", "the audit trail must keep at least 1 entry")
        if self.days is not None and (isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1):
            errors.add("days", "days must be a whole number of at least 1, or none")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            errors.add("batch", "batch must be at least 1")
        errors.raise_if_any("the retention policy is not valid")

    @property
    def every(self) -> int:
        """Writes between two prunings: a tenth of the rows kept (1 to 100), so the trail
        holds at most about 10% more than ``rows`` between two."""
        return max(1, min(100, self.rows // 10))

    def due(self, entry_id: int) -> bool:
        return entry_id % self.every == 0

    def oldest_kept(self, now: datetime) -> datetime | None:
        return None if self.days is None else now - timedelta(days=self.days)
