"""Teams, the roles people have in them, and the quotas that bound what a team holds.

A user belongs to any number of teams with one role in each:

    viewer  reads the team's load balancers
    member  also creates, changes and deletes them
    owner   also manages who is in the team, and with which role

A team always keeps at least one owner once it has one.  Quotas are set by
operations; a team without its own value uses the portal's default.  So is the team's
project at providers that keep tenants apart (OpenStack Octavia).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from accounts.domain.errors import AlreadyMember, LastOwner, MemberNotFound, QuotaExceeded
from portal.kernel.errors import FieldErrors
from portal.kernel.validators import choice_errors, name_errors

TEAM_NAME_MAX_LENGTH = 100
QUOTA_MAX = 1_000_000
PROJECT_ID_MAX_LENGTH = 64
_PROJECT_ID_RE = re.compile(r"[A-Za-z0-9_-]+")


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    OWNER = "owner"

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class Quotas:
    load_balancers: int
    members: int


def quota_errors(value: object, *, what: str) -> list[str]:
    """A quota is a whole number from 0 (nothing allowed) up; None means the default."""
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{what} must be a whole number (or empty for the default)"]
    if not 0 <= value <= QUOTA_MAX:
        return [f"{what} must be between 0 and {QUOTA_MAX} (got {value})"]
    return []


def project_id_errors(value: object) -> list[str]:
    """A provider project id: 1-64 letters, digits, ``-`` and ``_`` (Keystone's are 32 hex
    digits, but clouds differ); None means the provider's default project."""
    if value is None:
        return []
    if not isinstance(value, str) or not value:
        return ["project_id must be 1 to 64 letters, digits, - and _ (or empty for the provider's default)"]
    problems = []
    if len(value) > PROJECT_ID_MAX_LENGTH:
        problems.append(f"project_id must be at most {PROJECT_ID_MAX_LENGTH} characters (got {len(value)})")
    if not _PROJECT_ID_RE.fullmatch(value):
        shown = value if len(value) <= PROJECT_ID_MAX_LENGTH else f"{value[:PROJECT_ID_MAX_LENGTH]}…"
        problems.append(f"project_id may contain only letters, digits, - and _ (got {shown!r})")
    return problems


def team_name_errors(name: object) -> list[str]:
    if not isinstance(name, str) or not name.strip():
        return ["name is required"]
    if len(name) > TEAM_NAME_MAX_LENGTH:
        return [f"name must be at most {TEAM_NAME_MAX_LENGTH} characters (got {len(name)})"]
    return []


def role_errors(role: object) -> list[str]:
    return choice_errors(role, Role, what="role")


@dataclass
class Membership:
    user_id: int
    username: str
    role: Role


@dataclass
class Team:
    id: int | None
    slug: str
    name: str
    quota_load_balancers: int | None = None
    quota_members: int | None = None
    memberships: list[Membership] = field(default_factory=list)
    created_at: datetime | None = None
    project_id: str | None = None
    """The team's project at providers that keep tenants apart (OpenStack Octavia);
    None: the provider's default project."""

    @classmethod
    def new(
        cls,
        *,
        slug: str,
        name: str,
        quota_load_balancers: int | None = None,
        quota_members: int | None = None,
        project_id: str | None = None,
    ) -> Team:
        errors = FieldErrors()
        for message in name_errors(slug, what="slug"):
            errors.add("slug", message)
        if name is None:
            errors.add("name", "name is required")
        team = cls(id=None, slug=slug, name=name)
        team.change(
            name=name,
            quota_load_balancers=quota_load_balancers,
            quota_members=quota_members,
            project_id=project_id,
            errors=errors,
        )
        return team

    def change(
        self,
        *,
        name: str | None = None,
        quota_load_balancers: int | None = None,
        quota_members: int | None = None,
        clear_quotas: tuple[str, ...] = (),
        project_id: str | None = None,
        clear_project: bool = False,
        errors: FieldErrors | None = None,
    ) -> None:
        """Change the display name, the quotas and the provider project given;
        ``clear_quotas`` names the quotas to set back to the default, ``clear_project``
        sets the project back to the provider's default.  Every bad field is reported
        at once."""
        errors = errors or FieldErrors()
        if name is not None:
            for message in team_name_errors(name):
                errors.add("name", message)
        for field_name, value in (("quota_load_balancers", quota_load_balancers), ("quota_members", quota_members)):
            for message in quota_errors(value, what=field_name):
                errors.add(field_name, message)
        for message in project_id_errors(project_id):
            errors.add("project_id", message)
        if clear_project and project_id is not None:
            errors.add("project_id", "give a project_id or clear it, not both")
        errors.raise_if_any("the team is not valid")
        if name is not None:
            self.name = name.strip()
        if quota_load_balancers is not None or "quota_load_balancers" in clear_quotas:
            self.quota_load_balancers = quota_load_balancers
        if quota_members is not None or "quota_members" in clear_quotas:
            self.quota_members = quota_members
        if project_id is not None or clear_project:
            self.project_id = project_id

    def described(self) -> dict[str, object]:
        """Its fields as the audit trail shows their changes (quotas: None = the default;
        project_id: None = the provider's default project)."""
        return {
            "slug": self.slug,
            "name": self.name,
            "quota_load_balancers": self.quota_load_balancers,
            "quota_members": self.quota_members,
            "project_id": self.project_id,
        }

    # -- quotas ---------------------------------------------------------------------------

    def quotas(self, defaults: Quotas) -> Quotas:
        return Quotas(
            load_balancers=defaults.load_balancers if self.quota_load_balancers is None else self.quota_load_balancers,
            members=defaults.members if self.quota_members is None else self.quota_members,
        )

    def check_load_balancers(self, defaults: Quotas, *, usage: int, adding: int = 1) -> None:
        quota = self.quotas(defaults).load_balancers
        if usage + adding > quota:
            raise QuotaExceeded(
                team=self.slug,
                limit="load_balancers",
                quota=quota,
                usage=usage,
                requested=adding,
                message=f"team {self.slug} may have at most {quota} live load balancers; it has {usage} and this"
                f" would make {usage + adding}",
            )

    def check_members(self, defaults: Quotas, *, count: int) -> None:
        """``count`` members on one load balancer."""
        quota = self.quotas(defaults).members
        if count > quota:
            raise QuotaExceeded(
                team=self.slug,
                limit="members",
                quota=quota,
                usage=0,
                requested=count,
                message=f"each load balancer of team {self.slug} may have at most {quota} members; this one would have"
                f" {count}",
            )

    # -- membership -------------------------------------------------------------------------

    def role_of(self, user_id: int) -> Role | None:
        found = self._membership(user_id)
        return None if found is None else found.role

    def add_member(self, user_id: int, username: str, role: Role) -> None:
        existing = self._membership(user_id)
        if existing is not None:
            raise AlreadyMember(self.slug, username, existing.role)
        self.memberships.append(Membership(user_id, username, role))

    def change_role(self, user_id: int, username: str, role: Role) -> None:
        membership = self._require(user_id, username)
        if membership.role is Role.OWNER and role is not Role.OWNER:
            self._keep_an_owner(without=user_id, username=username)
        membership.role = role

    def remove_member(self, user_id: int, username: str) -> None:
        membership = self._require(user_id, username)
        if membership.role is Role.OWNER:
            self._keep_an_owner(without=user_id, username=username)
        self.memberships.remove(membership)

    def _membership(self, user_id: int) -> Membership | None:
        return next((m for m in self.memberships if m.user_id == user_id), None)

    def _require(self, user_id: int, username: str) -> Membership:
        membership = self._membership(user_id)
        if membership is None:
            raise MemberNotFound(self.slug, username)
        return membership

    def _keep_an_owner(self, *, without: int, username: str) -> None:
        if not any(m.role is Role.OWNER and m.user_id != without for m in self.memberships):
            raise LastOwner(self.slug, username)
