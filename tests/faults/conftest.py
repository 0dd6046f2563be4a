"""Fault injection against real components: the portal's own processes (gunicorn, the
Celery worker and scheduler, `manage.py runportal`) started as they run in production,
on the test database, with a broken dependency beside them.  Every wait is bounded, and
every process a test starts is stopped (its whole process group) when it ends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import ServerFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_of_this_test() -> str:
    """The URL of the database this test runs on, for the processes it starts."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Answer:
    status: int
    body: dict
    seconds: float


def call(method: str, url: str, token: str | None = None, body: dict | None = None, timeout: float = 60) -> Answer:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(
        url, method=method, data=None if body is None else json.dumps(body).encode(), headers=headers
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return Answer(status, json.loads(raw or b"{}"), time.monotonic() - started)


def wait_for(check, what: str, timeout: float = 60.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class Processes:
    """The processes a test started, each leading a process group of its own."""

    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, args: list[str], env: dict[str, str], log: Path, **options: object) -> subprocess.Popen:
        out = log.open("ab")
        process = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, process_group=0, **options
        )
        out.close()
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


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
    token = Token.objects.create(user=user).key
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
    """A port that accepts TCP connections and never says a word: a broker that hangs."""
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


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                # The parent is the fourth field after the command name in parentheses.
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def command_of(pid: int) -> str:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
