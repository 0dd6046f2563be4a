"""The one place where errors become API responses:
``{"error": name, "message": text, "details": {...}}``, with the status of the error."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from portal.kernel.errors import PortalError

logger = logging.getLogger(__name__)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is too large"
    default_code = "request_too_large"


def error_body(name: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": name, "message": message, "details": details or {}}


def database_unavailable_body() -> dict[str, Any]:
    return error_body("DependencyUnavailable", "the database is unavailable; try again later")


def printable(text: object) -> str:
    """Text a client sent, made safe to show back: what no encoding can carry (a lone
    surrogate from a JSON \\ud800 escape) is written as its escape instead."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _summary(detail: Any) -> str:
    """A one-line human summary of DRF's nested error detail."""
    if isinstance(detail, Mapping):
        parts = [f"{field}: {_summary(value)}" for field, value in detail.items()]
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_summary(item) for item in detail)
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The one place where errors become responses: {"error", "message", "details"}."""
    if isinstance(exc, PortalError):
        return Response(error_body(exc.name, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ValidationError({"non_field_errors": [str(exc) or "the request is malformed"]})
    if isinstance(exc, OperationalError | InterfaceError):
        # The database cannot be reached (or is overloaded): a client can retry later.
        # Other database errors mean the portal let bad data through: a bug, a 500.
        logger.exception("database unavailable")
        return Response(database_unavailable_body(), status=status.HTTP_503_SERVICE_UNAVAILABLE)
    # Imported here: DRF's settings name this module, and rest_framework.views reads them
    # when it is first imported, so importing it at the top would make a cycle.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.Throttled):
        details = {} if exc.wait is None else {"retry_after": math.ceil(exc.wait)}
        response.data = error_body("Throttled", _summary(exc.detail), details)
    elif isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, Mapping) else {"non_field_errors": exc.detail}
        fields = ", ".join(details)
        response.data = error_body("ValidationError", f"the request is not valid: check {fields}", details)
    elif isinstance(exc, Http404 | exceptions.NotFound):
        response.data = error_body("NotFound", "not found")
    elif isinstance(exc, DjangoPermissionDenied | exceptions.PermissionDenied):
        response.data = error_body("PermissionDenied", _summary(getattr(exc, "detail", "permission denied")))
    else:
        response.data = error_body(type(exc).__name__, _summary(getattr(exc, "detail", str(exc))))
    return response


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()
