"""Every create takes its row locks in one order, single or batch: the teams (by id),
then the servers (by id).  Two requests that lock the same rows then never wait on each
other in a circle (PostgreSQL would break such a deadlock by failing one of them).
Checked on the statements PostgreSQL receives (SQLite takes no row locks)."""

import re

import pytest
from django.db import connection

from loadbalancers import bootstrap
from loadbalancers.application.payloads import CreateBatch, CreateLoadBalancer, DeleteBatch
from loadbalancers.models import LoadBalancer
from portal.kernel.actors import Actor
from tests.conftest import needs_postgres
from tests.factories import ServerFactory, TeamFactory, UserFactory, add_member
from tests.fakes import FakeScheduler

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

RANK = {"accounts_team": 0, "servers_server": 1}
MODES: list[str] = []
"""The lock clause of each ``locks`` found."""


def locks(call) -> list[tuple[str, tuple[int, ...]]]:  # type: ignore[no-untyped-def]
    """Each ``SELECT ... FOR UPDATE`` the call sends, as (table, the ids it names)."""
    taken: list[tuple[str, tuple[int, ...]]] = []

    def watch(run, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "FOR UPDATE" in sql or "FOR NO KEY UPDATE" in sql:
            MODES.append("FOR NO KEY UPDATE" if "FOR NO KEY UPDATE" in sql else "FOR UPDATE")
            table = re.search(r'FROM "(\w+)"', sql).group(1)  # type: ignore[union-attr]
            ids = tuple(p for p in (params or ()) if isinstance(p, int))
            taken.append((table, ids))
        return run(sql, params, many, context)

    with connection.execute_wrapper(watch):
        call()
    return taken


def assert_in_order(taken: list[tuple[str, tuple[int, ...]]]) -> None:
    ranks = [RANK[table] for table, _ in taken if table in RANK]
    assert ranks == sorted(ranks), taken
    teams = [ids for table, ids in taken if table == "accounts_team"]
    firsts = [ids[0] for ids in teams if ids]
    assert firsts == sorted(firsts), teams


@pytest.fixture
def two_teams():  # type: ignore[no-untyped-def]
    alpha, zeta = TeamFactory(slug="alpha"), TeamFactory(slug="zeta")
    user = UserFactory(username="both", personal_team=False)
    add_member(alpha, user, "member")
    add_member(zeta, user, "member")
    actor = Actor(user.pk, user.username, roles={alpha.pk: "member", zeta.pk: "member"})
    return actor, alpha, zeta


def test_a_create_locks_its_team_before_its_servers(two_teams):
    actor, _, _ = two_teams
    servers = [s.pk for s in ServerFactory.create_batch(2)]
    service = bootstrap.build(scheduler=FakeScheduler()).load_balancers

    taken = locks(lambda: service.create_one(actor, CreateLoadBalancer(name="one", servers=servers, team="alpha")))

    assert [table for table, _ in taken] == ["accounts_team", "servers_server"]
    assert_in_order(taken)


def test_a_create_s_locks_let_foreign_key_checks_through(two_teams):
    """FOR NO KEY UPDATE, not FOR UPDATE: it keeps other writers of the team and server
    rows out as well, but not the foreign key checks of rows that refer to them (FOR KEY
    SHARE).  A transaction that inserted a load balancer without locking the team (a
    bulk load) holds its team's usage row (its count, kept by triggers) until it commits
    and checks its foreign key to the team; a create holding the team FOR UPDATE while
    waiting on that usage row would deadlock with it."""
    actor, _, _ = two_teams
    servers = [s.pk for s in ServerFactory.create_batch(2)]
    service = bootstrap.build(scheduler=FakeScheduler()).load_balancers
    MODES.clear()

    locks(lambda: service.create_one(actor, CreateLoadBalancer(name="one", servers=servers, team="alpha")))

    assert MODES == ["FOR NO KEY UPDATE", "FOR NO KEY UPDATE"]


def test_a_batch_locks_its_teams_by_id_then_its_servers_whatever_the_items_order(two_teams):
    actor, alpha, zeta = two_teams
    servers = [s.pk for s in ServerFactory.create_batch(3)]
    service = bootstrap.build(scheduler=FakeScheduler()).load_balancers
    items = {
        0: CreateLoadBalancer(name="z-1", servers=[servers[2]], team="zeta"),
        1: CreateLoadBalancer(name="a-1", servers=[servers[0], servers[1]], team="alpha"),
        2: CreateLoadBalancer(name="z-2", servers=[servers[1]], team="zeta"),
    }

    taken = locks(lambda: service.create_batch(actor, CreateBatch(items=items)))

    assert_in_order(taken)
    assert [ids[0] for table, ids in taken if table == "accounts_team"][:2] == sorted([alpha.pk, zeta.pk])


def test_a_batch_delete_locks_its_load_balancers_in_one_order(two_teams):
    actor, _, _ = two_teams
    servers = [s.pk for s in ServerFactory.create_batch(1)]
    services = bootstrap.build(scheduler=FakeScheduler())
    made = services.load_balancers.create_batch(
        actor, CreateBatch(items={n: CreateLoadBalancer(f"lb-{n}", servers, team="alpha") for n in range(4)})
    )
    LoadBalancer.objects.filter(pk__in=[v.id for v in made]).update(provisioning_status="ACTIVE")
    asked = [made[2].id, made[0].id, made[3].id, made[1].id]
    order: list[str] = []

    def watch(run, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "FOR UPDATE" in sql and 'FROM "loadbalancers_loadbalancer"' in sql:
            order.extend(str(p) for p in params if str(p) in {str(i) for i in asked})
        return run(sql, params, many, context)

    with connection.execute_wrapper(watch):
        services.load_balancers.delete_batch(actor, DeleteBatch(ids=tuple(asked)))

    assert order == sorted(str(i) for i in asked)
