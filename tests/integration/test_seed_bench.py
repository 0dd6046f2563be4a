"""manage.py seed_bench: benchmark data written through the product's models (COPY on
PostgreSQL, batched INSERTs elsewhere), readable by the product as any other data."""

from __future__ import annotations

import io
import ipaddress
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.domain.model import QUOTA_MAX, Role
from accounts.models import Membership, Team
from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.monitors import monitor_from
from loadbalancers.domain.statuses import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.tags import tag_errors
from loadbalancers.models import LoadBalancer, Member, Tag
from portal.kernel.validators import name_errors
from servers.models import Server
from tests.conftest import client_for
from tests.factories import LoadBalancerRowFactory, ServerFactory, TeamFactory, UserFactory, personal_team

SMALL = {"load_balancers": 25, "per_team": 10, "servers": 8}


def seed(**options: object) -> str:
    out = io.StringIO()
    call_command("seed_bench", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def per_team() -> dict[str, int]:
    return dict(Counter(LoadBalancer.objects.values_list("team__slug", flat=True)))


def everything() -> tuple[object, ...]:
    """What the database holds, to show that a refused run changed nothing."""
    return (
        sorted(Team.objects.values_list("slug", "quota_load_balancers", "quota_members")),
        sorted(LoadBalancer.objects.values_list("id", "name", "team__slug", "provisioning_status", "created_at")),
        sorted(Member.objects.values_list("load_balancer_id", "server_id", "position")),
        sorted(Tag.objects.values_list("load_balancer_id", "value")),
        sorted(Server.objects.values_list("id", "name", "address", "port")),
        sorted(get_user_model().objects.values_list("username", flat=True)),
        sorted(Membership.objects.values_list("team__slug", "user__username", "role")),
    )


@pytest.fixture
def seeded(db) -> str:  # type: ignore[no-untyped-def]
    return seed()


class TestWhatItWrites:
    def test_teams_hold_the_load_balancers_with_the_largest_quotas(self, seeded):
        assert per_team() == {"bench-1": 10, "bench-2": 10, "bench-3": 5}
        teams = Team.objects.filter(slug__startswith="bench-")
        assert sorted(teams.values_list("slug", "quota_load_balancers", "quota_members")) == [
            (f"bench-{n}", QUOTA_MAX, QUOTA_MAX) for n in (1, 2, 3)
        ]
        summary = seeded.strip().splitlines()[-1]
        assert summary.startswith("seed_bench: 25 load balancers in 3 teams, 100 members")
        assert " rows in " in summary
        assert " s (" in summary

    def test_fewer_load_balancers_than_per_team_make_one_team(self, db):
        seed(load_balancers=6, per_team=10)
        assert per_team() == {"bench-1": 6}

    def test_the_bench_user_may_change_load_balancers_of_bench_1_only(self, seeded):
        user = get_user_model().objects.get(username="bench")
        assert not user.is_staff
        assert not user.is_superuser
        assert not user.has_usable_password()
        memberships = list(Membership.objects.filter(user=user).values_list("team__slug", "role"))
        assert len(memberships) == 1
        assert memberships[0][0] == "bench-1"
        assert Role(memberships[0][1]).allows(Role.MEMBER)  # creates, changes, deletes

    def test_another_user_may_be_named(self, db):
        seed(user="carol")
        assert Membership.objects.get(team__slug="bench-1").user.username == "carol"
        assert not get_user_model().objects.filter(username="bench").exists()

    def test_servers_are_ok_and_each_on_its_own_address(self, seeded):
        servers = list(Server.objects.filter(name__startswith="bench-srv-").order_by("name"))
        assert [s.name for s in servers] == [f"bench-srv-{n:05d}" for n in range(1, 9)]
        assert {(s.status, s.port) for s in servers} == {("OK", 8080)}
        addresses = [ipaddress.ip_address(s.address) for s in servers]
        assert len(set(addresses)) == 8
        assert all(address in ipaddress.ip_network("10.0.0.0/8") for address in addresses)

    def test_members_are_distinct_servers_in_positions(self, seeded):
        bench_servers = set(Server.objects.filter(name__startswith="bench-srv-").values_list("pk", flat=True))
        for lb in LoadBalancer.objects.prefetch_related("members"):
            members = sorted(lb.members.all(), key=lambda m: m.position)
            assert [m.position for m in members] == [0, 1, 2, 3], lb.name
            assert len({m.server_id for m in members}) == 4
            assert {m.server_id for m in members} <= bench_servers
            assert {m.weight for m in members} == {1}
        assert Member.objects.count() == 100

    def test_states_are_settled_mostly_active_some_error(self, seeded):
        statuses = Counter(LoadBalancer.objects.values_list("provisioning_status", flat=True))
        assert statuses["ACTIVE"] > statuses["ERROR"] > 0
        assert not any(ProvisioningStatus(s).is_pending for s in statuses)
        for lb in LoadBalancer.objects.all():
            assert lb.pending_since is lb.submitted_at is lb.checked_at is None
            assert lb.provider == "sandbox"
            assert lb.provider_ref
            if lb.provisioning_status == "ERROR":
                assert lb.error_reason
                assert lb.operating_status == "ERROR"
                assert lb.vip_address is None
            if lb.provisioning_status == "ACTIVE":
                assert lb.vip_address
                assert lb.error_reason is None

    def test_names_follow_the_rules_and_are_unique(self, seeded):
        names = list(LoadBalancer.objects.values_list("name", flat=True))
        assert len(set(names)) == len(names) == 25
        assert all(name_errors(name) == [] for name in names)
        assert "bench-1-0000000" in names
        assert "bench-3-0000004" in names

    def test_every_state_of_the_mix_in_a_larger_team(self, db):
        seed(load_balancers=100, per_team=100, servers=8, members=3)
        rows = list(LoadBalancer.objects.all())
        mix = Counter((lb.provisioning_status, lb.operating_status) for lb in rows)
        assert mix[("ACTIVE", "ONLINE")] == 90
        assert mix[("ERROR", "ERROR")] == 5
        assert mix[("DELETED", "OFFLINE")] == 1
        assert {("ACTIVE", "NO_MONITOR"), ("ACTIVE", "DEGRADED"), ("ACTIVE", "OFFLINE")} <= set(mix)
        assert {lb.listener_protocol for lb in rows} == {"HTTP", "TCP"}
        assert {lb.algorithm for lb in rows} == {"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP"}
        for lb in rows:
            statuses = [
                OperatingStatus(s) for s in lb.members.order_by("position").values_list("operating_status", flat=True)
            ]
            if lb.provisioning_status == "DELETED":
                assert statuses == []
                assert lb.vip_address is None
            else:
                assert len(statuses) == 3
            if lb.provisioning_status == "ACTIVE":  # the domain's own rule
                assert overall_operating_status(statuses) == lb.operating_status
                assert (lb.health_monitor is None) == (lb.operating_status == "NO_MONITOR")

    def test_monitors_and_tags_are_as_the_product_stores_them(self, db):
        seed(load_balancers=40, per_team=40)
        monitors = [lb.health_monitor for lb in LoadBalancer.objects.exclude(health_monitor=None)]
        assert monitors
        for stored in monitors:
            monitor, problems = monitor_from(stored)
            assert problems == []
            assert monitor is not None
            assert monitor.as_dict() == stored
        tags: dict[object, list[str]] = {}
        for lb_id, value in Tag.objects.values_list("load_balancer_id", "value"):
            tags.setdefault(lb_id, []).append(value)
        assert 0 < len(tags) < 40
        assert all(tag_errors(values) == [] for values in tags.values())

    def test_the_rows_load_as_aggregates(self, seeded):
        ids = list(LoadBalancer.objects.values_list("id", flat=True))
        aggregates = DjangoLoadBalancerRepository().get_list(ids=ids)
        assert len(aggregates) == 25
        assert all(len(lb.members) == 4 for lb in aggregates if lb.provisioning_status != "DELETED")

    def test_one_a_second_the_teams_interleaved_and_nothing_in_the_future(self, seeded):
        rows = list(LoadBalancer.objects.order_by("created_at").values_list("team__slug", "created_at", "updated_at"))
        times = [created for _, created, _ in rows]
        assert len(set(times)) == 25
        assert [slug for slug, _, _ in rows[:3]] == ["bench-1", "bench-2", "bench-3"]
        now = timezone.now()
        assert all(created <= updated <= now for _, created, updated in rows)

    def test_the_same_arguments_give_the_same_rows(self, seeded):
        def rows() -> list[tuple[object, ...]]:
            return sorted(
                LoadBalancer.objects.values_list("id", "name", "team__slug", "provisioning_status", "provider_ref")
            )

        before = rows()
        seed(replace=True)
        assert rows() == before


class TestReplacing:
    def test_refuses_when_bench_data_exist(self, seeded):
        before = everything()
        with pytest.raises(CommandError, match=r"bench data already exist .*--replace"):
            seed()
        assert everything() == before

    def test_replace_deletes_the_bench_data_and_seeds_anew(self, seeded):
        alice = UserFactory(username="alice")
        own_server = ServerFactory(name="web-own", address="192.0.2.10")
        own = LoadBalancerRowFactory(name="alice-lb", created_by=alice, team=personal_team(alice))
        Member.objects.create(load_balancer=own, server=own_server, position=0)
        bench = get_user_model().objects.get(username="bench")

        seed(load_balancers=7, per_team=5, servers=6, members=2, replace=True)

        assert per_team() == {"bench-1": 5, "bench-2": 2, "alice": 1}
        assert not Team.objects.filter(slug="bench-3").exists()
        assert Server.objects.filter(name__startswith="bench-srv-").count() == 6
        assert Member.objects.filter(load_balancer__team__slug__startswith="bench-").count() == 14
        assert list(own.members.values_list("server__name", flat=True)) == ["web-own"]
        assert get_user_model().objects.get(username="bench").pk == bench.pk
        assert Membership.objects.get(team__slug="bench-1").user == bench

    def test_other_teams_and_servers_are_left_alone(self, db):
        TeamFactory(slug="bench-web")
        TeamFactory(slug="bench-007")
        taken = ServerFactory(name="web-x", address="10.128.0.1", port=8080)
        seed()
        seed(replace=True)
        assert Team.objects.filter(slug__in=["bench-web", "bench-007"]).count() == 2
        assert Server.objects.get(pk=taken.pk).name == "web-x"
        addresses = Server.objects.filter(name__startswith="bench-srv-").values_list("address", flat=True)
        assert "10.128.0.1" not in set(addresses)
        assert len(set(addresses)) == 8

    def test_replace_refuses_while_others_use_bench_servers(self, seeded):
        alice = UserFactory(username="alice")
        own = LoadBalancerRowFactory(name="alice-lb", created_by=alice, team=personal_team(alice))
        Member.objects.create(load_balancer=own, server=Server.objects.get(name="bench-srv-00001"), position=0)
        before = everything()
        with pytest.raises(CommandError, match="outside the bench teams use bench-srv"):
            seed(replace=True)
        assert everything() == before


class TestBadArguments:
    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"load_balancers": 0}, "--load-balancers must be between 1"),
            ({"load_balancers": -5}, "--load-balancers must be between 1"),
            ({"per_team": 0}, "--per-team must be between 1"),
            ({"per_team": QUOTA_MAX + 1}, "--per-team must be between 1 and 1,000,000"),
            ({"servers": 0}, "--servers must be between 1"),
            ({"servers": "many"}, "--servers must be a whole number"),
            ({"members": 0}, "--members must be between 1"),
            ({"members": 9}, r"--members \(9\) cannot exceed --servers \(8\)"),
            ({"user": ""}, "--user ''"),
            ({"user": "two words"}, "--user 'two words'"),
        ],
    )
    def test_a_bad_argument_changes_nothing(self, seeded, options, message):
        before = everything()
        with pytest.raises(CommandError, match=message):
            seed(replace=True, **options)
        assert everything() == before

    def test_every_problem_at_once(self, db):
        with pytest.raises(CommandError) as raised:
            seed(load_balancers=-1, per_team=0, members=0)
        assert all(flag in str(raised.value) for flag in ("--load-balancers", "--per-team", "--members"))
        assert not Team.objects.exists()
        assert not Server.objects.exists()

    def test_not_a_number_or_missing(self, db):
        with pytest.raises(CommandError, match="invalid int value"):
            call_command("seed_bench", "--load-balancers", "lots", "--per-team", "10", stdout=io.StringIO())
        with pytest.raises(CommandError, match="required"):
            call_command("seed_bench", stdout=io.StringIO())
        assert not Team.objects.exists()
        assert not Server.objects.exists()


def test_the_bench_user_reads_its_team_through_the_api(seeded):
    user = get_user_model().objects.get(username="bench")
    api = client_for(user)
    response = api.get("/api/v1/load-balancers/?limit=50")
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    live = LoadBalancer.objects.filter(team__slug="bench-1").exclude(provisioning_status="DELETED")
    assert sorted(item["name"] for item in items) == sorted(live.values_list("name", flat=True))
    assert {item["team"] for item in items} == {"bench-1"}
    assert all(len(item["servers"]) == 4 for item in items)
    assert all(server["name"].startswith("bench-srv-") for item in items for server in item["servers"])
    detail = api.get(f"/api/v1/load-balancers/{items[0]['id']}/")
    assert detail.status_code == 200
    assert detail.json()["name"] == items[0]["name"]
    other = LoadBalancer.objects.filter(team__slug="bench-2").first()
    assert api.get(f"/api/v1/load-balancers/{other.pk}/").status_code == 404
