"""What the portal's list pages share: the API's own list query, so that a filter means
the same on a page and in the API, and a clear message for a bad one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.http import HttpRequest, QueryDict

from servers.api.base import ListQuerySerializer
from servers.application.pagination import Page
from servers.domain.errors import ValidationFailed

T = TypeVar("T")


def list_page(
    request: HttpRequest, query_class: type[ListQuerySerializer], page_size: int, fetch: Callable[[Any], Page[T]]
) -> tuple[Page[T] | None, QueryDict]:
    """The page the request's filters ask for (None, with a message, when they are not
    valid), and those filters, to show them back in the form."""
    params = request.GET.copy()
    params.setdefault("limit", str(page_size))
    query = query_class(data=params)
    if not query.is_valid():
        messages.error(request, "Some filters are not valid: " + ", ".join(query.errors))
        return None, params
    try:
        return fetch(query.to_query()), params
    except ValidationFailed as invalid:
        messages.error(request, invalid.message)
        return None, params
