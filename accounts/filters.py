"""The team list's query, shared by the API and the teams page."""

from __future__ import annotations

from accounts.application.payloads import TeamQuery
from portal.filters import ListFilters


class TeamFilters(ListFilters):
    default_sort = ("slug", "asc")

    def to_query(self) -> TeamQuery:
        return TeamQuery(page=self.page_request(), search=self.cleaned_data["search"] or None)
