"""A real HAProxy for the contract suite and the end-to-end test: its own state folder
(short, for the sockets' path limit), its own loopback network, stopped afterwards."""

from __future__ import annotations

import os
import random
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loadbalancers.adapters.lbaas.haproxy import HAProxyLBaaS
from loadbalancers.application.lbaas import MemberSpec, _member_key
from loadbalancers.domain.members import AdminState
from tests.integration.lbaas.harness import INSTALLATION, Harness

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


class Backend:
    """A tiny HTTP server that answers with its own name: 200, or 500 on the paths in
    ``failing`` (a set the test may change while it runs)."""

    def __init__(self, name: str, delay: float = 0.0, failing: Iterable[str] = ()):
        answer = name.encode()
        self.holding = threading.Event()  # a slow request has arrived and is being held
        self.failing = set(failing)
        holding, failing_paths = self.holding, self.failing

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if delay and self.headers.get("X-Slow"):
                    holding.set()
                    time.sleep(delay)
                self.send_response(500 if self.path in failing_paths else 200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cli(path: Path, command: str) -> str:
    """One command on an HAProxy CLI socket, and its whole answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as cli:
        cli.settimeout(10)
        cli.connect(str(path))
        cli.sendall(command.encode() + b"\n")
        cli.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: cli.recv(65536), b"")).decode()


def runtime_command(client: HAProxyLBaaS, command: str) -> None:
    """A command typed on the client's HAProxy admin socket, behind the adapter's back;
    HAProxy answers nothing when it takes it."""
    answer = _cli(client.config_path.parent / "admin.sock", command)
    assert not answer.strip(), f"haproxy refused {command!r}: {answer.strip()}"


def tamper(client: HAProxyLBaaS, ref: str) -> set[str]:
    """Through the runtime API: the first member's weight to 7 (8 if it is 7), the second
    member in drain (in maintenance if it is drained already).  The first member must be
    enabled, so that its weight is all that changes of it."""
    running = client.get(ref).running
    assert running is not None, "haproxy answers"
    assert len(running.members) >= 2, running
    first, second = running.members[:2]
    assert first.admin_state == AdminState.ENABLED, "the first member's new weight is all that changes"
    state = "maint" if second.admin_state == AdminState.DRAIN else "drain"
    runtime_command(client, f"set server be-{ref}/m0 weight {8 if first.weight == 7 else 7}")
    runtime_command(client, f"set server be-{ref}/m1 state {state}")
    return {f"member {_member_key(first)} weight", f"member {_member_key(second)} admin_state"}


def reloads(client: HAProxyLBaaS) -> tuple[int, tuple[str, ...]]:
    """How many times the client's HAProxy master reloaded, and its workers' pids, from
    ``show proc`` on the master CLI: both stay the same while no reload happens."""
    answer = _cli(client.config_path.parent / "master.sock", "show proc")
    rows = [line.split() for line in answer.splitlines() if not line.startswith("#")]
    (master,) = [row for row in rows if len(row) > 2 and row[1] == "master"]
    return int(master[2]), tuple(row[0] for row in rows if len(row) > 2 and row[1] == "worker")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def haproxy_or_skip() -> None:
    if not os.path.exists(HAPROXY):
        if os.environ.get("CI"):
            pytest.fail(f"haproxy is missing at {HAPROXY}: `make test` installs it")
        pytest.skip("haproxy is not installed (`make test` installs it)")


def running_haproxy(**options: object) -> Iterator[HAProxyLBaaS]:
    haproxy_or_skip()
    state_dir = tempfile.mkdtemp(prefix="hap-", dir="/tmp")
    client = HAProxyLBaaS(
        state_dir=state_dir,
        vip_network=f"127.77.{random.randrange(1, 255)}.0/24",
        haproxy_bin=HAPROXY,
        **options,  # type: ignore[arg-type]
    )
    try:
        yield client
    finally:
        client.stop()
        time.sleep(0.2)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def haproxy_client() -> Iterator[HAProxyLBaaS]:
    yield from running_haproxy(installation=INSTALLATION)


@pytest.fixture
def haproxy_lbaas(haproxy_client) -> Harness:
    return Harness(
        client=haproxy_client,
        members=[MemberSpec("127.0.0.1", free_port()) for _ in range(3)],
        settle=lambda: None,  # HAProxy applies a change before it answers
        listener_port=free_port(),
        tamper=lambda ref: tamper(haproxy_client, ref),
    )
