"""The one place where load balancer rows and aggregates are converted."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, TypeVar

from loadbalancers import models
from loadbalancers.domain.drift import Drift
from loadbalancers.domain.members import AdminState, Member
from loadbalancers.domain.model import Algorithm, ListenerProtocol, LoadBalancer, OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType
from loadbalancers.domain.orphans import Orphan

_FIELDS = (
    "name",
    "description",
    "listener_port",
    "provider",
    "provider_ref",
    "vip_address",
    "error_reason",
    "pending_since",
    "submitted_at",
    "checked_at",
    "deletion_protection",
)
_ENUM_FIELDS = ("listener_protocol", "algorithm", "provisioning_status", "operating_status")


E = TypeVar("E", bound=Enum)

MEMBER_FIELDS = ("server_id", "weight", "admin_state", "operating_status", "status_reason", "drained_by_inventory")


def to_domain(row: models.LoadBalancer, members: Sequence[dict], tags: Sequence[str]) -> LoadBalancer:  # type: ignore[type-arg]
    """The aggregate of a row, its members (rows' MEMBER_FIELDS values, in order) and tags."""
    return LoadBalancer(
        id=row.id,
        team_id=row.team_id,
        created_by_id=row.created_by_id,
        members=tuple(member_to_domain(member) for member in members),
        health_monitor=monitor_to_domain(row.health_monitor),
        tags=tuple(sorted(tags)),
        listener_protocol=ListenerProtocol(row.listener_protocol),
        algorithm=Algorithm(row.algorithm),
        provisioning_status=ProvisioningStatus(row.provisioning_status),
        operating_status=OperatingStatus(row.operating_status),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **{name: getattr(row, name) for name in _FIELDS},
    )


# A load balancer read as a tuple of these columns (see ``Reader``), in this order;
# ``MONITOR_TEXT`` is its health monitor as JSON text, which the repository annotates.
MONITOR_TEXT = "health_monitor_text"
COLUMNS = (
    "id",
    "team_id",
    "created_by_id",
    MONITOR_TEXT,
    "listener_protocol",
    "algorithm",
    "provisioning_status",
    "operating_status",
    "version",
    "created_at",
    "updated_at",
    *_FIELDS,
)
CREATED_AT = COLUMNS.index("created_at")


def _by_value(kind: type[E]) -> Callable[[str], E]:
    """``kind(value)`` by a dictionary look-up (calling an Enum is slow when done
    millions of times); a value it does not know still raises as calling it does."""
    known = {member.value: member for member in kind}

    def of(value: str) -> E:
        found = known.get(value)
        return found if found is not None else kind(value)

    return of


_protocol = _by_value(ListenerProtocol)
_algorithm = _by_value(Algorithm)
_provisioning = _by_value(ProvisioningStatus)
_operating = _by_value(OperatingStatus)


class Reader:
    """Makes aggregates from rows read as tuples (``COLUMNS``, and ``MEMBER_FIELDS`` for
    members), for one read of many load balancers: model instances, a member object
    for every member row and a JSON decoding for every health monitor were most of
    reading them.  Members and health monitors are immutable, so each distinct one
    is made once and shared by the aggregates this reader makes (a server is a member
    of many load balancers, with the same few settings).  Keep one for one read only."""

    def __init__(self) -> None:
        self._members: dict[tuple[object, ...], Member] = {}
        self._monitors: dict[str, HealthMonitor | None] = {}

    def member(self, values: tuple[object, ...]) -> Member:
        """The member of a row's ``MEMBER_FIELDS`` values, in that order."""
        found = self._members.get(values)
        if found is None:
            found = self._members[values] = member_to_domain(dict(zip(MEMBER_FIELDS, values, strict=True)))
        return found

    def monitor(self, text: str | None) -> HealthMonitor | None:
        """The health monitor of a row's ``MONITOR_TEXT``."""
        if text is None:
            return None
        try:
            return self._monitors[text]
        except KeyError:
            made = self._monitors[text] = monitor_to_domain(json.loads(text))
            return made

    def aggregate(self, values: Sequence[Any], members: Sequence[Member], tags: Sequence[str]) -> LoadBalancer:
        """The aggregate of a row's ``COLUMNS`` values, its members (in order) and tags:
        what ``to_domain`` makes of the same row."""
        (
            lb_id,
            team_id,
            created_by_id,
            monitor,
            listener_protocol,
            algorithm,
            provisioning_status,
            operating_status,
            version,
            created_at,
            updated_at,
            *fields,
        ) = values
        return LoadBalancer(
            id=lb_id,
            team_id=team_id,
            created_by_id=created_by_id,
            members=tuple(members),
            health_monitor=self.monitor(monitor),
            tags=tuple(sorted(tags)),
            listener_protocol=_protocol(listener_protocol),
            algorithm=_algorithm(algorithm),
            provisioning_status=_provisioning(provisioning_status),
            operating_status=_operating(operating_status),
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            **dict(zip(_FIELDS, fields, strict=True)),
        )


def row_values(lb: LoadBalancer) -> dict[str, object]:
    """The columns of a load balancer row (everything but id, version and members)."""
    values: dict[str, object] = {name: getattr(lb, name) for name in _FIELDS}
    values.update({name: getattr(lb, name).value for name in _ENUM_FIELDS})
    values["team_id"] = lb.team_id
    values["created_by_id"] = lb.created_by_id
    values["health_monitor"] = lb.health_monitor.as_dict() if lb.health_monitor else None
    return values


def member_to_domain(values: dict) -> Member:  # type: ignore[type-arg]
    return Member(
        server_id=values["server_id"],
        weight=values["weight"],
        admin_state=AdminState(values["admin_state"]),
        operating_status=OperatingStatus(values["operating_status"]),
        status_reason=values["status_reason"] or None,
        drained_by_inventory=values["drained_by_inventory"],
    )


def member_rows(lb: LoadBalancer) -> list[models.Member]:
    return [
        models.Member(
            load_balancer_id=lb.id,
            position=position,
            server_id=member.server_id,
            weight=member.weight,
            admin_state=member.admin_state.value,
            operating_status=member.operating_status.value,
            status_reason=member.status_reason or "",
            drained_by_inventory=member.drained_by_inventory,
        )
        for position, member in enumerate(lb.members)
    ]


def tag_rows(lb: LoadBalancer) -> list[models.Tag]:
    return [models.Tag(load_balancer_id=lb.id, value=tag) for tag in lb.tags]


def monitor_to_domain(values: dict | None) -> HealthMonitor | None:  # type: ignore[type-arg]
    if not values:
        return None
    return HealthMonitor(**{**values, "type": MonitorType(values["type"])})


_DRIFT_FIELDS = ("field", "desired", "actual", "first_seen_at", "last_seen_at", "resolved_at", "repaired_at")


def drift_to_domain(row: models.Drift) -> Drift:
    return Drift(id=row.pk, lb_id=row.load_balancer_id, **{name: getattr(row, name) for name in _DRIFT_FIELDS})


def drift_values(drift: Drift) -> dict[str, object]:
    return {"load_balancer_id": drift.lb_id, **{name: getattr(drift, name) for name in _DRIFT_FIELDS}}


_ORPHAN_FIELDS = ("provider", "ref", "client_token", "first_seen_at", "last_seen_at", "deleted_at", "deletion_reason")


def orphan_to_domain(row: models.Orphan) -> Orphan:
    return Orphan(id=row.pk, **{name: getattr(row, name) for name in _ORPHAN_FIELDS})


def orphan_values(orphan: Orphan) -> dict[str, object]:
    return {name: getattr(orphan, name) for name in _ORPHAN_FIELDS}
