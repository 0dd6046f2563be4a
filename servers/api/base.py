"""What every API endpoint of the portal shares: strict JSON input, one error shape,
the list query and the page answer.  It lives in servers, the inner app, so both
apps use it."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from servers.application.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_SEARCH_LENGTH, Page, PageRequest
from servers.domain.errors import PortalError

logger = logging.getLogger(__name__)

# -- errors ---------------------------------------------------------------------------


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


# -- input ------------------------------------------------------------------------------


class BoundedJSONParser(JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413 beyond), and no
    nesting so deep that the decoder would overflow."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"the request body is larger than {limit} bytes")
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the document is nested too deeply") from None


class StrictIntegerField(serializers.IntegerField):
    """A JSON number without a fraction: no strings, no booleans, no 3.0."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string: no numbers or booleans turned into text behind the client's back."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def enum_field(enum: type[StrEnum], **kwargs: Any) -> serializers.CharField:
    """A string documented as one of the enum's values.  The domain checks the value,
    so that one answer reports every problem of a request at once."""
    values = [member.value for member in enum]
    field_class = extend_schema_field({"type": "string", "enum": values})(
        type(f"{enum.__name__}Field", (StrictCharField,), {})
    )
    return field_class(help_text=f"One of {', '.join(values)}.", **kwargs)


class InputSerializer(serializers.Serializer):
    """Checks only the shape of a JSON object: known fields of the right JSON types.
    Unknown fields and read-only ones are refused, never ignored."""

    read_only_names: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise exceptions.ValidationError(
                {"non_field_errors": [f"expected a JSON object, got {type(data).__name__}"]}
            )
        errors: dict[str, Any] = {}
        for key in data:
            if key in self.fields:
                continue
            # Named as sent, but escaped: any text may be a key.
            errors[printable(key)] = ["this field is read-only" if key in self.read_only_names else "unknown field"]
        try:
            value = super().to_internal_value(data)
        except exceptions.ValidationError as invalid:
            errors.update(invalid.detail)
        if errors:
            raise exceptions.ValidationError(errors)
        return value


# -- lists ------------------------------------------------------------------------------


class ListQuerySerializer(serializers.Serializer):
    """The list query, from a query string.  A parameter left empty (``?sort_by=``, as
    a form's blank field sends it) means the same as one left out: its default."""

    limit = serializers.IntegerField(required=False, default=DEFAULT_LIMIT, help_text=f"1 to {MAX_LIMIT}")
    offset = serializers.IntegerField(required=False, default=0)
    sort_by = serializers.CharField(required=False, help_text="Empty or left out: the list's default order.")
    sort_direction = serializers.ChoiceField(
        choices=["asc", "desc"],
        required=False,
        help_text="Default: asc when sort_by is given, otherwise the direction of the list's default order.",
    )
    search = serializers.CharField(required=False, allow_blank=True, max_length=MAX_SEARCH_LENGTH)

    default_sort = ("created_at", "asc")

    def page_request(self) -> PageRequest:
        # Only what was validated counts: an empty parameter was sent, but means its default.
        data = self.validated_data
        sort_by, sort_direction = self.default_sort
        if "sort_by" in data:
            sort_by, sort_direction = data["sort_by"], "asc"
        sort_direction = data.get("sort_direction", sort_direction)
        return PageRequest(limit=data["limit"], offset=data["offset"], sort_by=sort_by, sort_direction=sort_direction)


def parse_query(serializer_class: type[ListQuerySerializer], request: Any) -> ListQuerySerializer:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


def page_response(page: Page[Any], serializer_class: type[serializers.Serializer]) -> Response:
    return Response(
        {
            "items": serializer_class(page.items, many=True).data,
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
        }
    )


def page_serializer(item_serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The documented shape of a page of ``item_serializer``, for the OpenAPI schema.
    One object, even for a list action (which the schema would otherwise document as
    an array of them)."""
    name = item_serializer.__name__.removesuffix("Serializer").removesuffix("Output")
    return extend_schema_serializer(many=False)(
        type(
            f"{name}Page",
            (serializers.Serializer,),
            {
                "items": item_serializer(many=True),
                "total": serializers.IntegerField(),
                "limit": serializers.IntegerField(),
                "offset": serializers.IntegerField(),
            },
        )
    )


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


# -- browsable API ----------------------------------------------------------------------


class RawJSONBrowsableAPIRenderer(BrowsableAPIRenderer):
    """The browsable API with the raw JSON form only: the API takes JSON, and the
    HTML form would send text where numbers are expected."""

    def get_rendered_html_form(self, data, view, method, request):  # type: ignore[no-untyped-def]
        if method in ("DELETE", "OPTIONS"):
            return super().get_rendered_html_form(data, view, method, request)
        return None
