"""The read side of the inventory: lists of servers, filtered, searched and sorted in
the database."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q, QuerySet

from portal.kernel.pagination import Page
from portal.paging import ordered, page_of
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

    def get_iter(self, query: ServerQuery) -> Iterator[Server]:
        return servers_of(ordered(filter_servers(query), query.page))


def servers_of(rows: QuerySet[models.Server]) -> Iterator[Server]:
    """The servers of ``rows`` (in their order), read from the database in chunks."""
    return map(mappers.to_domain, rows.iterator(chunk_size=EXPORT_CHUNK))


EXPORT_CHUNK = 2000
