"""One Idempotency-Key sent by many requests at the same moment runs the request exactly
once, on PostgreSQL: the key's row is inserted in a write of its own, committed at once,
so the requests meet at its unique constraint.  The others get the first answer again
or, while it runs, 409.  (SQLite serialises all writers, so there is nothing to race.)"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from loadbalancers.models import LoadBalancer
from portal.models import IdempotentRequest
from servers.models import Server
from tests.conftest import client_for, needs_postgres
from tests.factories import ServerFactory, UserFactory, grant_operations

pytestmark = [pytest.mark.postgres, needs_postgres, pytest.mark.django_db(transaction=True)]

REQUESTS = 10
KEY = "race-key-1"


def race_posts(user, path, body):
    """POSTs ``body`` to ``path`` from REQUESTS threads at once, each with its own client
    and connection and the same key; returns each answer."""
    clients = [client_for(user) for _ in range(REQUESTS)]
    barrier = threading.Barrier(REQUESTS)

    def send(client):
        try:
            barrier.wait(timeout=30)
            return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
        finally:
            connection.close()

    with ThreadPoolExecutor(REQUESTS) as pool:
        return list(pool.map(send, clients))


def assert_one_ran(answers, created_status):
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {created_status, 409}, [a.content for a in answers]
    ran = [a for a in answers if a.status_code == created_status and not a.has_header("Idempotent-Replayed")]
    assert len(ran) == 1, statuses
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"] == "IdempotencyKeyInProgress"
        elif answer is not ran[0]:
            assert answer["Idempotent-Replayed"] == "true"
            assert answer.content == ran[0].content
    row = IdempotentRequest.objects.get()
    assert (row.key, row.status_code) == (KEY, created_status)


def test_ten_creates_with_one_key_make_one_load_balancer():
    user = UserFactory(username="racer")
    server = ServerFactory()

    answers = race_posts(user, "/api/v1/load-balancers/", {"name": "shop", "servers": [server.pk]})

    assert_one_ran(answers, 202)
    assert LoadBalancer.objects.count() == 1


def test_ten_creates_with_one_key_add_one_server():
    ops = grant_operations(UserFactory(username="ops-racer", is_staff=True))

    answers = race_posts(ops, "/api/v1/servers/", {"name": "web-1", "address": "10.0.0.1", "port": 80})

    assert_one_ran(answers, 201)
    assert Server.objects.count() == 1
