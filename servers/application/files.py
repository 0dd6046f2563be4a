"""The inventory as files: CSV and JSON exports, and import files read into an
``ImportServers`` payload.  Only the file's shape is checked here (encoding, header,
limits, cell types); the service judges the values with the rules of every other write."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from portal.kernel.errors import ValidationFailed
from servers.application.payloads import ImportRow, ImportServers
from servers.domain.errors import ImportTooLarge
from servers.domain.model import Server

EXPORT_COLUMNS = ("id", "name", "address", "port", "status", "created_at", "updated_at")
"""The columns of an export: every plain value the server list of the API shows."""
REQUIRED_COLUMNS = ("name", "address", "port")
OPTIONAL_COLUMNS = ("status", "id")
IGNORED_COLUMNS = ("created_at", "updated_at")
"""Read-only columns an export carries: accepted (an export imports as it is) and ignored."""
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + IGNORED_COLUMNS

FORMATS = ("csv", "json")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
_CSV_FIELD_LIMIT = 64 * 1024


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_rows: int = 50_000


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed(f"the import file is not valid: {message}", details={"file": [message]})


# -- export ---------------------------------------------------------------------------------


def _cell(value: object) -> str:
    """A value as a spreadsheet shows it and never runs it: text that would start a
    formula gets a leading apostrophe."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def exported(server: Server) -> dict[str, Any]:
    return {
        "id": server.id,
        "name": server.name,
        "address": server.address,
        "port": server.port,
        "status": server.status.value,
        "created_at": server.created_at.isoformat() if server.created_at else None,
        "updated_at": server.updated_at.isoformat() if server.updated_at else None,
    }


def csv_export(servers: Iterable[Server]) -> Iterator[str]:
    """The header line, then one line per server, produced as they are read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(cell) for cell in cells])
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    for server in servers:
        yield line(exported(server)[column] for column in EXPORT_COLUMNS)


def json_export(servers: Iterable[Server]) -> Iterator[str]:
    """A JSON list of servers, one per line, produced as they are read."""
    yield "["
    separator = "\n"
    for server in servers:
        yield separator + json.dumps(exported(server), ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


# -- import ---------------------------------------------------------------------------------


def read_import(data: bytes, file_format: str, limits: ImportLimits) -> ImportServers:
    """The payload of an import file (``file_format``: csv or json); ValidationFailed
    (``details.file``) when the file as a whole cannot be read, ImportTooLarge beyond
    the size limit."""
    if len(data) > limits.max_bytes:
        raise ImportTooLarge(limits.max_bytes)
    if file_format not in FORMATS:
        raise _file_error(f"the format must be one of {', '.join(FORMATS)} (got {file_format!r})")
    text = _decoded(data)
    if not text.strip():
        raise _file_error("the file is empty")
    rows = _csv_rows(text, limits) if file_format == "csv" else _json_rows(text, limits)
    if not rows:
        raise _file_error("the file has no servers, only a header" if file_format == "csv" else "the list is empty")
    return ImportServers(rows=tuple(rows))


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        raise _file_error(
            f"the file must be UTF-8 text; byte {bad.object[bad.start]:#04x} at offset {bad.start} is not"
        ) from None


def _columns(header: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    problems = []
    if unknown := [c for c in columns if c not in KNOWN_COLUMNS]:
        problems.append(f"unknown column(s): {', '.join(map(repr, unknown))}")
    if doubled := sorted({c for c in columns if columns.count(c) > 1}):
        problems.append(f"column(s) given twice: {', '.join(doubled)}")
    if missing := [c for c in REQUIRED_COLUMNS if c not in columns]:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        expected = (
            f"the header names the columns: {', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(KNOWN_COLUMNS[3:])}"
        )
        raise _file_error(f"{'; '.join(problems)} ({expected})")
    return columns


def _unescaped(cell: str) -> str:
    """An export's cell back as it was: without the apostrophe put before a formula start."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_STARTS) else cell


def _whole_number(cell: str) -> object:
    """A cell that holds a whole number, as one; any other text as it is (the service
    says what is wrong with it)."""
    return int(cell) if _WHOLE_NUMBER.fullmatch(cell) else cell


def _csv_rows(text: str, limits: ImportLimits) -> list[ImportRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[ImportRow] = []
    limit = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        columns: list[str] | None = None
        line = 1
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue  # a blank line
            if columns is None:
                columns = _columns(record)
                continue
            if len(rows) >= limits.max_rows:
                raise _file_error(f"the file has more than {limits.max_rows} servers; split it into smaller files")
            rows.append(_csv_row(start, columns, record))
    except csv.Error as bad:
        raise _file_error(f"line {reader.line_num}: {bad}") from None
    finally:
        csv.field_size_limit(limit)
    return rows


def _csv_row(line: int, columns: list[str], record: list[str]) -> ImportRow:
    if len(record) != len(columns):
        return ImportRow(line=line, problem=f"the line has {len(record)} cell(s), the header {len(columns)} column(s)")
    cells = {column: _unescaped(cell) for column, cell in zip(columns, record, strict=True)}
    return ImportRow(
        line=line,
        name=cells["name"],
        address=cells["address"],
        port=_whole_number(cells["port"]) if cells["port"] else None,
        status=cells.get("status") or None,
        id=_whole_number(cells["id"]) if cells.get("id") else None,
    )


def _json_rows(text: str, limits: ImportLimits) -> list[ImportRow]:
    try:
        items = json.loads(text)
    except RecursionError:
        raise _file_error("the JSON is nested too deeply") from None
    except ValueError as bad:
        raise _file_error(f"the file is not valid JSON: {bad}") from None
    if not isinstance(items, list):
        raise _file_error(f"expected a JSON list of servers, got {type(items).__name__}")
    if len(items) > limits.max_rows:
        raise _file_error(f"the list has more than {limits.max_rows} servers; split it into smaller files")
    return [_json_row(number, item) for number, item in enumerate(items, start=1)]


def _json_row(number: int, item: object) -> ImportRow:
    if not isinstance(item, dict):
        return ImportRow(line=number, problem=f"expected a JSON object, got {type(item).__name__}")
    if unknown := [key for key in item if key not in KNOWN_COLUMNS]:
        return ImportRow(line=number, problem=f"unknown field(s): {', '.join(map(repr, unknown))}")
    return ImportRow(
        line=number,
        name=item.get("name"),
        address=item.get("address"),
        port=item.get("port"),
        status=item.get("status"),
        id=item.get("id"),
    )
