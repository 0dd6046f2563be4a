"""The one place where load balancer rows and aggregates are converted."""

from __future__ import annotations

from loadbalancers import models
from loadbalancers.domain.model import Algorithm, ListenerProtocol, LoadBalancer, OperatingStatus, ProvisioningStatus
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
)
_ENUM_FIELDS = ("listener_protocol", "algorithm", "provisioning_status", "operating_status")


def to_domain(row: models.LoadBalancer, member_ids: list[int]) -> LoadBalancer:
    return LoadBalancer(
        id=row.id,
        team_id=row.team_id,
        created_by_id=row.created_by_id,
        members=tuple(member_ids),
        listener_protocol=ListenerProtocol(row.listener_protocol),
        algorithm=Algorithm(row.algorithm),
        provisioning_status=ProvisioningStatus(row.provisioning_status),
        operating_status=OperatingStatus(row.operating_status),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **{name: getattr(row, name) for name in _FIELDS},
    )


def row_values(lb: LoadBalancer) -> dict[str, object]:
    """The columns of a load balancer row (everything but id, version and members)."""
    values: dict[str, object] = {name: getattr(lb, name) for name in _FIELDS}
    values.update({name: getattr(lb, name).value for name in _ENUM_FIELDS})
    values["team_id"] = lb.team_id
    values["created_by_id"] = lb.created_by_id
    return values


def member_rows(lb: LoadBalancer) -> list[models.Member]:
    return [
        models.Member(load_balancer_id=lb.id, server_id=server_id, position=position)
        for position, server_id in enumerate(lb.members)
    ]


_ORPHAN_FIELDS = ("provider", "ref", "client_token", "first_seen_at", "last_seen_at", "deleted_at", "deletion_reason")


def orphan_to_domain(row: models.Orphan) -> Orphan:
    return Orphan(id=row.pk, **{name: getattr(row, name) for name in _ORPHAN_FIELDS})


def orphan_values(orphan: Orphan) -> dict[str, object]:
    return {name: getattr(orphan, name) for name in _ORPHAN_FIELDS}
