from __future__ import annotations

from typing import Any

from audit import models
from audit.domain.model import AuditEntry
from portal.kernel.events import Change

_FIELDS = (
    "at",
    "actor_id",
    "actor",
    "source",
    "request_id",
    "team_id",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "message",
)


def _plain(value: object) -> Any:
    """A value as JSON keeps it (a set or tuple as a list, anything else as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


def to_values(entry: AuditEntry) -> dict[str, Any]:
    values = {name: getattr(entry, name) for name in _FIELDS}
    values["request_id"] = entry.request_id or ""
    values["changes"] = [
        {"field": c.field, "before": _plain(c.before), "after": _plain(c.after)} for c in entry.changes
    ]
    return values


def to_domain(row: models.AuditEntry) -> AuditEntry:
    return AuditEntry(
        id=row.pk,
        changes=tuple(Change(c.get("field", ""), c.get("before"), c.get("after")) for c in row.changes or []),
        **{name: getattr(row, name) for name in _FIELDS if name != "request_id"},
        request_id=row.request_id or None,
    )
