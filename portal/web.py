"""What the portal's list pages share: the API's own list query, so that a filter means
the same on a page and in the API, and a clear message for a bad one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from portal.api.lists import ListQuerySerializer
from portal.kernel.errors import ValidationFailed
from portal.kernel.pagination import Page

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


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every site for /favicon.ico (for the pages that link no icon, such as
    the admin's): the portal's icon is one of its static files."""
    return redirect(static("portal/favicon.svg"))
