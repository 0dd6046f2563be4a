"""The embedded default runs web and worker processes on one SQLite file: concurrent
writers must wait their turn, not fail with "database is locked"."""

import sqlite3
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from loadbalancers.bootstrap import actor_of
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
    actor = actor_of(user)
    servers = [s.pk for s in ServerFactory.create_batch(2)]

    outcomes = race(*(lambda i=i: create(actor, f"lb-{i}", servers) for i in range(20)))

    assert [type(o).__name__ for o in outcomes] == ["LoadBalancerView"] * 20
    assert LoadBalancer.objects.count() == 20


@contextmanager
def locked():
    """Another process holds SQLite's write lock, and this process gives up at once
    instead of waiting its turn (20 s): a busy database, without the wait."""
    options = connection.settings_dict["OPTIONS"]
    waits = options["timeout"]
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    connection.close()
    options["timeout"] = 0
    try:
        yield
    finally:
        holder.rollback()
        holder.close()
        connection.close()
        options["timeout"] = waits


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api-auth/login/"])
def test_signing_in_while_the_database_is_busy_says_so_with_a_503_page(path, caplog):
    UserFactory(username="ops", is_staff=True)
    client = Client()
    assert client.get(path).status_code == 200  # reading needs no lock

    with locked():
        response = client.post(path, {"username": "ops", "password": "secret-password"})

    assert response.status_code == 503
    html = response.content.decode()
    assert "The database is busy or unavailable right now" in html
    assert "try again" in html
    assert any(r.levelname == "ERROR" and "database unavailable" in r.getMessage() for r in caplog.records)
    assert client.post(path, {"username": "ops", "password": "secret-password"}).status_code == 302  # lock gone


def test_the_token_endpoint_answers_503_in_the_api_error_shape():
    UserFactory(username="ops")
    with locked():
        response = Client().post(
            "/api/v1/auth/token/", {"username": "ops", "password": "secret-password"}, content_type="application/json"
        )

    assert response.status_code == 503
    assert response.json()["error"] == "DependencyUnavailable"
