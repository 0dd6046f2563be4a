"""The read side of the inventory: lists of servers, filtered, searched and sorted in
the database."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from portal.kernel.pagination import Page
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
    order = f"-{query.page.sort_by}" if query.page.descending else query.page.sort_by
    return rows.order_by(order, "pk")


class DjangoServerReadModel(ServerReadModel):
    def get_plist(self, query: ServerQuery) -> Page[Server]:
        rows = filter_servers(query)
        page = rows[query.page.offset : query.page.offset + query.page.limit]
        return Page(
            items=[mappers.to_domain(row) for row in page],
            total=rows.count(),
            limit=query.page.limit,
            offset=query.page.offset,
        )
