from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from accounts import bootstrap as accounts_bootstrap
from accounts.application.payloads import CreateToken
from tests.factories import ServerFactory, UserFactory, grant_operations

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


def token_for(user, **fields) -> str:  # type: ignore[no-untyped-def]
    """A new API token's key for the user (``fields``: those of CreateToken)."""
    actor = accounts_bootstrap.actor_of(user, "accounts.apitoken")
    return accounts_bootstrap.build().tokens.create_one(actor, CreateToken(**fields))[1]


def client_for(user, **token_fields) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user, **token_fields)}")
    return client


@pytest.fixture
def alice(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="bob")


@pytest.fixture
def staff(db):  # type: ignore[no-untyped-def]
    """Operations staff: staff status and the model permissions on load balancers and servers."""
    return grant_operations(UserFactory(username="ops", is_staff=True))


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
    ends would touch a database that is being flushed, or run in the next test.

    Every task published while the worker runs is recorded.  When a test ends, its
    tasks are cancelled and the gate waits until none of them is running.  Revoking
    them in Celery is not enough on its own: the solo pool runs countdown tasks on the
    timer's thread, beside the consumer's, and one that passed Celery's revoked check
    just before the revoke would still run.  So the gate also checks every task as it
    starts (``before_start``, where raising Ignore skips its body cleanly), under the
    same lock that cancels: a task either started before its cancellation, and is
    waited for, or never runs at all."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self._state = threading.Condition()
        self._open = False
        self._published: set[str] = set()
        self._cancelled: set[str] = set()
        self._running: set[str] = set()
        gate = self

        def before_start(task, task_id: str, args: object, kwargs: object) -> None:  # type: ignore[no-untyped-def]
            gate._start(task_id)

        for task in app.tasks.values():
            if not task.name.startswith("celery."):
                type(task).before_start = before_start
                task.__trace__ = None  # built again, with the hook, on its next run

    def open(self) -> None:
        """The worker runs: keep count.  (The hook stays on the tasks; a test that runs
        a task in its own thread while no worker runs is none of the gate's business.)"""
        with self._state:
            self._open = True

    def close(self) -> None:
        with self._state:
            self._open = False
            self._published.clear()
            self._running.clear()

    def record(self, sender=None, headers=None, **_) -> None:  # type: ignore[no-untyped-def]
        if headers and headers.get("id"):
            with self._state:
                if self._open:
                    self._published.add(headers["id"])

    def _start(self, task_id: str) -> None:
        from celery.exceptions import Ignore

        with self._state:
            if task_id in self._cancelled:
                raise Ignore(f"task {task_id} belongs to a test that has ended")
            if self._open:
                self._running.add(task_id)

    def finished(self, task_id=None, **_) -> None:  # type: ignore[no-untyped-def]
        with self._state:
            self._running.discard(task_id)
            self._state.notify_all()

    def drain(self, timeout: float = 20.0) -> None:
        from celery.worker import state

        with self._state:
            # Each pass cancels what was published so far; a task still running may
            # publish more, which the next pass cancels.
            while self._published or self._running:
                for task_id in self._published:
                    state.revoked.add(task_id)
                self._cancelled |= self._published
                self._published = set()
                if not self._state.wait_for(lambda: not self._running, timeout):
                    raise AssertionError(f"tasks still running after the test: {sorted(self._running)}")


@functools.cache
def _worker_gate(app) -> _WorkerGate:  # type: ignore[no-untyped-def]
    return _WorkerGate(app)  # one per process: the barrier task is registered once


@pytest.fixture(scope="module")
def worker_gate() -> Iterator[_WorkerGate]:
    from celery.contrib.testing.worker import start_worker
    from celery.signals import before_task_publish, task_postrun

    from config.celery import app

    gate = _worker_gate(app)
    with app.connection_for_write() as conn:  # messages earlier tests sent without a worker
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    before_task_publish.connect(gate.record, weak=False)
    task_postrun.connect(gate.finished, weak=False)
    gate.open()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
            yield gate
    finally:
        gate.close()
        before_task_publish.disconnect(gate.record)
        task_postrun.disconnect(gate.finished)


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
