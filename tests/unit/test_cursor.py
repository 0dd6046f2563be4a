"""Cursors: what a page hands out comes back as it went, and nothing else passes."""

from datetime import UTC, datetime
from uuid import UUID

import pytest

from portal.kernel.errors import ValidationFailed
from portal.kernel.pagination import Cursor, PageRequest


def test_a_cursor_comes_back_as_it_went():
    cursor = Cursor.after("created_at", True, datetime(2026, 11, 26, 1, 2, 3, 4, tzinfo=UTC), UUID(int=7))

    back = Cursor.decode(cursor.encode())

    assert back == cursor
    assert back.value == "2026-11-26T01:02:03.000004+00:00"
    assert back.key == "00000000-0000-0000-0000-000000000007"
    assert "=" not in cursor.encode()


@pytest.mark.parametrize("value", [None, 443, "b", True, 1.5])
def test_any_sort_value_goes_through(value):
    assert Cursor.decode(Cursor.after("x", False, value, 3).encode()).value == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "?",
        "W10",
        "WyJhIiwiYXNjIiwxXQ",
        "WyJhIiwidXAiLDEsMl0",
        "WzEsImFzYyIsMSwyXQ",
        "WyJhIiwiYXNjIiwxLG51bGxd",
        "a" * 2000,
        "WyJhIiwiYXNjIixJbmZpbml0eSwxXQ",  # ["a","asc",Infinity,1]
        "WyJhIiwiYXNjIiwxLDEwMDAwMDAwMDAwMDAwMDAwMDAwMDBd",  # ["a","asc",1,10**21]: no database integer
        "WyJhIiwiYXNjIiwiXHUwMDAwIiwxXQ",  # ["a","asc","\u0000",1]: PostgreSQL refuses NUL
    ],
)
def test_anything_else_is_not_a_cursor(text):
    with pytest.raises(ValueError, match="not a cursor"):
        Cursor.decode(text)


def test_the_request_checks_its_cursor():
    good = Cursor.after("name", False, "a", 1).encode()
    PageRequest(sort_by="name", cursor=good).check(("name",))

    with pytest.raises(ValidationFailed) as both:
        PageRequest(sort_by="name", offset=5, cursor=good).check(("name",))
    with pytest.raises(ValidationFailed) as other_order:
        PageRequest(sort_by="name", sort_direction="desc", cursor=good).check(("name",))
    with pytest.raises(ValidationFailed) as bad:
        PageRequest(sort_by="name", cursor="nope").check(("name",))

    assert both.value.details == {"cursor": ["send a cursor or an offset, not both"]}
    assert "another order" in other_order.value.details["cursor"][0]
    assert "not valid" in bad.value.details["cursor"][0]


def test_a_bad_sort_is_reported_without_judging_the_cursor():
    with pytest.raises(ValidationFailed) as failed:
        PageRequest(sort_by="nope", cursor="nope").check(("name",))

    assert set(failed.value.details) == {"sort_by"}
