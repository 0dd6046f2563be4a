"""The benchmark's floor (bench/floor) answers the same JSON as the portal's API, so that
``bench/api.py`` compares the portal with a floor that does the same work.  When the
portal's bodies change, these tests fail until the floor follows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import Membership
from loadbalancers import models
from tests.conftest import token_for
from tests.factories import (
    LoadBalancerRowFactory,
    ServerFactory,
    TeamFactory,
    UserFactory,
    grant_operations,
    personal_team,
)

pytestmark = pytest.mark.django_db

PORTAL, FLOOR = "config.urls", "bench.floor.urls"
LIST = "/api/v1/load-balancers/"


@pytest.fixture
def world() -> dict[str, Any]:
    """Carol's two teams' load balancers (one DELETED, two made at the same instant),
    with members (one server DOWN and drained), tags, a health monitor, open and resolved
    drift; and Dave's, which Carol does not see."""
    carol, dave = UserFactory(username="carol"), UserFactory(username="dave")
    shared = TeamFactory(slug="shared")
    Membership.objects.create(team=shared, user=carol, role="viewer")
    ok = ServerFactory.create_batch(4)
    down = ServerFactory(status="DOWN")
    start = timezone.now() - timedelta(days=1)
    rows = []
    for n in range(7):
        lb = LoadBalancerRowFactory(created_by=carol, team=personal_team(carol) if n % 3 else shared)
        rows.append(lb)
        when = start + timedelta(minutes=min(n, 5))  # the last two at the same instant: ordered by id
        models.LoadBalancer.objects.filter(pk=lb.pk).update(created_at=when, updated_at=when + timedelta(seconds=n))
        for position, server in enumerate(ok[: 1 + n % 4]):
            models.Member.objects.create(load_balancer=lb, server=server, position=position, weight=n % 3)
    first, second = rows[1], rows[2]
    models.Member.objects.create(
        load_balancer=first,
        server=down,
        position=9,
        admin_state="drain",
        operating_status="ERROR",
        status_reason="connection refused",
        drained_by_inventory=True,
    )
    models.Tag.objects.bulk_create([models.Tag(load_balancer=first, value=v) for v in ("web", "env=prod", "a")])
    models.LoadBalancer.objects.filter(pk=first.pk).update(
        health_monitor={"type": "HTTP", "delay": 5, "timeout": 3, "http_path": "/up", "expected_codes": "200"},
        vip_address="198.51.100.7",
        deletion_protection=True,
        description="the web tier",
    )
    models.LoadBalancer.objects.filter(pk=second.pk).update(error_reason="the provider said no", vip_address=None)
    now = timezone.now()
    models.Drift.objects.create(
        load_balancer=first,
        field="algorithm",
        desired="ROUND_ROBIN",
        actual="SOURCE_IP",
        first_seen_at=now,
        last_seen_at=now,
    )
    models.Drift.objects.create(
        load_balancer=first,
        field="listener_port",
        desired=80,
        actual={"port": 81},
        first_seen_at=now - timedelta(hours=1),
        last_seen_at=now.replace(microsecond=0),
    )
    models.Drift.objects.create(
        load_balancer=first,
        field="health_monitor",
        desired=None,
        actual=None,
        first_seen_at=now,
        last_seen_at=now,
        resolved_at=now,
    )
    LoadBalancerRowFactory(created_by=carol, team=personal_team(carol), provisioning_status="DELETED")
    hidden = LoadBalancerRowFactory(created_by=dave)
    return {"carol": carol, "dave": dave, "first": first, "hidden": hidden, "servers": ok, "down": down}


def both(path: str, user: Any, method: str = "get", **body: Any) -> tuple[Any, Any]:
    """(portal's, floor's) answers to the same request by ``user``'s token."""
    key = token_for(user)
    answers = []
    for urls in (PORTAL, FLOOR):
        client = Client(HTTP_AUTHORIZATION=f"Token {key}")
        with override_settings(ROOT_URLCONF=urls):
            if method == "post":
                answers.append(client.post(path, body, content_type="application/json"))
            else:
                answers.append(client.get(path))
    return answers[0], answers[1]


def same(path: str, user: Any, status: int = 200) -> dict[str, Any]:
    portal, floor = both(path, user)
    assert (portal.status_code, floor.status_code) == (status, status), (portal.content[:300], floor.content[:300])
    assert floor.json() == portal.json()
    return portal.json()


@pytest.mark.parametrize(
    ("query", "shown", "cursor"),
    [
        ("", 7, False),  # the whole list: no count
        ("?limit=3", 3, True),  # more follow: counted, a cursor
        ("?limit=3&offset=3", 3, True),
        ("?limit=3&offset=6", 1, False),  # the last page
        ("?limit=2&offset=50", 0, False),  # past the end: counted
    ],
)
def test_a_list_page_is_the_portals(world, query, shown, cursor):
    page = same(LIST + query, world["carol"])

    assert len(page["items"]) == shown
    assert page["total"] == 7  # neither the DELETED one nor Dave's
    assert (page.get("next_cursor") is not None) == cursor


def test_the_list_shows_members_notices_tags_monitor_and_open_drift_as_the_portal_does(world):
    page = same(LIST, world["carol"])

    item = next(i for i in page["items"] if i["id"] == str(world["first"].pk))
    drained = "it is drained until operations set the server OK again"
    assert item["notices"] == [f"member {world['down'].name} is in DOWN in the inventory: {drained}"]
    assert item["tags"] == ["a", "env=prod", "web"]
    assert item["health_monitor"]["type"] == "HTTP"
    assert [d["field"] for d in item["drift"]] == ["algorithm", "listener_port"]


def test_staff_with_the_admins_permission_see_every_team_as_in_the_portal(world):
    ops = grant_operations(UserFactory(username="ops", is_staff=True), codenames=("view",))

    page = same(LIST + "?limit=4", ops)

    assert page["total"] == 8  # Dave's too


def test_a_detail_is_the_portals(world):
    body = same(f"{LIST}{world['first'].pk}/", world["carol"])

    assert body["id"] == str(world["first"].pk)


@pytest.mark.parametrize("which", ["hidden", "missing", "not-an-id"])
def test_a_load_balancer_the_caller_may_not_see_is_the_same_404(world, which):
    lb_id = {"hidden": world["hidden"].pk, "missing": "00000000-0000-0000-0000-000000000000", "not-an-id": "nope"}
    same(f"{LIST}{lb_id[which]}/", world["carol"], status=404)


def test_without_a_token_both_answer_the_same_401(world):
    for urls in (PORTAL, FLOOR):
        with override_settings(ROOT_URLCONF=urls):
            answer = Client().get(LIST)
        assert answer.status_code == 401
        assert answer.json() == {
            "error": "NotAuthenticated",
            "message": "Authentication credentials were not provided.",
            "details": {},
        }


def test_a_create_answers_the_record_as_the_portal_does(world):
    servers = [s.pk for s in world["servers"][:3]]
    key = token_for(world["carol"])
    answers = []
    for urls, name in ((PORTAL, "made-by-portal"), (FLOOR, "made-by-floor")):
        with override_settings(ROOT_URLCONF=urls):
            client = Client(HTTP_AUTHORIZATION=f"Token {key}")
            answers.append(client.post(LIST, {"name": name, "servers": servers}, content_type="application/json"))
    portal, floor = answers

    assert (portal.status_code, floor.status_code) == (202, 202), (portal.content[:300], floor.content[:300])
    made = {"id", "url", "name", "created_at", "updated_at"}
    assert {k: v for k, v in floor.json().items() if k not in made} == {
        k: v for k, v in portal.json().items() if k not in made
    }
    assert floor["Location"].endswith(f"{LIST}{floor.json()['id']}/")
    assert (floor.json()["url"], portal.json()["url"]) == (floor["Location"], portal["Location"])
    # What the floor stored reads back as it answered, through the portal.
    with override_settings(ROOT_URLCONF=PORTAL):
        stored = Client(HTTP_AUTHORIZATION=f"Token {key}").get(floor["Location"])
    assert stored.json() == floor.json()


def test_a_create_with_a_server_not_ok_or_a_taken_name_is_refused_by_the_floor(world):
    key = token_for(world["carol"])
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    with override_settings(ROOT_URLCONF=FLOOR):
        down = client.post(LIST, {"name": "x1", "servers": [world["down"].pk]}, content_type="application/json")
        client.post(LIST, {"name": "x2", "servers": [world["servers"][0].pk]}, content_type="application/json")
        taken = client.post(LIST, {"name": "x2", "servers": [world["servers"][0].pk]}, content_type="application/json")
        bad = client.post(LIST, {"name": "Not A Name", "servers": "1"}, content_type="application/json")

    assert (down.status_code, taken.status_code, bad.status_code) == (400, 409, 400)
    assert set(bad.json()["details"]) == {"name", "servers"}
    assert not models.LoadBalancer.objects.filter(name="x1").exists()
