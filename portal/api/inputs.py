"""Strict JSON input, shared by every endpoint: bounded bodies, fields that take
only their own JSON type, and objects that refuse unknown fields."""

from __future__ import annotations

import io
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser

from portal.api.errors import RequestTooLarge, printable


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


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false: no strings or numbers read as one."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


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
