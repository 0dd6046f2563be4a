from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ServerFactory, UserFactory

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql", "pgsql"))
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and sign-in failures are counted in the cache: none leaks between tests."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _sandbox_of_its_own(settings, tmp_path):
    """Each test gets a fresh sandbox LBaaS, quick to answer."""
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "path": str(tmp_path / "sandbox.sqlite3"), "delay": 0.2}


def client_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def alice(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="bob")


@pytest.fixture
def staff(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="ops", is_staff=True)


@pytest.fixture
def alice_api(alice) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(alice)


@pytest.fixture
def bob_api(bob) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(bob)


@pytest.fixture
def staff_api(staff) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(staff)


@pytest.fixture
def ok_servers(db):  # type: ignore[no-untyped-def]
    return ServerFactory.create_batch(3)


@pytest.fixture(scope="module")
def _worker_thread() -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with app.connection_for_write() as conn:  # messages earlier tests sent without a worker
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        yield


@pytest.fixture
def celery_worker(_worker_thread, transactional_db) -> None:  # type: ignore[no-untyped-def]
    """A real Celery worker in a thread, on the in-memory broker: tasks run as they
    would in production, after commit, with their countdowns and retries.  Started
    once per module (stopping a worker takes seconds) and stopped after it, so that
    it never runs tasks that other tests enqueue."""


def wait_until(check: Callable[[], object], timeout: float = 15.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
