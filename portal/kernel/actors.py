"""Who asks for a use case, as every app's services know them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Source(StrEnum):
    """Through which door a change came: the audit trail records it with each event."""

    API = "api"
    PAGE = "page"
    ADMIN = "admin"
    CLI = "cli"
    WORKER = "worker"
    RECONCILER = "reconciler"


SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who is asking: people see and touch the records of their teams, as far as their
    role in each allows (``roles``: team id -> role name); operations staff see all
    records (``sees_all``) and change or delete all of them (``changes_all``) only with
    the permissions the admin asks for the same, so an account has the same power on
    every path.  ``source`` and ``request_id`` say where the request came from, for
    the record of what it changed."""

    user_id: int | None
    username: str
    sees_all: bool = False
    changes_all: bool = False
    roles: Mapping[int, str] = field(default_factory=dict)
    source: str = Source.API
    request_id: str | None = None

    @property
    def team_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.roles))

    @classmethod
    def system(cls, source: str = Source.WORKER, request_id: str | None = None) -> Actor:
        """The portal itself (a worker, the reconciler): no person asked."""
        return cls(user_id=None, username=SYSTEM, sees_all=True, changes_all=True, source=source, request_id=request_id)
