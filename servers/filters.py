"""The server list's query, shared by the API and the servers page."""

from __future__ import annotations

from django import forms

from portal.filters import ListFilters
from servers.application.payloads import ServerQuery


class ServerFilters(ListFilters):
    status = forms.CharField(required=False, help_text="OK, DOWN or MAINTENANCE")

    default_sort = ("name", "asc")

    def to_query(self) -> ServerQuery:
        data = self.cleaned_data
        return ServerQuery(page=self.page_request(), status=data["status"] or None, search=data["search"] or None)
