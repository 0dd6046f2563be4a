"""The API's root: every endpoint it has, by name, to start browsing from."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import APIRootView


class PortalAPIRootView(APIRootView):
    """The portal's REST API, version 1: every list below, the LBaaS providers, the token
    endpoint, and the OpenAPI schema with its interactive docs."""

    # Endpoints outside the router's viewsets: (name in the root, URL name).
    others = {
        "providers": "provider-list",
        "auth/token": "api-token",
        "schema": "schema",
        "docs": "api-docs",
        "redoc": "api-redoc",
    }

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.api_root_dict = {**self.api_root_dict, **self.others}
        return super().get(request, *args, **kwargs)
