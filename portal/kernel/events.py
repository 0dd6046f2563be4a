"""What every domain event tells beside its own facts: which record it concerns (type,
id, name at the time), its team, what changed (field: before -> after), a line a
person can read, and, stamped by the unit of work that committed it, who asked, from
where and when.  The audit trail and notifications read only this, so they need
nothing of the apps whose events they record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True)
class Change:
    """One field's value before and after (None: it had none, as on creation)."""

    field: str
    before: object
    after: object


def changes_between(before: Mapping[str, object], after: Mapping[str, object]) -> tuple[Change, ...]:
    """The fields whose value differs, in the order of ``after``."""
    return tuple(Change(name, before.get(name), value) for name, value in after.items() if before.get(name) != value)


def created(values: Mapping[str, object]) -> tuple[Change, ...]:
    """Each field that has a value, from nothing to its first value."""
    return tuple(Change(name, None, value) for name, value in values.items() if value is not None)


def removed(values: Mapping[str, object]) -> tuple[Change, ...]:
    """Each field that had a value, from its last value to nothing."""
    return tuple(Change(name, value, None) for name, value in values.items() if value is not None)


@dataclass(frozen=True)
class Context:
    """Who asked (a user, or ``system`` for the workers and the reconciler), through
    which door (``source``), in which request, and when it was committed."""

    actor_id: int | None
    actor: str
    source: str
    request_id: str | None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """The base of every event of every app.  A subclass names its ``action``
    ("load_balancer.update_requested") and says what happened in ``message``."""

    action: ClassVar[str] = "event"
    target_type: ClassVar[str] = "record"

    target_id: str
    target_name: str
    team_id: int | None = None
    changes: tuple[Change, ...] = ()
    context: Context | None = field(default=None, compare=False)

    @property
    def message(self) -> str:
        return f"{self.action} {self.target_type} {self.target_name}"

    def change_of(self, name: str) -> Change | None:
        return next((change for change in self.changes if change.field == name), None)


def known_actions() -> list[str]:
    """Every action some event of some (imported) app records, sorted."""
    found: set[str] = set()
    pending: list[type[DomainEvent]] = [DomainEvent]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if kind.action != DomainEvent.action:
            found.add(kind.action)
    return sorted(found)
