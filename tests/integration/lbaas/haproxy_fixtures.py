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
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loadbalancers.adapters.lbaas.haproxy import HAProxyLBaaS
from loadbalancers.application.lbaas import MemberSpec
from tests.integration.lbaas.harness import INSTALLATION, Harness

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


class Backend:
    """A tiny HTTP server that answers with its own name."""

    def __init__(self, name: str, delay: float = 0.0):
        answer = name.encode()
        self.holding = threading.Event()  # a slow request has arrived and is being held
        holding = self.holding

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if delay and self.headers.get("X-Slow"):
                    holding.set()
                    time.sleep(delay)
                self.send_response(200)
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
    yield from running_haproxy(check_interval=0.3, installation=INSTALLATION)


@pytest.fixture
def haproxy_lbaas(haproxy_client) -> Harness:
    return Harness(
        client=haproxy_client,
        members=[MemberSpec("127.0.0.1", free_port()) for _ in range(3)],
        settle=lambda: None,  # HAProxy applies a change before it answers
        listener_port=free_port(),
    )
