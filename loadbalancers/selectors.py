"""The read side: load balancers as people see them, in few queries.

A page costs five queries whatever its size: the count, the rows with their teams and
creators, every member with its server, every tag, and the open drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from loadbalancers import models
from loadbalancers.application.payloads import LoadBalancerQuery
from loadbalancers.application.read_model import DriftView, LoadBalancerReadModel, LoadBalancerView, MemberView
from loadbalancers.domain.model import ProvisioningStatus
from portal.kernel.pagination import Page


def load_balancer_rows() -> QuerySet[models.LoadBalancer]:
    return models.LoadBalancer.objects.select_related("team", "created_by").prefetch_related(
        Prefetch("members", queryset=models.Member.objects.select_related("server").order_by("position")),
        Prefetch("tags", queryset=models.Tag.objects.order_by("value")),
        Prefetch("drift", queryset=models.Drift.objects.filter(resolved_at__isnull=True), to_attr="open_drift"),
    )


def filter_load_balancers(query: LoadBalancerQuery) -> QuerySet[models.LoadBalancer]:
    rows = load_balancer_rows()
    if query.team_ids is not None:
        rows = rows.filter(team_id__in=query.team_ids)
    if query.team:
        rows = rows.filter(team__slug=query.team)
    if query.provisioning_status:
        rows = rows.filter(provisioning_status=query.provisioning_status)
    else:
        rows = rows.exclude(provisioning_status=ProvisioningStatus.DELETED)
    if query.operating_status:
        rows = rows.filter(operating_status=query.operating_status)
    for tag in query.tags:
        rows = rows.filter(Exists(models.Tag.objects.filter(load_balancer=OuterRef("pk"), value=tag)))
    if query.search:
        rows = rows.filter(
            Q(name__icontains=query.search)
            | Q(description__icontains=query.search)
            | Q(vip_address__icontains=query.search)
            | Q(created_by__username__icontains=query.search)
        )
    order = f"-{query.page.sort_by}" if query.page.descending else query.page.sort_by
    return rows.order_by(order, "pk")


def to_view(row: models.LoadBalancer) -> LoadBalancerView:
    return LoadBalancerView(
        id=row.id,
        name=row.name,
        description=row.description,
        team_id=row.team_id,
        team=row.team.slug,
        created_by=None if row.created_by is None else row.created_by.get_username(),
        servers=[
            MemberView(
                id=member.server.pk,
                name=member.server.name,
                address=member.server.address,
                port=member.server.port,
                status=member.server.status,
                weight=member.weight,
                admin_state=member.admin_state,
                operating_status=member.operating_status,
                status_reason=member.status_reason or None,
                drained_by_inventory=member.drained_by_inventory,
            )
            for member in row.members.all()
        ],
        health_monitor=row.health_monitor,
        tags=[tag.value for tag in row.tags.all()],
        deletion_protection=row.deletion_protection,
        drift=[
            DriftView(
                field=d.field,
                desired=d.desired,
                actual=d.actual,
                first_seen_at=d.first_seen_at,
                last_seen_at=d.last_seen_at,
            )
            for d in sorted(row.open_drift, key=lambda d: d.field)
        ],
        listener_protocol=row.listener_protocol,
        listener_port=row.listener_port,
        algorithm=row.algorithm,
        provisioning_status=row.provisioning_status,
        operating_status=row.operating_status,
        provider=row.provider,
        vip_address=row.vip_address,
        error_reason=row.error_reason,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class DjangoLoadBalancerReadModel(LoadBalancerReadModel):
    def get_one(self, lb_id: UUID) -> LoadBalancerView | None:
        row = load_balancer_rows().filter(pk=lb_id).first()
        return None if row is None else to_view(row)

    def get_list(self, ids: Sequence[UUID]) -> list[LoadBalancerView]:
        found = {row.pk: row for row in load_balancer_rows().filter(pk__in=list(ids))}
        return [to_view(found[lb_id]) for lb_id in ids if lb_id in found]

    def get_plist(self, query: LoadBalancerQuery) -> Page[LoadBalancerView]:
        rows = filter_load_balancers(query)
        page = rows[query.page.offset : query.page.offset + query.page.limit]
        return Page(
            items=[to_view(row) for row in page],
            total=rows.count(),
            limit=query.page.limit,
            offset=query.page.offset,
        )
