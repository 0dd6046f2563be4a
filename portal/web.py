"""What the portal's HTML pages share: list pages (whose query the API reads too, from
``portal.filters``, so that a filter means the same on a page and in the API), a
service's errors shown next to the form fields they concern, and the icon."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from portal.filters import ListFilters
from portal.kernel.errors import PortalError, ValidationFailed
from portal.kernel.pagination import Page

T = TypeVar("T")


def list_page(
    request: HttpRequest, filters_class: type[ListFilters], page_size: int, fetch: Callable[[Any], Page[T]]
) -> tuple[Page[T] | None, QueryDict]:
    """The page the request's filters ask for (None, with a message, when they are not
    valid), and those filters, to show them back in the form."""
    params = request.GET.copy()
    filters = filters_class(params, default_limit=page_size)
    if not filters.is_valid():
        messages.error(request, "Some filters are not valid: " + ", ".join(filters.errors))
        return None, params
    try:
        return fetch(filters.to_query()), params
    except ValidationFailed as invalid:
        messages.error(request, invalid.message)
        return None, params


def in_words(field: str, message: str) -> str:
    """A service's message about ``field`` as a form shows it, under the field's label:
    without the API's name for the field it starts with ("listener_port must be between
    1 and 65535" reads "must be between 1 and 65535"), and with any other API name it
    starts with spelt in words ("retries_up must be …": "retries up must be …")."""
    text = message.removeprefix(f"{field} ")
    if text != message:
        return text.removeprefix("is ") if text.startswith("is required") else text
    first, space, rest = message.partition(" ")
    if space and first.isidentifier() and first.islower() and "_" in first:
        return f"{first.replace('_', ' ')} {rest}"
    return message


def show_errors(form: forms.Form, error: PortalError) -> None:
    """Put a service's error next to the fields it names, in words (see ``in_words``);
    the rest above the form."""
    shown = False
    for field, problems in error.details.items():
        if field in form.fields and isinstance(problems, list):
            for message in problems:
                form.add_error(field, in_words(field, str(message)))
            shown = True
    if not shown:
        form.add_error(None, error.message)


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every site for /favicon.ico (for the pages that link no icon, such as
    the admin's): the portal's icon is one of its static files."""
    return redirect(static("portal/favicon.svg"))
