"""List queries and pages, shared by every list in the portal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from portal.kernel.errors import FieldErrors

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 2**53  # far past any table, and safe for every database's integers
# Search texts are bounded (API, pages and admin alike): an unbounded one makes a query
# too big for some databases (SQLite refuses a LIKE pattern over 50,000 bytes).
MAX_SEARCH_LENGTH = 200


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort_by: str = "created_at"
    sort_direction: str = "asc"

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
        errors.raise_if_any("the list query is not valid")

    @property
    def descending(self) -> bool:
        return self.sort_direction == "desc"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

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
        return self.offset + self.limit if self.offset + self.limit < self.total else None
