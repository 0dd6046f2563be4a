"""Lists in the API: the list query from a query string, and the page answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from portal.kernel.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_SEARCH_LENGTH, Page, PageRequest


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
