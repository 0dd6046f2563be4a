"""Pages in the database: a cursor walks a list exactly as offsets do (every order, both
directions, ties and NULLs included), a long list's total is capped or estimated, and a
bad cursor is a 400 that names it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loadbalancers import models
from loadbalancers.application.payloads import LoadBalancerQuery
from portal.kernel.pagination import Cursor
from tests.factories import LoadBalancerRowFactory, ServerFactory, TeamFactory, UserFactory, personal_team

pytestmark = pytest.mark.django_db

SOME_ID = "6c231095-d6d9-4488-8b1f-f47ce381989b"
STATUSES = ("ACTIVE", "ERROR", "ACTIVE", "PENDING_UPDATE", "DELETED")


@pytest.fixture
def rows(staff):
    """23 load balancers with many ties (status, port, provider, created_at pairs) and
    some without a VIP address."""
    user = UserFactory(username="owner")
    base = timezone.now() - timedelta(days=1)
    made = []
    for i in range(23):
        made.append(
            LoadBalancerRowFactory(
                name=f"lb-{(i * 7) % 23:02d}",
                created_by=user,
                provisioning_status=STATUSES[i % 5],
                operating_status=("ONLINE", "OFFLINE")[i % 2],
                listener_port=(80, 443, 8080)[i % 3],
                vip_address=None if i % 5 == 0 else f"198.51.100.{i % 7}",
            )
        )
    # Ties in created_at: pairs of rows made at the same instant.
    for i, lb in enumerate(made):
        models.LoadBalancer.objects.filter(pk=lb.pk).update(created_at=base + timedelta(seconds=i // 2))
    return made


def key(item):
    return item["id"] if "id" in item else item["slug"]


def walk(api, path, limit, **params):
    """Every item id, page after page, following next_cursor."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    answer = api.get(f"{path}?limit={limit}&{query}").json()
    seen = [key(item) for item in answer["items"]]
    pages = 1
    while answer["next_cursor"] is not None:
        answer = api.get(f"{path}?limit={limit}&{query}&cursor={answer['next_cursor']}").json()
        seen += [key(item) for item in answer["items"]]
        pages += 1
        assert pages < 100
    return seen


def by_offset(api, path, limit, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    seen, offset = [], 0
    while True:
        answer = api.get(f"{path}?limit={limit}&offset={offset}&{query}").json()
        seen += [key(item) for item in answer["items"]]
        if not answer["items"]:
            return seen, answer["total"]
        offset += limit


@pytest.mark.parametrize("sort_by", LoadBalancerQuery.SORTABLE)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_cursor_walks_the_load_balancers_as_offsets_do(staff_api, rows, sort_by, direction):
    offsets, total = by_offset(staff_api, "/api/v1/load-balancers/", 4, sort_by=sort_by, sort_direction=direction)

    cursors = walk(staff_api, "/api/v1/load-balancers/", 4, sort_by=sort_by, sort_direction=direction)

    assert cursors == offsets
    assert len(cursors) == len(set(cursors)) == total == 19  # the 4 DELETED ones are not listed


def test_the_order_breaks_ties_by_id_in_the_same_direction(staff_api, rows):
    items = staff_api.get("/api/v1/load-balancers/?limit=100&sort_by=listener_port&sort_direction=desc").json()
    keys = [(item["listener_port"], item["id"]) for item in items["items"]]

    assert keys == sorted(keys, reverse=True)


def test_a_cursor_keeps_the_filters_and_search(staff_api, rows):
    offsets, _ = by_offset(staff_api, "/api/v1/load-balancers/", 2, provisioning_status="ACTIVE", search="lb-1")

    assert walk(staff_api, "/api/v1/load-balancers/", 2, provisioning_status="ACTIVE", search="lb-1") == offsets
    assert offsets


def test_the_servers_audit_and_teams_lists_take_cursors_too(staff_api, rows):
    ServerFactory.create_batch(7)
    for i in range(6):
        TeamFactory(slug=f"paged-{i}")
    for path, sort_by in (("/api/v1/servers/", "status"), ("/api/v1/teams/", "created_at"), ("/api/v1/audit/", "id")):
        offsets, total = by_offset(staff_api, path, 3, sort_by=sort_by, sort_direction="desc")
        assert walk(staff_api, path, 3, sort_by=sort_by, sort_direction="desc") == offsets, path
        assert len(offsets) == total, path


def test_the_last_page_has_no_next_cursor_and_a_full_page_has_one(staff_api, rows):
    whole = staff_api.get("/api/v1/load-balancers/?limit=19").json()
    first = staff_api.get("/api/v1/load-balancers/?limit=18").json()

    assert whole["next_cursor"] is None
    assert whole["total"] == first["total"] == 19
    assert first["next_cursor"] is not None
    last = staff_api.get(f"/api/v1/load-balancers/?limit=18&cursor={first['next_cursor']}").json()
    assert [item["id"] for item in last["items"]] == [whole["items"][-1]["id"]]
    assert (last["next_cursor"], last["total"], last["offset"]) == (None, 19, 0)


class TestBadCursors:
    def answer(self, api, query):
        response = api.get(f"/api/v1/load-balancers/?{query}")
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["error"] == "ValidationError"
        return body["details"]["cursor"][0]

    @pytest.mark.parametrize(
        ("cursor", "sort_by"),
        [
            ("garbage", "created_at"),
            ("%00", "created_at"),
            ("W10", "created_at"),  # []
            ("x" * 2000, "created_at"),
            (Cursor("created_at", True, "not a time", "x").encode(), "created_at"),
            (Cursor("created_at", True, "2026-01-01T00:00:00+00:00", "not-a-uuid").encode(), "created_at"),
            (
                Cursor("listener_port", False, "eighty", "6c231095-d6d9-4488-8b1f-f47ce381989b").encode(),
                "listener_port",
            ),
        ],
    )
    def test_a_cursor_the_portal_did_not_make_is_refused(self, staff_api, rows, cursor, sort_by):
        direction = "desc" if sort_by == "created_at" else "asc"
        message = self.answer(staff_api, f"cursor={cursor}&sort_by={sort_by}&sort_direction={direction}")

        # The form's own words for a NUL or a length, the portal's for the rest.
        assert "cursor" in message or "Null characters" in message or "at most 1024" in message

    @pytest.mark.parametrize(
        ("cursor", "sort_by"),
        [
            (Cursor("listener_port", False, 2**62, "6c231095-d6d9-4488-8b1f-f47ce381989b").encode(), "listener_port"),
            (
                Cursor("listener_port", False, -(2**63), "6c231095-d6d9-4488-8b1f-f47ce381989b").encode(),
                "listener_port",
            ),
            (Cursor("vip_address", False, "z" * 300, "6c231095-d6d9-4488-8b1f-f47ce381989b").encode(), "vip_address"),
        ],
    )
    def test_an_odd_but_possible_cursor_is_just_a_place_in_the_list(self, staff_api, rows, cursor, sort_by):
        response = staff_api.get(f"/api/v1/load-balancers/?cursor={cursor}&sort_by={sort_by}")

        assert response.status_code == 200, response.content

    def test_a_cursor_and_an_offset_are_refused_together(self, staff_api, rows):
        cursor = staff_api.get("/api/v1/load-balancers/?limit=2").json()["next_cursor"]

        assert self.answer(staff_api, f"cursor={cursor}&offset=2") == "send a cursor or an offset, not both"

    def test_a_cursor_of_another_order_is_refused(self, staff_api, rows):
        cursor = staff_api.get("/api/v1/load-balancers/?limit=2").json()["next_cursor"]

        assert "another order" in self.answer(staff_api, f"cursor={cursor}&sort_by=name")


class TestTotals:
    def test_a_short_list_counts_exactly(self, staff_api, rows):
        answer = staff_api.get("/api/v1/load-balancers/?limit=5").json()

        assert (answer["total"], answer["total_is_estimate"]) == (19, False)

    def test_past_the_cap_postgresql_estimates_and_sqlite_counts(self, staff_api, rows, monkeypatch):
        from django.db import connection

        monkeypatch.setattr("portal.paging.EXACT_TOTAL_UP_TO", 10)
        models.LoadBalancer.objects.filter(provisioning_status="DELETED").delete()
        answer = staff_api.get("/api/v1/load-balancers/?limit=5").json()

        if connection.vendor == "postgresql":
            assert answer["total_is_estimate"] is True
            assert answer["total"] >= 11
        else:
            assert (answer["total"], answer["total_is_estimate"]) == (19, False)
        assert len(answer["items"]) == 5


def test_a_member_s_list_is_their_teams_and_pages_the_same(alice_api, alice, rows):
    team = personal_team(alice)
    for i in range(7):
        LoadBalancerRowFactory(name=f"alice-{i}", created_by=alice, team=team)

    ids = walk(alice_api, "/api/v1/load-balancers/", 3)

    assert len(ids) == 7
    assert set(ids) == {str(pk) for pk in models.LoadBalancer.objects.filter(team=team).values_list("pk", flat=True)}
