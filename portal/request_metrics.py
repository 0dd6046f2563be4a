"""How long the portal takes to answer, by view (the URL pattern's name, never the raw
path: a path holds ids, and each would be a time series of its own), method and class
of status."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, resolve

from portal import metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
"""The view of a request whose path no URL pattern matches (404s of unknown paths)."""

REQUEST_DURATION = metrics.histogram(
    "portal_http_request_duration_seconds",
    "Seconds the portal took to answer a request, by view, method and class of status.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


class RequestMetricsMiddleware:
    """The outermost middleware, so that the time covers every other one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_DURATION.labels(
            view=view_name(request),
            method=request.method if request.method in METHODS else "OTHER",
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


def view_name(request: HttpRequest) -> str:
    """The name of the URL pattern that served the request (its route when it has no
    name); a request a middleware answered before its view is named by its path's
    pattern all the same."""
    match: ResolverMatch | None = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return UNMATCHED
    return match.view_name if match.url_name else (match.route or UNMATCHED)
