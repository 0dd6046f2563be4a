"""Pages of any list, in the database, at a cost that does not grow with the list: the
rows in the asked order (by ``limit`` and ``offset``, or after a cursor), one more row
to know whether a next page exists, and a total counted exactly up to
``EXACT_TOTAL_UP_TO`` rows, then estimated by PostgreSQL's planner.

Why a capped count: an exact ``COUNT(*)`` reads every row of the list (a team's 100,000
load balancers on every page view), while nobody needs to know more than "about 100,000"
past the first few thousand.  Lists of up to ``EXACT_TOTAL_UP_TO`` rows, which is nearly
every list, still get the exact figure.  SQLite has no estimate, so it counts exactly."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import F, Q, QuerySet

from portal.kernel.errors import ValidationFailed
from portal.kernel.pagination import CURSOR_NOT_VALID, EXACT_TOTAL_UP_TO, Cursor, Page, PageRequest

T = TypeVar("T")
Row = Any


def ordered(rows: QuerySet, request: PageRequest) -> QuerySet:
    """``rows`` in the request's order, then by id in the same direction (so that every
    row has one place, and a cursor can say where a page ends)."""
    model = rows.model
    field = model._meta.get_field(request.sort_by)
    if field.primary_key:
        return rows.order_by(F("pk").desc() if request.descending else F("pk").asc())
    if request.descending:
        first = F(request.sort_by).desc(nulls_first=True) if field.null else F(request.sort_by).desc()
        return rows.order_by(first, F("pk").desc())
    first = F(request.sort_by).asc(nulls_last=True) if field.null else F(request.sort_by).asc()
    return rows.order_by(first, F("pk").asc())


def page_of(
    rows: QuerySet,
    request: PageRequest,
    items: Callable[[Sequence[Row]], list[T]],
    *,
    count: QuerySet | None = None,
) -> Page[T]:
    """One page of ``rows`` (a filtered QuerySet, of models or ``.values()``, which must
    carry the sort field and the primary key).  ``items`` turns the page's rows into the
    page's items; ``count`` is the same list without the columns the page shows, for the
    total (default: ``rows``)."""
    after = request.after
    listed = ordered(rows, request)
    if after is not None:
        listed = listed.filter(_after(rows.model, after))
        start = 0
    else:
        start = request.offset
    found = list(listed[start : start + request.limit + 1])
    more = len(found) > request.limit
    shown = found[: request.limit]
    next_cursor = None
    if more and shown:
        last = shown[-1]
        pk_name = rows.model._meta.pk.attname
        next_cursor = Cursor.after(
            request.sort_by, request.descending, _get(last, request.sort_by), _get(last, pk_name)
        ).encode()
    counted = count if count is not None else rows
    total, estimated = _total(counted, start, len(shown), more) if after is None else _total(counted, None, 0, True)
    return Page(
        items=items(shown),
        total=total,
        limit=request.limit,
        offset=request.offset,
        next_cursor=next_cursor,
        total_is_estimate=estimated,
    )


def _get(row: Row, name: str) -> object:
    if isinstance(row, dict):
        return row[name]
    return getattr(row, name)


def _after(model: Any, cursor: Cursor) -> Q:
    """The rows after the cursor's in its order (NULLs last going up, first going down,
    as ``ordered`` puts them).  Written as a range on the sort field, so that an index
    on (scope, field, id) starts right there."""
    field = model._meta.get_field(cursor.sort_by)
    pk = model._meta.pk
    try:
        key = pk.to_python(cursor.key)
        value = None if cursor.value is None else field.to_python(cursor.value)
    except (ValidationError, TypeError, ValueError, OverflowError):
        message = f"the list query is not valid: {CURSOR_NOT_VALID}"
        raise ValidationFailed(message, details={"cursor": [CURSOR_NOT_VALID]}) from None
    name = cursor.sort_by
    if field.primary_key:
        return Q(pk__lt=key) if cursor.descending else Q(pk__gt=key)
    if cursor.descending:
        if value is None:
            return Q(**{f"{name}__isnull": True, "pk__lt": key}) | Q(**{f"{name}__isnull": False})
        return Q(**{f"{name}__lte": value}) & (Q(**{f"{name}__lt": value}) | Q(pk__lt=key))
    if value is None:
        return Q(**{f"{name}__isnull": True, "pk__gt": key})
    after = Q(**{f"{name}__gte": value}) & (Q(**{f"{name}__gt": value}) | Q(pk__gt=key))
    return after | Q(**{f"{name}__isnull": True}) if field.null else after


def _total(rows: QuerySet, start: int | None, shown: int, more: bool) -> tuple[int, bool]:
    """The list's length, and whether it is an estimate.  ``start``: the page's offset
    (None: it starts after a cursor, so it tells nothing of the rows before it)."""
    if start is not None and not more and (start == 0 or shown):
        return start + shown, False  # the last page: everything before it, and itself
    # Only the ids: an index holding the list's filter columns then answers it alone.
    counted = rows.order_by().values("pk")[: EXACT_TOTAL_UP_TO + 1].count()
    if counted <= EXACT_TOTAL_UP_TO:
        return counted, False
    estimate = _estimate(rows)
    if estimate is None:
        return rows.order_by().count(), False
    return max(estimate, EXACT_TOTAL_UP_TO + 1, (start or 0) + shown + (1 if more else 0)), True


def _estimate(rows: QuerySet) -> int | None:
    """PostgreSQL's planner's estimate of how many rows the list has (None elsewhere)."""
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = rows.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
