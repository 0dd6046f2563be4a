"""A list's query (paging, order, search and the list's own filters), read from a query
string by a plain Django form: the API and the HTML pages share it, so a filter means the
same in both.  Only the shape is checked here (a number is a number, a text has no NUL
and is not too long); the services check the values (ranges, sortable fields, statuses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from portal.kernel.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, MAX_SEARCH_LENGTH, PageRequest


class ListFilters(forms.Form):
    """The list query.  A parameter left empty (``?sort_by=``, as a form's blank field
    sends it) means the same as one left out: its default (a number's ``initial``)."""

    limit = forms.IntegerField(required=False, initial=DEFAULT_LIMIT, help_text=f"1 to {MAX_LIMIT}")
    offset = forms.IntegerField(required=False, initial=0)
    cursor = forms.CharField(
        required=False,
        max_length=MAX_CURSOR_LENGTH,
        help_text="The next_cursor of the page before: the page after it, as fast however deep (instead of offset).",
    )
    sort_by = forms.CharField(required=False, help_text="Empty or left out: the list's default order.")
    sort_direction = forms.ChoiceField(
        choices=[("asc", "asc"), ("desc", "desc")],
        required=False,
        help_text="Default: asc when sort_by is given, otherwise the direction of the list's default order.",
    )
    search = forms.CharField(required=False, max_length=MAX_SEARCH_LENGTH)

    default_sort: tuple[str, str] = ("created_at", "asc")

    def __init__(self, data: Mapping[str, Any], *, default_limit: int | None = None) -> None:
        super().__init__(data)
        if default_limit is not None:  # a page shows its own page size
            self.fields["limit"].initial = default_limit

    def errors_by_field(self) -> dict[str, list[str]]:
        return {field: [str(message) for message in messages] for field, messages in self.errors.items()}

    def page_request(self) -> PageRequest:
        data = self.cleaned_data
        sort_by, sort_direction = self.default_sort
        if data["sort_by"]:
            sort_by, sort_direction = data["sort_by"], "asc"
        return PageRequest(
            limit=self._number("limit"),
            offset=self._number("offset"),
            sort_by=sort_by,
            sort_direction=data["sort_direction"] or sort_direction,
            cursor=data["cursor"] or None,
        )

    def to_query(self) -> Any:
        """The app's query payload (valid filters only)."""
        raise NotImplementedError

    def _number(self, name: str) -> int:
        value = self.cleaned_data[name]
        return self.fields[name].initial if value is None else value
