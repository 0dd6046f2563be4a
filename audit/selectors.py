"""The read side of the audit trail: a page of entries, newest first, filtered and
searched in the database."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from audit import models
from audit.adapters import mappers
from audit.application.payloads import AuditQuery
from audit.application.ports import AuditReadModel
from audit.domain.model import AuditEntry
from portal.kernel.pagination import Page
from portal.paging import page_of


def filter_entries(query: AuditQuery) -> QuerySet[models.AuditEntry]:
    rows = models.AuditEntry.objects.all()
    if query.team_ids is not None:
        scope = Q(team_id__in=query.team_ids)
        if query.or_actor_id is not None:
            scope |= Q(actor_id=query.or_actor_id)
        rows = rows.filter(scope)
    exact = {
        "actor": query.actor,
        "team_id": query.team,
        "target_type": query.target_type,
        "target_id": query.target_id,
        "action": query.action,
        "source": query.source,
    }
    rows = rows.filter(**{name: value for name, value in exact.items() if value is not None})
    if query.since is not None:
        rows = rows.filter(at__gte=query.since)
    if query.until is not None:
        rows = rows.filter(at__lt=query.until)
    if query.search:
        rows = rows.filter(message__icontains=query.search)
    return rows


class DjangoAuditReadModel(AuditReadModel):
    def get_plist(self, query: AuditQuery) -> Page[AuditEntry]:
        return page_of(filter_entries(query), query.page, lambda rows: [mappers.to_domain(row) for row in rows])

    def get_one(self, entry_id: int) -> AuditEntry | None:
        row = models.AuditEntry.objects.filter(pk=entry_id).first()
        return None if row is None else mappers.to_domain(row)
