from __future__ import annotations

import functools
import os
import threading
import time
import uuid
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


class _WorkerGate:
    """Keeps the in-thread worker inside the test that gave it work.

    The worker outlives each test (it is started once per module), but the test's
    database does not: a countdown task still queued, or one running, when the test
    ends would touch a database that is being flushed, or run in the next test.  So
    every task published while the worker runs is recorded, and when a test ends
    they are all revoked and a barrier task is sent through the (single, solo)
    worker thread: once the barrier has run, nothing that was running before it is
    still running, and nothing revoked will run again."""

    BARRIER = "tests.worker_barrier"

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self._lock = threading.Lock()
        self._published: set[str] = set()
        self._passed: dict[str, threading.Event] = {}
        passed = self._passed

        @app.task(name=self.BARRIER)
        def barrier(token: str) -> None:
            passed[token].set()

        self._barrier = barrier

    def record(self, sender=None, headers=None, **_) -> None:  # type: ignore[no-untyped-def]
        if sender != self.BARRIER and headers and headers.get("id"):
            with self._lock:
                self._published.add(headers["id"])

    def drain(self, timeout: float = 20.0) -> None:
        from celery.worker import state

        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                batch, self._published = self._published, set()
            for task_id in batch:
                state.revoked.add(task_id)
            token = uuid.uuid4().hex
            passed = self._passed[token] = threading.Event()
            self._barrier.apply_async(args=[token])
            try:
                if not passed.wait(max(0.0, deadline - time.monotonic())):
                    raise AssertionError("the Celery worker did not become idle after the test")
            finally:
                del self._passed[token]
            with self._lock:
                if not self._published:
                    return


@functools.cache
def _worker_gate(app) -> _WorkerGate:  # type: ignore[no-untyped-def]
    return _WorkerGate(app)  # one per process: the barrier task is registered once


@pytest.fixture(scope="module")
def worker_gate() -> Iterator[_WorkerGate]:
    from celery.contrib.testing.worker import start_worker
    from celery.signals import before_task_publish

    from config.celery import app

    gate = _worker_gate(app)
    with app.connection_for_write() as conn:  # messages earlier tests sent without a worker
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    before_task_publish.connect(gate.record, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
            yield gate
    finally:
        before_task_publish.disconnect(gate.record)


@pytest.fixture
def celery_worker(worker_gate, transactional_db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A real Celery worker in a thread, on the in-memory broker: tasks run as they
    would in production, after commit, with their countdowns and retries.  Started
    once per module (stopping a worker takes seconds) and stopped after it, so that
    it never runs tasks that other tests enqueue; each test's leftover work is
    cancelled before its database goes away."""
    yield
    worker_gate.drain()


def wait_until(check: Callable[[], object], timeout: float = 15.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
