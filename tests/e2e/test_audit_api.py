"""The audit trail through HTTP, with the real app and its real subscribers: every change
made through the API, the pages or the admin is recorded with who, from where and in
which request; the API lists it scoped to your teams (and your own actions), filtered
and paged, never failing on odd input; the admin shows it read only and as each
record's History; the load balancer page shows its History too."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from uuid import UUID

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Membership
from audit import models as audit_models
from audit.adapters.repositories import DjangoAuditRepository
from audit.domain.model import AuditEntry
from loadbalancers import bootstrap as lb_bootstrap
from portal.kernel.pagination import MAX_SEARCH_LENGTH
from tests.e2e.test_accounts_admin import team_form
from tests.factories import (
    LoadBalancerRowFactory,
    ServerFactory,
    TeamFactory,
    UserFactory,
    add_member,
    grant_operations,
    personal_team,
)

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit/"
AUDIT_ADMIN = "/admin/audit/auditentry/"
GENERATED = re.compile(r"[0-9a-f]{32}")


def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    """Signed in without a token (making one would be an entry of its own)."""
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def web(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(response.content.decode().split())


def create_lb(client, name: str, servers, team: str | None = None, **headers) -> dict:  # type: ignore[no-untyped-def]
    body = {"name": name, "servers": [s.pk for s in servers], **({"team": team} if team else {})}
    response = client.post("/api/v1/load-balancers/", body, format="json", headers=headers)
    assert response.status_code == 202, response.json()
    return response.json()


def entries_about(target_type: str, target_id: object) -> list[audit_models.AuditEntry]:
    """What the trail holds about one record, oldest first."""
    return list(
        audit_models.AuditEntry.objects.filter(target_type=target_type, target_id=str(target_id)).order_by("id")
    )


def listed(client, **query) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(AUDIT, query)
    assert response.status_code == 200, response.json()
    return response.json()


def shown(html: str) -> str:
    """What a person reads of some HTML: its text, without tags, whitespace folded."""
    return " ".join(unescape(re.sub(r"<[^>]*>", " ", html)).split())


def admin_history(client, url: str) -> str:  # type: ignore[no-untyped-def]
    """What the entries part of a record's History page in the admin says."""
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    return shown(page[page.index('id="change-history"') :])


def assert_error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"]
    assert body["message"]
    return body


# -- who, from where, in which request ---------------------------------------------------------------


class TestRequestIds:
    def test_a_change_through_the_api_is_recorded_with_the_request_id_the_proxy_gave(self, alice, ok_servers):
        response = api(alice).post(
            "/api/v1/load-balancers/",
            {"name": "shop", "servers": [ok_servers[0].pk]},
            format="json",
            headers={"X-Request-ID": "abc-123"},
        )

        assert response.status_code == 202, response.json()
        assert response["X-Request-ID"] == "abc-123"
        lb = response.json()
        [entry] = entries_about("load_balancer", lb["id"])
        assert (entry.action, entry.request_id, entry.source) == ("load_balancer.create_requested", "abc-123", "api")
        assert (entry.actor, entry.actor_id, entry.team_id) == ("alice", alice.pk, personal_team(alice).pk)
        [shown] = listed(api(alice), target_type="load_balancer", target_id=lb["id"])["items"]
        assert shown["request_id"] == "abc-123"
        assert (shown["actor"], shown["actor_id"], shown["source"], shown["team"]) == (
            "alice",
            alice.pk,
            "api",
            "alice",
        )
        assert shown["target"] == {"type": "load_balancer", "id": lb["id"], "name": "shop"}
        assert shown["message"] == "requested load balancer shop"

    @pytest.mark.parametrize(
        "given", ["abc 123", "x" * 200, "abc/123", "<script>"], ids=["spaces", "long", "slash", "tag"]
    )
    def test_a_malformed_request_id_is_replaced_by_a_generated_one(self, alice, ok_servers, given):
        response = api(alice).post(
            "/api/v1/load-balancers/",
            {"name": "shop", "servers": [ok_servers[0].pk]},
            format="json",
            headers={"X-Request-ID": given},
        )

        assert response.status_code == 202, response.json()
        generated = response["X-Request-ID"]
        assert GENERATED.fullmatch(generated), generated
        [entry] = entries_about("load_balancer", response.json()["id"])
        assert entry.request_id == generated

    def test_a_request_without_an_id_gets_a_generated_one_and_each_request_its_own(self, alice):
        first, second = api(alice).get(AUDIT), api(alice).get(AUDIT)

        assert GENERATED.fullmatch(first["X-Request-ID"])
        assert GENERATED.fullmatch(second["X-Request-ID"])
        assert first["X-Request-ID"] != second["X-Request-ID"]

    def test_a_change_through_a_page_is_recorded_as_from_the_pages(self, alice, bob):
        response = web(alice).post("/teams/alice/members/add/", {"username": "bob", "role": "viewer"})

        assert response.status_code == 302
        [entry] = entries_about("team", personal_team(alice).pk)
        assert (entry.action, entry.source, entry.actor, entry.actor_id) == (
            "team.member_added",
            "page",
            "alice",
            alice.pk,
        )
        assert entry.request_id == response["X-Request-ID"]
        assert entry.team_id == personal_team(alice).pk

    def test_a_load_balancer_changed_through_its_edit_page_is_recorded_as_from_the_pages(self, alice, ok_servers):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)

        response = web(alice).post(
            f"/load-balancers/{lb.pk}/edit/",
            {"servers": [ok_servers[1].pk], "algorithm": "ROUND_ROBIN", "description": "new", "version": lb.version},
        )

        assert response.status_code == 302, text(response)
        [entry] = entries_about("load_balancer", lb.pk)
        assert (entry.action, entry.source, entry.actor) == ("load_balancer.update_requested", "page", "alice")
        assert entry.request_id == response["X-Request-ID"]
        assert {"field": "description", "before": "", "after": "new"} in entry.changes

    def test_a_server_marked_down_in_the_admin_is_recorded_as_from_the_admin(self, ops_web):
        server = ServerFactory(name="web-down")

        response = ops_web.post("/admin/servers/server/", {"action": "mark_down", "_selected_action": [server.pk]})

        assert response.status_code == 302
        [entry] = entries_about("server", server.pk)
        assert (entry.action, entry.source, entry.actor) == ("server.status_changed", "admin", "root")
        assert entry.message == "server web-down is now DOWN (was OK)"
        assert entry.request_id == response["X-Request-ID"]

    def test_a_member_added_in_the_team_admin_is_recorded_as_from_the_admin(self, ops_web, alice, bob):
        team = personal_team(alice)
        members = list(team.memberships.all())
        extra = len(members)

        response = ops_web.post(
            f"/admin/accounts/team/{team.pk}/change/",
            team_form(
                team, members, **{f"memberships-{extra}-user": str(bob.pk), f"memberships-{extra}-role": "member"}
            ),
        )

        assert response.status_code == 302, text(response)
        assert Membership.objects.filter(team=team, user=bob, role="member").exists()
        [entry] = entries_about("team", team.pk)
        assert (entry.action, entry.source, entry.actor) == ("team.member_added", "admin", "root")
        assert entry.request_id == response["X-Request-ID"]


# -- who sees what --------------------------------------------------------------------------------------


@pytest.fixture
def world(alice, bob, staff, ok_servers):  # type: ignore[no-untyped-def]
    """alice's team has carol too; ops (staff without the permission to view the trail)
    adds dave to it; alice also acted in a team she has left since; bob is alone."""
    carol = add_member(personal_team(alice), UserFactory(username="carol", personal_team=False), "member")
    UserFactory(username="dave", personal_team=False)
    shared = TeamFactory(slug="shared")
    add_member(shared, alice, "member")
    create_lb(api(alice), "alice-lb", ok_servers, team="alice")
    create_lb(api(carol), "carol-lb", ok_servers, team="alice")
    create_lb(api(bob), "bob-lb", ok_servers)
    create_lb(api(staff), "ops-lb", ok_servers, team="ops")
    added = api(staff).post("/api/v1/teams/alice/members/", {"username": "dave", "role": "viewer"}, format="json")
    assert added.status_code in (200, 201), added.json()
    create_lb(api(alice), "shared-lb", ok_servers, team="shared")
    Membership.objects.filter(team=shared, user=alice).delete()
    return {"alice": alice, "bob": bob, "ops": staff, "carol": carol}


def seen(client) -> set[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    page = listed(client, limit=1000)
    assert page["total"] == len(page["items"])
    found = [
        (e["actor"], e["action"], e["target"]["name"] if e["target"]["type"] == "load_balancer" else e["team"])
        for e in page["items"]
    ]
    assert len(set(found)) == len(found), found  # each entry once
    return set(found)


ALICE_LB = ("alice", "load_balancer.create_requested", "alice-lb")
CAROL_LB = ("carol", "load_balancer.create_requested", "carol-lb")
BOB_LB = ("bob", "load_balancer.create_requested", "bob-lb")
OPS_LB = ("ops", "load_balancer.create_requested", "ops-lb")
OPS_ADDS_DAVE = ("ops", "team.member_added", "alice")
SHARED_LB = ("alice", "load_balancer.create_requested", "shared-lb")
EVERYTHING = {ALICE_LB, CAROL_LB, BOB_LB, OPS_LB, OPS_ADDS_DAVE, SHARED_LB}


class TestScope:
    def test_alice_sees_her_teams_entries_whoever_made_them_and_her_own_actions(self, world):
        assert seen(api(world["alice"])) == {ALICE_LB, CAROL_LB, OPS_ADDS_DAVE, SHARED_LB}

    def test_bob_sees_only_his_own_teams_entries(self, world):
        assert seen(api(world["bob"])) == {BOB_LB}

    def test_staff_without_the_permission_to_view_the_trail_see_their_teams_and_own_actions_only(self, world):
        assert seen(api(world["ops"])) == {OPS_LB, OPS_ADDS_DAVE}

    def test_staff_with_the_permission_to_view_the_trail_see_all_of_it(self, world):
        ops = world["ops"]
        ops.user_permissions.add(Permission.objects.get(codename="view_auditentry"))

        assert seen(api(type(ops).objects.get(pk=ops.pk))) == EVERYTHING

    def test_a_superuser_sees_all_of_it(self, world):
        assert seen(api(UserFactory(username="root", is_staff=True, is_superuser=True))) == EVERYTHING

    def test_an_entry_of_another_team_is_not_found_and_looks_like_one_that_does_not_exist(self, world):
        alices = audit_models.AuditEntry.objects.get(target_name="alice-lb")
        missing = audit_models.AuditEntry.objects.order_by("-id").first().pk + 1000

        refused = assert_error(api(world["bob"]).get(f"{AUDIT}{alices.pk}/"), 404)
        absent = assert_error(api(world["bob"]).get(f"{AUDIT}{missing}/"), 404)

        assert refused["error"] == absent["error"]
        assert "alice" not in refused["message"]
        assert api(world["alice"]).get(f"{AUDIT}{alices.pk}/").json()["target"]["name"] == "alice-lb"
        carols = audit_models.AuditEntry.objects.get(target_name="carol-lb")
        assert api(world["alice"]).get(f"{AUDIT}{carols.pk}/").status_code == 200
        shared = audit_models.AuditEntry.objects.get(target_name="shared-lb")
        assert api(world["alice"]).get(f"{AUDIT}{shared.pk}/").status_code == 200  # her own action
        assert api(world["carol"]).get(f"{AUDIT}{shared.pk}/").status_code == 404

    def test_filtering_by_a_team_one_is_not_in_shows_nothing(self, world):
        page = listed(api(world["bob"]), team="alice")

        assert (page["items"], page["total"]) == ([], 0)

    def test_without_credentials_the_trail_answers_401(self, world):
        entry = audit_models.AuditEntry.objects.first()

        assert_error(APIClient().get(AUDIT), 401)
        assert_error(APIClient().get(f"{AUDIT}{entry.pk}/"), 401)


# -- filters, order, pages, odd input ---------------------------------------------------------------------

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def seeded(alice, bob):  # type: ignore[no-untyped-def]
    """Six entries an hour apart, oldest first; their ids."""
    alice_team, bob_team = personal_team(alice).pk, personal_team(bob).pk
    rows = [
        ("alice", alice.pk, "api", alice_team, "load_balancer", "lb-1", "load_balancer.create_requested", "shop"),
        ("alice", alice.pk, "page", alice_team, "load_balancer", "lb-1", "load_balancer.update_requested", "shop"),
        ("system", None, "worker", alice_team, "load_balancer", "lb-1", "load_balancer.active", "shop"),
        ("root", 99, "admin", None, "server", "7", "server.status_changed", "web-7 is now DOWN"),
        ("bob", bob.pk, "api", bob_team, "load_balancer", "lb-2", "load_balancer.create_requested", "cart"),
        ("root", 99, "admin", None, "server", "8", "server.status_changed", "web-8 is now OK"),
    ]
    repository = DjangoAuditRepository()
    return [
        repository.create_one(
            AuditEntry(
                at=T0 + timedelta(hours=n),
                actor_id=actor_id,
                actor=actor,
                source=source,
                request_id=f"req-{n}",
                team_id=team_id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                target_name=name,
                message=f"{action} {name}",
            )
        ).id
        for n, (actor, actor_id, source, team_id, target_type, target_id, action, name) in enumerate(rows)
    ]


@pytest.fixture
def root_api(db) -> APIClient:  # type: ignore[no-untyped-def]
    return api(UserFactory(username="root", is_staff=True, is_superuser=True))


def ids(page: dict) -> list[int]:
    return [e["id"] for e in page["items"]]


class TestFilters:
    def test_the_trail_is_newest_first_with_its_total(self, root_api, seeded):
        page = listed(root_api)

        assert ids(page) == seeded[::-1]
        assert (page["total"], page["offset"]) == (6, 0)

    def test_oldest_first_on_request(self, root_api, seeded):
        assert ids(listed(root_api, sort_direction="asc")) == seeded

    def test_pages_of_the_trail(self, root_api, seeded):
        page = listed(root_api, limit=2, offset=1)

        assert ids(page) == seeded[::-1][1:3]
        assert (page["total"], page["limit"], page["offset"]) == (6, 2, 1)
        assert ids(listed(root_api, limit=2, offset=6)) == []

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"actor": "alice"}, [0, 1]),
            ({"actor": "system"}, [2]),
            ({"team": "alice"}, [0, 1, 2]),
            ({"team": "bob"}, [4]),
            ({"team": "nobody"}, []),
            ({"target_type": "server"}, [3, 5]),
            ({"target_type": "load_balancer", "target_id": "lb-1"}, [0, 1, 2]),
            ({"target_id": "7"}, [3]),
            ({"action": "load_balancer.create_requested"}, [0, 4]),
            ({"source": "admin"}, [3, 5]),
            ({"source": "worker"}, [2]),
            ({"since": "2026-11-01T10:00:00Z"}, [2, 3, 4, 5]),
            ({"until": "2026-11-01T10:00:00Z"}, [0, 1]),
            ({"since": "2026-11-01T09:00:00Z", "until": "2026-11-01T11:00:00Z"}, [1, 2]),
            ({"search": "down"}, [3]),
            ({"search": "SHOP", "actor": "alice", "source": "page"}, [1]),
        ],
        ids=lambda value: "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None,
    )
    def test_filters(self, root_api, seeded, query, expected):
        page = listed(root_api, **query)

        assert ids(page) == [seeded[n] for n in reversed(expected)]
        assert page["total"] == len(expected)

    def test_an_entry_in_full(self, root_api, seeded, alice):
        entry = root_api.get(f"{AUDIT}{seeded[1]}/").json()

        assert entry == {
            "id": seeded[1],
            "at": "2026-11-01T09:00:00Z",
            "actor": "alice",
            "actor_id": alice.pk,
            "source": "page",
            "request_id": "req-1",
            "team": "alice",
            "team_id": personal_team(alice).pk,
            "action": "load_balancer.update_requested",
            "target": {"type": "load_balancer", "id": "lb-1", "name": "shop"},
            "message": "load_balancer.update_requested shop",
            "changes": [],
        }

    @pytest.mark.parametrize(
        "query",
        [
            {"limit": "0"},
            {"limit": "abc"},
            {"limit": "1001"},
            {"limit": "-1"},
            {"offset": "-1"},
            {"offset": "abc"},
            {"offset": str(2**70)},
            {"limit": str(2**70)},
            {"source": "nope"},
            {"since": "notadate"},
            {"until": "2026-13-01"},
            {"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
            {"search": "x" * (MAX_SEARCH_LENGTH + 1)},
            {"search": "a\x00b"},
            {"actor": "a\x00b"},
            {"team": "a\x00b"},
            {"actor": "x" * 151},
            {"target_id": "x" * 201},
            {"sort_by": "message"},
            {"sort_direction": "up"},
        ],
        ids=lambda query: "&".join(f"{k}={v[:12]!r}" for k, v in query.items()),
    )
    def test_a_bad_parameter_is_a_400_naming_it(self, root_api, seeded, query):
        body = assert_error(root_api.get(AUDIT, query), 400)

        assert set(body["details"]) & set(query), body

    @pytest.mark.parametrize("entry_id", ["abc", "0", "-1", "99999999999999999999", str(2**63), "1.5", "%00"])
    def test_a_bad_or_unknown_id_is_a_404(self, root_api, seeded, entry_id):
        assert_error(root_api.get(f"{AUDIT}{entry_id}/"), 404)

    def test_only_reading_is_allowed(self, root_api, seeded):
        for method in (root_api.post, root_api.put, root_api.patch):
            assert_error(method(AUDIT if method is root_api.post else f"{AUDIT}{seeded[0]}/", {}, format="json"), 405)
        assert_error(root_api.delete(f"{AUDIT}{seeded[0]}/"), 405)
        assert audit_models.AuditEntry.objects.count() == 6


# -- the admin ------------------------------------------------------------------------------------------------


class TestAdmin:
    def test_the_trail_lists_entries_for_a_superuser_and_offers_no_way_to_add_one(self, ops_web, seeded):
        response = ops_web.get(AUDIT_ADMIN)

        assert response.status_code == 200
        page = text(response)
        assert "server.status_changed web-7 is now DOWN" in page
        assert "load_balancer.create_requested cart" in page
        assert f"{AUDIT_ADMIN}add/" not in page

    def test_entries_cannot_be_added_changed_or_deleted(self, ops_web, seeded):
        entry = seeded[0]

        assert ops_web.get(f"{AUDIT_ADMIN}add/").status_code == 403
        assert ops_web.post(f"{AUDIT_ADMIN}add/", {"actor": "x"}).status_code == 403
        assert ops_web.get(f"{AUDIT_ADMIN}{entry}/change/").status_code == 200  # to read it
        assert ops_web.post(f"{AUDIT_ADMIN}{entry}/change/", {"actor": "mallory", "message": "x"}).status_code == 403
        assert ops_web.get(f"{AUDIT_ADMIN}{entry}/delete/").status_code == 403
        assert ops_web.post(f"{AUDIT_ADMIN}{entry}/delete/", {"post": "yes"}).status_code == 403
        bulk = ops_web.post(AUDIT_ADMIN, {"action": "delete_selected", "_selected_action": [entry], "post": "yes"})
        assert bulk.status_code in (200, 302, 403)
        assert audit_models.AuditEntry.objects.get(pk=entry).actor == "alice"
        assert audit_models.AuditEntry.objects.count() == 6

    def test_search_and_filters_narrow_the_list(self, ops_web, seeded):
        found = text(ops_web.get(AUDIT_ADMIN, {"q": "web-7"}))
        assert "web-7 is now DOWN" in found
        assert "web-8 is now OK" not in found
        assert "create_requested cart" not in found

        by_source = text(ops_web.get(AUDIT_ADMIN, {"source": "admin"}))
        assert "web-7 is now DOWN" in by_source
        assert "web-8 is now OK" in by_source
        assert "create_requested shop" not in by_source

        by_action = text(ops_web.get(AUDIT_ADMIN, {"action": "load_balancer.create_requested"}))
        assert "create_requested shop" in by_action
        assert "create_requested cart" in by_action
        assert "web-7" not in by_action

    def test_odd_admin_queries_are_answered_without_failing(self, ops_web, seeded):
        for query in ({"q": "x" * 1000}, {"q": "a\x00b"}, {"id__gt": "1"}, {"source": "a\x00b"}, {"p": "abc"}):
            assert ops_web.get(AUDIT_ADMIN, query).status_code in (200, 302, 400), query

    def test_staff_need_the_permission_to_view_the_trail(self, seeded):
        ops = grant_operations(UserFactory(username="ops", is_staff=True))
        assert web(ops).get(AUDIT_ADMIN).status_code == 403

        ops.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
        assert web(type(ops).objects.get(pk=ops.pk)).get(AUDIT_ADMIN).status_code == 200

    def test_the_history_of_a_load_balancer_shows_its_entries(self, ops_web, alice, ok_servers):
        lb = create_lb(api(alice), "shop", ok_servers, **{"X-Request-ID": "req-shop"})
        create_lb(api(alice), "other", ok_servers)

        history = admin_history(ops_web, f"/admin/loadbalancers/loadbalancer/{lb['id']}/history/")

        assert "requested load balancer shop" in history
        assert "req-shop" in history
        assert "requested load balancer other" not in history

    def test_the_history_of_a_server_shows_its_entries(self, ops_web):
        server, other = ServerFactory(name="web-a"), ServerFactory(name="web-b")
        ops_web.post("/admin/servers/server/", {"action": "mark_down", "_selected_action": [server.pk, other.pk]})

        history = admin_history(ops_web, f"/admin/servers/server/{server.pk}/history/")

        assert "server web-a is now DOWN (was OK)" in history
        assert "status: OK → DOWN" in history
        assert "web-b" not in history

    def test_the_history_of_a_team_shows_its_entries(self, ops_web, alice, bob):
        web(alice).post("/teams/alice/members/add/", {"username": "bob", "role": "viewer"})
        web(bob).post("/teams/bob/members/add/", {"username": "alice", "role": "viewer"})
        [entry] = entries_about("team", personal_team(alice).pk)
        [others] = entries_about("team", personal_team(bob).pk)

        history = admin_history(ops_web, f"/admin/accounts/team/{personal_team(alice).pk}/history/")

        assert entry.message in history
        assert entry.request_id in history
        assert others.message not in history

    def test_operations_read_the_history_of_the_records_they_may_view(self, staff, alice, ok_servers):
        lb = create_lb(api(alice), "shop", ok_servers)

        history = admin_history(web(staff), f"/admin/loadbalancers/loadbalancer/{lb['id']}/history/")

        assert "requested load balancer shop" in history

    def test_a_history_with_nothing_recorded_says_so(self, ops_web):
        server = ServerFactory()

        assert "Nothing recorded about this server" in admin_history(
            ops_web, f"/admin/servers/server/{server.pk}/history/"
        )


# -- the load balancer's page ---------------------------------------------------------------------------------


class TestLoadBalancerPage:
    def test_its_history_shows_its_entries_newest_first_with_the_reason_of_an_error(self, alice, ok_servers):
        lb = create_lb(api(alice), "shop", ok_servers)
        create_lb(api(alice), "other", ok_servers)
        lb_bootstrap.build().provisioning.fail(UUID(lb["id"]), "boom")

        response = web(alice).get(f"/load-balancers/{lb['id']}/")

        assert response.status_code == 200
        page = response.content.decode()
        history = shown(page[page.index('id="history"') :])
        failed = history.index("load balancer shop went to ERROR: boom")
        requested = history.index("requested load balancer shop")
        assert failed < requested  # newest first
        assert "requested load balancer other" not in history
        assert "system via worker" in history
        assert "alice via api" in history

    def test_another_teams_user_does_not_find_the_page(self, alice, bob, ok_servers):
        lb = create_lb(api(alice), "shop", ok_servers)

        response = web(bob).get(f"/load-balancers/{lb['id']}/")

        assert response.status_code == 404
        assert "requested load balancer shop" not in text(response)

    def test_the_team_page_shows_its_history(self, alice, bob):
        web(alice).post("/teams/alice/members/add/", {"username": "bob", "role": "viewer"})

        page = text(web(alice).get("/teams/alice/"))

        [entry] = entries_about("team", personal_team(alice).pk)
        assert entry.message in page[page.index('id="history"') :]
