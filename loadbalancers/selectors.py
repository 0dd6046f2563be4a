"""The read side: load balancers as people see them, in few queries.

A page costs the same few queries whatever its size and however long the list: the rows
with their team's slug and creator's name (``.values()``: no model instances), every
member with its server, every tag, the open drift, and (for a page that is not the whole
list) a capped count.  The rows become views directly; nothing builds a model instance
or a QuerySet per load balancer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from loadbalancers import models
from loadbalancers.application.payloads import LoadBalancerQuery
from loadbalancers.application.read_model import DriftView, LoadBalancerReadModel, LoadBalancerView, MemberView
from loadbalancers.domain.model import ProvisioningStatus
from portal.kernel.pagination import Page
from portal.paging import page_of

ROW_FIELDS = (
    "id",
    "name",
    "description",
    "team_id",
    "health_monitor",
    "deletion_protection",
    "listener_protocol",
    "listener_port",
    "algorithm",
    "provisioning_status",
    "operating_status",
    "provider",
    "vip_address",
    "error_reason",
    "version",
    "created_at",
    "updated_at",
)
MEMBER_FIELDS = (
    "load_balancer_id",
    "server_id",
    "server__name",
    "server__address",
    "server__port",
    "server__status",
    "weight",
    "admin_state",
    "operating_status",
    "status_reason",
    "drained_by_inventory",
)
DRIFT_FIELDS = ("load_balancer_id", "field", "desired", "actual", "first_seen_at", "last_seen_at")


def _creator() -> str:
    return f"created_by__{get_user_model().USERNAME_FIELD}"


def load_balancer_rows() -> QuerySet[Any]:
    """Every load balancer's own columns, its team's slug and who made it, as dicts."""
    return models.LoadBalancer.objects.values(*ROW_FIELDS, team_slug=F("team__slug"), creator=F(_creator()))


def filter_load_balancers(query: LoadBalancerQuery) -> QuerySet[models.LoadBalancer]:
    """The load balancers the query asks for (unordered: ``portal.paging`` orders them)."""
    rows = models.LoadBalancer.objects.all()
    if query.team_ids is not None:
        rows = rows.filter(team_id__in=query.team_ids)
    if query.team:
        rows = rows.filter(team__slug=query.team)
    if query.provider:
        rows = rows.filter(provider=query.provider)
    if query.provisioning_status:
        rows = rows.filter(provisioning_status=query.provisioning_status)
    else:
        rows = rows.exclude(provisioning_status=ProvisioningStatus.DELETED)
    if query.operating_status:
        rows = rows.filter(operating_status=query.operating_status)
    for tag in query.tags:
        rows = rows.filter(Exists(models.Tag.objects.filter(load_balancer=OuterRef("pk"), value=tag)))
    if query.search:
        found = Q(name__icontains=query.search) | Q(description__icontains=query.search)
        found |= Q(vip_address__icontains=query.search)
        if (made_by := _made_by_someone_named_like(query.search)) is not None:
            found |= made_by
        rows = rows.filter(found)
    return rows


# A search names the accounts whose name holds the text, when at most this many do.
NAMED_ACCOUNTS_MAX = 500


def _made_by_someone_named_like(text: str) -> Q | None:
    """Made by an account whose name holds ``text`` (case-insensitive); None when no
    account's does.  The accounts are looked up first (a small table): a search then
    gives PostgreSQL their ids, whose share of the rows it can estimate, and nothing at
    all when none matches, so that it answers the text from the trigram indexes of the
    other columns instead of walking the whole list."""
    user = get_user_model()
    users = user.objects.filter(**{f"{user.USERNAME_FIELD}__icontains": text}).values_list("pk", flat=True)
    ids = list(users[: NAMED_ACCOUNTS_MAX + 1])
    if not ids:
        return None
    if len(ids) > NAMED_ACCOUNTS_MAX:
        return Q(created_by__in=users)
    return Q(created_by_id__in=ids)


def to_views(rows: Sequence[dict[str, Any]]) -> list[LoadBalancerView]:
    """The views of these rows, with their members, tags and open drift (three queries,
    however many rows)."""
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    members: dict[UUID, list[MemberView]] = defaultdict(list)
    in_page = models.Member.objects.filter(load_balancer_id__in=ids).order_by("load_balancer_id", "position")
    for m in in_page.values_list(*MEMBER_FIELDS):
        members[m[0]].append(MemberView(m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9] or None, m[10]))
    tags: dict[UUID, list[str]] = defaultdict(list)
    for lb_id, value in (
        models.Tag.objects.filter(load_balancer_id__in=ids).order_by("value").values_list("load_balancer_id", "value")
    ):
        tags[lb_id].append(value)
    drift: dict[UUID, list[DriftView]] = defaultdict(list)
    open_drift = models.Drift.objects.filter(load_balancer_id__in=ids, resolved_at__isnull=True).order_by("field")
    for d in open_drift.values_list(*DRIFT_FIELDS):
        drift[d[0]].append(DriftView(field=d[1], desired=d[2], actual=d[3], first_seen_at=d[4], last_seen_at=d[5]))
    return [
        LoadBalancerView(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            team_id=row["team_id"],
            team=row["team_slug"],
            created_by=row["creator"],
            servers=members.get(row["id"], []),
            health_monitor=row["health_monitor"],
            tags=tags.get(row["id"], []),
            deletion_protection=row["deletion_protection"],
            drift=drift.get(row["id"], []),
            listener_protocol=row["listener_protocol"],
            listener_port=row["listener_port"],
            algorithm=row["algorithm"],
            provisioning_status=row["provisioning_status"],
            operating_status=row["operating_status"],
            provider=row["provider"],
            vip_address=row["vip_address"],
            error_reason=row["error_reason"],
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for row in rows
    ]


class DjangoLoadBalancerReadModel(LoadBalancerReadModel):
    def get_one(self, lb_id: UUID) -> LoadBalancerView | None:
        views = to_views(list(load_balancer_rows().filter(pk=lb_id)))
        return views[0] if views else None

    def get_list(self, ids: Sequence[UUID]) -> list[LoadBalancerView]:
        found = {view.id: view for view in to_views(list(load_balancer_rows().filter(pk__in=list(ids))))}
        return [found[lb_id] for lb_id in ids if lb_id in found]

    def get_plist(self, query: LoadBalancerQuery) -> Page[LoadBalancerView]:
        rows = filter_load_balancers(query)
        shown = rows.values(*ROW_FIELDS, team_slug=F("team__slug"), creator=F(_creator()))
        return page_of(shown, query.page, to_views, count=rows)


# -- operations oversight (the admin's dashboard, /metrics) -------------------------------------

PENDING = (ProvisioningStatus.PENDING_CREATE, ProvisioningStatus.PENDING_UPDATE, ProvisioningStatus.PENDING_DELETE)
DASHBOARD_ROWS = 10


@dataclass(frozen=True)
class StatusCounts:
    """The latest snapshot (models.StatusCount): (provider, provisioning status,
    operating status) -> count, and when it was counted (None: never yet)."""

    counted_at: datetime | None
    counts: dict[tuple[str, str, str], int]


def status_counts() -> StatusCounts:
    """One query of a few rows, whatever the number of load balancers."""
    rows = list(
        models.StatusCount.objects.values_list(
            "provider", "provisioning_status", "operating_status", "count", "counted_at"
        )
    )
    return StatusCounts(
        counted_at=max((row[4] for row in rows), default=None),
        counts={(row[0], row[1], row[2]): row[3] for row in rows},
    )


def stuck(now: datetime, after: float, limit: int = DASHBOARD_ROWS) -> list[dict[str, Any]]:
    """The load balancers pending for longer than ``after`` seconds, the longest first
    (an index on status and pending_since: no scan of the table)."""
    since = now - timedelta(seconds=after)
    rows = models.LoadBalancer.objects.filter(provisioning_status__in=PENDING, pending_since__lt=since)
    return list(
        rows.order_by("pending_since", "id").values(
            "id", "name", "provider", "provisioning_status", "pending_since", "team__slug"
        )[:limit]
    )


def recent_errors(limit: int = DASHBOARD_ROWS) -> list[dict[str, Any]]:
    """The load balancers that went to ERROR last, with their reasons."""
    rows = models.LoadBalancer.objects.filter(provisioning_status=ProvisioningStatus.ERROR)
    return list(
        rows.order_by("-updated_at", "-id").values(
            "id", "name", "provider", "error_reason", "updated_at", "team__slug"
        )[:limit]
    )


def provider_health() -> list[dict[str, Any]]:
    return list(
        models.ProviderHealth.objects.order_by("provider").values(
            "provider",
            "last_success_at",
            "last_failure_at",
            "last_error",
            "minute",
            "calls",
            "failures",
            "previous_calls",
            "previous_failures",
        )
    )


def last_reconcile_pass() -> models.ReconcilePass | None:
    return models.ReconcilePass.objects.order_by("-started_at", "-id").first()
