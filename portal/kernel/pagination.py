"""List queries and pages, shared by every list in the portal.

A page is asked for by ``limit`` and ``offset``, or by ``limit`` and a ``cursor``: the
opaque ``next_cursor`` of the page before, which names the last item shown (its value
in the list's order and its id), so the next page starts right after it however deep it
is.  ``total`` is exact up to ``EXACT_TOTAL_UP_TO`` items; past that it may be the
database's estimate, and ``total_is_estimate`` says so."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar
from uuid import UUID

from portal.kernel.errors import FieldErrors

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 2**53  # far past any table, and safe for every database's integers
# Search texts are bounded (API, pages and admin alike): an unbounded one makes a query
# too big for some databases (SQLite refuses a LIKE pattern over 50,000 bytes).
MAX_SEARCH_LENGTH = 200
# A list counts its items exactly up to this many; past it, ``total`` may be an estimate
# (counting every row of a long list would cost more than the page itself).
EXACT_TOTAL_UP_TO = 10_000
# Cursors are short (a sort value and an id); a longer one was not made by the portal.
MAX_CURSOR_LENGTH = 1024

CURSOR_NOT_VALID = "cursor is not valid: send the next_cursor of a page as it came"

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: right after the item whose ``sort_by`` value is ``value`` and
    whose id is ``key``, in that order and direction."""

    sort_by: str
    descending: bool
    value: Scalar
    key: Scalar

    def encode(self) -> str:
        text = json.dumps(
            [self.sort_by, "desc" if self.descending else "asc", self.value, self.key], separators=(",", ":")
        )
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor ``text`` names; ValueError when it is not one the portal made."""
        if not isinstance(text, str) or not text or len(text) > MAX_CURSOR_LENGTH:
            raise ValueError("not a cursor")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            sort_by, direction, value, key = json.loads(raw, parse_constant=_no_constant)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise ValueError("not a cursor") from None
        if not isinstance(sort_by, str) or direction not in ("asc", "desc"):
            raise ValueError("not a cursor")
        if not _comparable(value) or not _comparable(key) or key is None:
            raise ValueError("not a cursor")
        return cls(sort_by=sort_by, descending=direction == "desc", value=value, key=key)

    @classmethod
    def after(cls, sort_by: str, descending: bool, value: object, key: object) -> Cursor:
        """The cursor of the page after the item with this sort value and id."""
        return cls(sort_by=sort_by, descending=descending, value=_scalar(value), key=_scalar(key))


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a value a list is sorted by")


# What a database can compare: 64-bit integers, text without NUL (PostgreSQL refuses it).
_DB_INTEGERS = range(-(2**63), 2**63)


def _comparable(value: object) -> bool:
    if value is None or isinstance(value, bool | float):
        return True
    if isinstance(value, int):
        return value in _DB_INTEGERS
    return isinstance(value, str) and "\x00" not in value


def _scalar(value: object) -> Scalar:
    if value is None or isinstance(value, bool | int | float):
        return value  # type: ignore[return-value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort_by: str = "created_at"
    sort_direction: str = "asc"
    cursor: str | None = None
    """The ``next_cursor`` of the page before (then ``offset`` stays 0)."""

    def check(self, sortable: tuple[str, ...]) -> None:
        errors = FieldErrors()
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT:
            errors.add("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or not 0 <= self.offset <= MAX_OFFSET:
            errors.add("offset", f"offset must be a whole number from 0 to {MAX_OFFSET}")
        if self.sort_by not in sortable:
            errors.add("sort_by", f"sort_by must be one of {', '.join(sortable)}")
        if self.sort_direction not in ("asc", "desc"):
            errors.add("sort_direction", "sort_direction must be asc or desc")
        if self.cursor is not None and self.sort_by in sortable and self.sort_direction in ("asc", "desc"):
            for message in self._cursor_errors():
                errors.add("cursor", message)
        errors.raise_if_any("the list query is not valid")

    def _cursor_errors(self) -> list[str]:
        if self.offset:
            return ["send a cursor or an offset, not both"]
        try:
            cursor = Cursor.decode(self.cursor)  # type: ignore[arg-type]
        except ValueError:
            return [CURSOR_NOT_VALID]
        if (cursor.sort_by, cursor.descending) != (self.sort_by, self.descending):
            return ["cursor belongs to another order: send the same sort_by and sort_direction as for its page"]
        return []

    @property
    def after(self) -> Cursor | None:
        """The cursor this page starts after (``check`` has made sure it is valid)."""
        return None if self.cursor is None else Cursor.decode(self.cursor)

    @property
    def descending(self) -> bool:
        return self.sort_direction == "desc"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None
    """Where the next page starts (None: this is the last page)."""
    total_is_estimate: bool = False
    """Whether ``total`` is an estimate (a long list: see EXACT_TOTAL_UP_TO)."""

    @property
    def first_shown(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_shown(self) -> int:
        return min(self.offset + len(self.items), self.total)

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        if self.total_is_estimate:  # the total is not to be trusted to the row: the cursor is
            return self.offset + self.limit if self.next_cursor is not None else None
        return self.offset + self.limit if self.offset + self.limit < self.total else None
