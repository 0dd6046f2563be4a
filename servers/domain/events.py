"""What happened to a server of the inventory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from portal.kernel.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ServerCreated(DomainEvent):
    action: ClassVar[str] = "server.created"
    target_type: ClassVar[str] = "server"

    @property
    def message(self) -> str:
        return f"added server {self.target_name} to the inventory"


@dataclass(frozen=True, kw_only=True)
class ServerUpdated(DomainEvent):
    action: ClassVar[str] = "server.updated"
    target_type: ClassVar[str] = "server"

    @property
    def message(self) -> str:
        changed = ", ".join(f"{c.field} {c.before} -> {c.after}" for c in self.changes) or "nothing"
        return f"changed server {self.target_name}: {changed}"


@dataclass(frozen=True, kw_only=True)
class ServerStatusChanged(ServerUpdated):
    """Only its status changed (OK, DOWN, MAINTENANCE)."""

    action: ClassVar[str] = "server.status_changed"

    @property
    def message(self) -> str:
        change = self.change_of("status")
        assert change is not None
        return f"server {self.target_name} is now {change.after} (was {change.before})"


@dataclass(frozen=True, kw_only=True)
class ServerDeleted(DomainEvent):
    action: ClassVar[str] = "server.deleted"
    target_type: ClassVar[str] = "server"

    @property
    def message(self) -> str:
        return f"removed server {self.target_name} from the inventory"
