from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.kernel.pagination import PageRequest


@dataclass(frozen=True)
class AuditQuery:
    """A page of the trail, newest first, with any of these filters.  ``team`` is a
    slug; ``team_ids`` / ``actor_id_or`` are the scope the service sets (None: all)."""

    SORTABLE = ("id",)

    page: PageRequest = field(default_factory=lambda: PageRequest(sort_by="id", sort_direction="desc"))
    actor: str | None = None
    team: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    action: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    team_ids: tuple[int, ...] | None = None
    or_actor_id: int | None = None
