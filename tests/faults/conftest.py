"""Fault injection against real components: the portal's own processes (gunicorn, the
Celery worker and scheduler, `manage.py runportal`) started as they run in production,
on the test database, with a broken dependency beside them.  Every wait is bounded, and
every process a test starts is stopped (its whole process group) when it ends."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import token_for
from tests.factories import ServerFactory, UserFactory
from tests.processes import Processes, call, database_url_of_this_test, wait_for


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop_all()


@dataclass
class World:
    """A user with an API token and servers, committed for the processes to see."""

    token: str
    server_ids: list[int]
    env: dict[str, str]
    var: Path

    def log(self, name: str) -> Path:
        return self.var / f"{name}.log"


@pytest.fixture
def world(transactional_db, tmp_path, settings) -> World:  # type: ignore[no-untyped-def]
    user = UserFactory(username="alice")
    token = token_for(user)
    servers = ServerFactory.create_batch(2)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DATABASE_URL=database_url_of_this_test(),
        PORTAL_VAR_DIR=str(tmp_path),
        PORTAL_INSTANCE_ID="fault-portal",
        SANDBOX_LBAAS_PATH=settings.SANDBOX_LBAAS["path"],
        SANDBOX_LBAAS_DELAY="0.3",
        LBAAS_POLL_INTERVAL="0.2",
        PYTHONUNBUFFERED="1",
    )
    return World(token=token, server_ids=[s.pk for s in servers], env=env, var=tmp_path)


def gunicorn(processes: Processes, world: World, port: int, **env: str) -> str:
    """The web server alone, as in production; answers once it is up."""
    processes.start(
        [
            *(sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"),
            *("--workers", "1", "--threads", "8", "--graceful-timeout", "2"),
        ],
        {**world.env, **env},
        world.log("gunicorn"),
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: call("GET", f"{base}/healthz", timeout=5).status == 200, "gunicorn started")
    return base


@pytest.fixture
def hung_broker() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word: a broker (or a
    database server) that hangs."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


# The background processes show they are alive every second; /readyz waits 5 for them.
FAST_HEARTBEATS = {"HEARTBEAT_INTERVAL": "1", "HEARTBEAT_MAX_AGE": "5", "RECONCILE_INTERVAL": "1"}


def runportal(processes: Processes, world: World, port: int, **options: object) -> tuple[subprocess.Popen, str]:
    """`manage.py runportal` (what `make run` serves) on the embedded broker; returns
    once /readyz says every part is up."""
    env = {**world.env, **FAST_HEARTBEATS, "LBAAS_STUCK_AFTER": "2", **options.pop("env", {})}  # type: ignore[dict-item]
    process = processes.start(
        [sys.executable, "manage.py", "runportal", f"127.0.0.1:{port}", "--concurrency", "1", "--web-workers", "1"],
        env,
        world.log("runportal"),
        **options,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: call("GET", f"{base}/readyz", timeout=10).status == 200, "the portal ready", timeout=90)
    return process, base
