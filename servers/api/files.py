"""The inventory as files in the API: a CSV renderer for the list (streamed by the
view) and the parsers of an import's body."""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer

from servers import bootstrap
from servers.domain.errors import ImportTooLarge


class CSVRenderer(BaseRenderer):
    """Chooses CSV (``?format=csv`` or ``Accept: text/csv``); the list streams the rows
    itself.  Anything else answered then (an error) is JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return JSONRenderer().render(data, "application/json", renderer_context)


class ImportBodyParser(BaseParser):
    """A CSV or JSON import sent as the body: its bytes, at most the import limit
    (ImportTooLarge beyond, without reading the rest)."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        limit = bootstrap.import_limits().max_bytes
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise ImportTooLarge(limit)
        return body


class CSVBodyParser(ImportBodyParser):
    media_type = "text/csv"


class JSONBodyParser(ImportBodyParser):
    media_type = "application/json"
