"""Races between requests, through the real services on PostgreSQL (row locks and
constraints; SQLite serialises all writers, so there is nothing to race there)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from django.db import connection

from loadbalancers.application.payloads import CreateLoadBalancer, UpdateLoadBalancer
from loadbalancers.bootstrap import actor_of, build
from loadbalancers.models import LoadBalancer
from portal.kernel.errors import PortalError
from servers import bootstrap as servers_bootstrap
from tests.conftest import needs_postgres
from tests.factories import ServerFactory, UserFactory
from tests.fakes import OPS

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def race(*calls):
    """Run the calls at the same moment, each in its own thread and connection; return
    each one's outcome: the result, or the PortalError it raised."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        except PortalError as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def names(outcomes):
    return sorted(type(o).__name__ for o in outcomes)


def create(actor, name, server_ids):
    return build().load_balancers.create_one(actor, CreateLoadBalancer(name=name, servers=server_ids))


def update(actor, lb_id, payload):
    return build().load_balancers.update_one(actor, lb_id, payload)


def test_two_creates_with_one_name_give_one_load_balancer_and_one_conflict():
    user = UserFactory()
    actor = actor_of(user)
    server = ServerFactory()
    for round_ in range(ROUNDS):
        same = partial(create, actor, f"race-{round_}", [server.pk])

        outcomes = race(same, same, same)

        assert names(outcomes) == ["LoadBalancerView", "NameTaken", "NameTaken"]
        assert LoadBalancer.objects.filter(name=f"race-{round_}").count() == 1


def test_deleting_a_server_while_a_load_balancer_takes_it_never_leaves_a_dangling_member():
    user = UserFactory()
    actor = actor_of(user)
    for round_ in range(ROUNDS):
        server = ServerFactory()

        outcomes = race(
            partial(create, actor, f"take-{round_}", [server.pk]),
            partial(servers_bootstrap.build().delete_one, OPS, server.pk),
        )

        assert names(outcomes) in (["LoadBalancerView", "ServerInUse"], ["NoneType", "ServerNotEligible"])
        created = LoadBalancer.objects.filter(name=f"take-{round_}").first()
        if created is not None:
            assert list(created.members.values_list("server_id", flat=True)) == [server.pk]


def test_marking_a_server_down_while_a_load_balancer_takes_it_is_ordered():
    user = UserFactory()
    actor = actor_of(user)
    for round_ in range(ROUNDS):
        server = ServerFactory()

        outcomes = race(
            partial(create, actor, f"down-{round_}", [server.pk]),
            partial(servers_bootstrap.build().update_status, OPS, server.pk, "DOWN"),
        )

        # Either the load balancer was created while the server was still OK, or the
        # server went DOWN first and the create was refused: never a mix.
        assert names(outcomes) in (["LoadBalancerView", "Server"], ["Server", "ServerNotEligible"])


def test_two_updates_of_one_version_give_one_change_and_one_conflict():
    user = UserFactory()
    actor = actor_of(user)
    servers = ServerFactory.create_batch(2)
    for round_ in range(ROUNDS):
        view = create(actor, f"upd-{round_}", [servers[0].pk])
        LoadBalancer.objects.filter(pk=view.id).update(provisioning_status="ACTIVE", pending_since=None)
        version = LoadBalancer.objects.get(pk=view.id).version

        outcomes = race(
            partial(update, actor, view.id, UpdateLoadBalancer(servers=[servers[1].pk], version=version)),
            partial(update, actor, view.id, UpdateLoadBalancer(description="mine", version=version)),
        )

        assert names(outcomes) == ["LoadBalancerView", "StaleVersion"]
        assert LoadBalancer.objects.get(pk=view.id).version == version + 1
