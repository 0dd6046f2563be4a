"""The embedded default runs web and worker processes on one SQLite file: concurrent
writers must wait their turn, not fail with "database is locked"."""

import pytest

from loadbalancers.application.payloads import Actor
from loadbalancers.models import LoadBalancer
from tests.conftest import POSTGRES
from tests.factories import ServerFactory, UserFactory
from tests.integration.test_concurrency import create, race

pytestmark = [
    pytest.mark.skipif(POSTGRES, reason="about SQLite's locking"),
    pytest.mark.django_db(transaction=True),
]


def test_many_concurrent_creates_all_succeed():
    user = UserFactory()
    actor = Actor(user.pk, user.username)
    servers = [s.pk for s in ServerFactory.create_batch(2)]

    outcomes = race(*(lambda i=i: create(actor, f"lb-{i}", servers) for i in range(20)))

    assert [type(o).__name__ for o in outcomes] == ["LoadBalancerView"] * 20
    assert LoadBalancer.objects.count() == 20
