"""A database that is busy or cannot be reached (SQLite write-locked past its timeout,
PostgreSQL down or out of connections) makes a request answer 503, "try again", instead
of a 500: nothing is wrong with the request, and nothing in the portal is broken.  The
API's exception handler does this inside DRF views; this does it everywhere else."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from portal.api.errors import database_unavailable_body

logger = logging.getLogger(__name__)

# Errors of reaching the database, not of what was asked of it (an IntegrityError or a
# DataError means the portal let bad data through: a bug, a 500).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: the API's error shape for the API, a page for everything else.
    The page is rendered without the request, so it needs no database itself (no
    session, no user, no messages)."""
    if request.path.startswith("/api/"):
        return JsonResponse(database_unavailable_body(), status=503)
    return HttpResponse(render_to_string("503.html"), status=503)


class DatabaseUnavailableMiddleware:
    """Answers 503 when a view (or the rendering of its template) fails because the
    database is unavailable.  Django itself answers a session that cannot be saved after
    the view with a 400 (SessionInterrupted)."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.error("database unavailable: %s %s answered 503", request.method, request.path, exc_info=exception)
        return database_unavailable(request)
