"""What happened to a team, its members and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from portal.kernel.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class TeamEvent(DomainEvent):
    target_type: ClassVar[str] = "team"


@dataclass(frozen=True, kw_only=True)
class TeamCreated(TeamEvent):
    action: ClassVar[str] = "team.created"

    @property
    def message(self) -> str:
        return f"created team {self.target_name}"


@dataclass(frozen=True, kw_only=True)
class TeamUpdated(TeamEvent):
    action: ClassVar[str] = "team.updated"

    @property
    def message(self) -> str:
        changed = ", ".join(f"{c.field} {c.before} -> {c.after}" for c in self.changes) or "nothing"
        return f"changed team {self.target_name}: {changed}"


@dataclass(frozen=True, kw_only=True)
class MemberAdded(TeamEvent):
    action: ClassVar[str] = "team.member_added"
    username: str
    role: str

    @property
    def message(self) -> str:
        return f"added {self.username} to team {self.target_name} as {self.role}"


@dataclass(frozen=True, kw_only=True)
class RoleChanged(TeamEvent):
    action: ClassVar[str] = "team.role_changed"
    username: str
    role: str

    @property
    def message(self) -> str:
        change = self.change_of(f"member {self.username}")
        before = f" from {change.before}" if change is not None else ""
        return f"changed the role of {self.username} in team {self.target_name}{before} to {self.role}"


@dataclass(frozen=True, kw_only=True)
class MemberRemoved(TeamEvent):
    action: ClassVar[str] = "team.member_removed"
    username: str

    @property
    def message(self) -> str:
        return f"removed {self.username} from team {self.target_name}"


@dataclass(frozen=True, kw_only=True)
class TokenEvent(DomainEvent):
    target_type: ClassVar[str] = "api_token"
    owner: str


@dataclass(frozen=True, kw_only=True)
class TokenCreated(TokenEvent):
    action: ClassVar[str] = "api_token.created"

    @property
    def message(self) -> str:
        return f"made API token {self.target_name} of {self.owner}"


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(TokenEvent):
    action: ClassVar[str] = "api_token.revoked"

    @property
    def message(self) -> str:
        return f"revoked API token {self.target_name} of {self.owner}"
