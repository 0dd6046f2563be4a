"""Lists in the API: the list query from a query string (and its documentation), and
the page answer."""

from __future__ import annotations

from typing import Any

from django import forms
from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from portal.filters import ListFilters
from portal.kernel.errors import FieldErrors
from portal.kernel.pagination import EXACT_TOTAL_UP_TO, Page


def list_query(filters_class: type[ListFilters], request: Request) -> Any:
    """The app's query payload from the request's query string; ValidationFailed (a 400
    that names each bad parameter) when the query's shape is not valid."""
    filters = filters_class(request.query_params)
    if not filters.is_valid():
        errors = FieldErrors()
        errors.extend(filters.errors_by_field())
        errors.raise_if_any("the request is not valid")
    return filters.to_query()


def query_parameters(filters_class: type[ListFilters]) -> list[OpenApiParameter]:
    """The OpenAPI query parameters of a list, from its filters' form fields."""
    parameters = []
    for name, field in filters_class.base_fields.items():
        schema: dict[str, Any] = {"type": "integer" if isinstance(field, forms.IntegerField) else "string"}
        if isinstance(field.widget, forms.MultipleHiddenInput):  # repeated: ?tag=a&tag=b
            schema = {"type": "array", "items": schema}
        if getattr(field, "max_length", None) is not None:
            schema["maxLength"] = field.max_length
        choices = [value for value, _ in field.choices if value] if isinstance(field, forms.ChoiceField) else None
        parameters.append(
            OpenApiParameter(
                name,
                type=schema,
                location=OpenApiParameter.QUERY,
                description=str(field.help_text),
                enum=choices,
                default=field.initial,
            )
        )
    return parameters


def page_response(
    page: Page[Any], serializer_class: type[serializers.Serializer], context: dict[str, Any] | None = None
) -> Response:
    return page_of_json(page, serializer_class(page.items, many=True, context=context or {}).data)


def page_of_json(page: Page[Any], items: list[Any]) -> Response:
    """The page answer, with its items already in their JSON form."""
    return Response(
        {
            "items": items,
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "next_cursor": page.next_cursor,
            "total_is_estimate": page.total_is_estimate,
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
                "next_cursor": serializers.CharField(
                    allow_null=True,
                    help_text="Send it as ?cursor= for the page after this one (same filters and order); "
                    "null: this is the last page.",
                ),
                "total_is_estimate": serializers.BooleanField(
                    help_text=f"Whether total is an estimate: a list longer than {EXACT_TOTAL_UP_TO:,} items "
                    "may give the database's estimate instead of counting every one.",
                ),
            },
        )
    )
