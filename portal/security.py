"""Security the portal adds to Django's own: the signing keys production refuses, and a
Content-Security-Policy on every response.

Django 5.2 has no Content-Security-Policy of its own.  The policy is a setting
(``CONTENT_SECURITY_POLICY``); the few pages drawn by third-party templates that need
more (DRF's browsable API, Swagger UI, ReDoc) get a looser one of their own, chosen here,
so the portal's pages and the admin keep the strict one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Keys written in this repository: development and the tests use them, production refuses them.
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
TEST_SECRET_KEY = "test-only-key"
PUBLISHED_SECRET_KEYS = (DEV_SECRET_KEY, TEST_SECRET_KEY)

HEADER = "Content-Security-Policy"
# With DEBUG on, Django answers these with its technical pages, whose styles and scripts
# are inline: a developer's error page keeps working (DEBUG is never on in production).
_DEBUG_PAGES = (404, 500)


def policy_for(request: HttpRequest, response: HttpResponse) -> str:
    """The policy of this response: that of the first path prefix in
    ``CONTENT_SECURITY_POLICY_BY_PATH`` that the request's path starts with, the browsable
    API's for DRF's HTML rendering of an endpoint, the portal's everywhere else."""
    for prefix, policy in settings.CONTENT_SECURITY_POLICY_BY_PATH.items():
        if request.path.startswith(prefix):
            return policy
    renderer = getattr(response, "accepted_renderer", None)
    if getattr(renderer, "format", None) == "api":
        return settings.CONTENT_SECURITY_POLICY_BROWSABLE_API
    return settings.CONTENT_SECURITY_POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER in response or (settings.DEBUG and response.status_code in _DEBUG_PAGES):
            return response
        response[HEADER] = policy_for(request, response)
        return response
