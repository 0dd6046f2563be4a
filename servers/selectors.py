"""The read side of the inventory: lists of servers, filtered, searched and sorted in
the database."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from portal.kernel.pagination import Page
from portal.paging import page_of
from servers import models
from servers.adapters import mappers
from servers.application.payloads import ServerQuery
from servers.application.ports import ServerReadModel
from servers.domain.model import Server


def filter_servers(query: ServerQuery) -> QuerySet[models.Server]:
    rows = models.Server.objects.all()
    if query.status:
        rows = rows.filter(status=query.status)
    if query.search:
        rows = rows.filter(Q(name__icontains=query.search) | Q(address__icontains=query.search))
    return rows


class DjangoServerReadModel(ServerReadModel):
    def get_plist(self, query: ServerQuery) -> Page[Server]:
        return page_of(filter_servers(query), query.page, lambda rows: [mappers.to_domain(row) for row in rows])
