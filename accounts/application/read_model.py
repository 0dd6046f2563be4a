"""The read side of teams: with their members, quotas and usage."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from accounts.application.payloads import TeamQuery
from accounts.domain.model import Quotas
from portal.kernel.pagination import Page


@dataclass(frozen=True)
class MemberView:
    username: str
    role: str


@dataclass(frozen=True)
class TeamView:
    id: int
    slug: str
    name: str
    members: list[MemberView]
    quotas: Quotas
    """The limits in force (the team's own, or the default)."""
    default_quotas: tuple[str, ...]
    """Which quotas are the portal's default rather than the team's own."""
    usage: Quotas
    """Live load balancers, and the most members any one of them has."""
    created_at: datetime

    def role_of(self, username: str) -> str | None:
        return next((m.role for m in self.members if m.username == username), None)


class TeamReadModel(abc.ABC):
    @abc.abstractmethod
    def get_one(self, slug: str) -> TeamView | None: ...

    @abc.abstractmethod
    def get_plist(self, query: TeamQuery) -> Page[TeamView]: ...

    @abc.abstractmethod
    def get_slugs(self, team_ids: tuple[int, ...]) -> list[str]:
        """The slugs of these teams, in order (no members, no usage: one cheap query)."""
