"""Inputs of the accounts use cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from accounts.domain.model import Role
from portal.kernel.pagination import PageRequest


@dataclass(frozen=True)
class CreateTeam:
    slug: str
    name: str
    quota_load_balancers: int | None = None
    quota_members: int | None = None
    project_id: str | None = None
    """The team's project at providers that keep tenants apart (None: their default)."""


@dataclass(frozen=True)
class UpdateTeam:
    """Fields left out (None) keep their value; ``clear_quotas`` names quotas to set
    back to the portal's default, ``clear_project`` sets the provider project back to
    the provider's default."""

    name: str | None = None
    quota_load_balancers: int | None = None
    quota_members: int | None = None
    clear_quotas: tuple[str, ...] = ()
    project_id: str | None = None
    clear_project: bool = False

    @property
    def changes_quotas(self) -> bool:
        return self.quota_load_balancers is not None or self.quota_members is not None or bool(self.clear_quotas)

    @property
    def changes_project(self) -> bool:
        return self.project_id is not None or self.clear_project


@dataclass(frozen=True)
class AddMember:
    username: str
    role: str = Role.MEMBER


@dataclass(frozen=True)
class TeamQuery:
    page: PageRequest = field(default_factory=lambda: PageRequest(sort_by="slug"))
    search: str | None = None
    team_ids: tuple[int, ...] | None = None
    """Only these teams (None: all)."""

    SORTABLE = ("slug", "name", "created_at")


@dataclass(frozen=True)
class CreateToken:
    description: str = ""
    expires_at: datetime | None = None
    write: bool = True
