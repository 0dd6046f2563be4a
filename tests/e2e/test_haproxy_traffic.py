"""End to end on a real data plane: a load balancer made through the REST API on the
haproxy provider, with an HTTP health monitor, balances real HTTP traffic between two
backends on 127.0.0.1, notices a backend that stops (and says why, per member), follows
a member change and a drain, and closes its port once deleted."""

from __future__ import annotations

import itertools
import socket
import urllib.request

import pytest

from loadbalancers.bootstrap import build
from tests.conftest import wait_until
from tests.factories import ServerFactory
from tests.integration.lbaas.haproxy_fixtures import Backend, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(vip: str, port: int) -> str:
    with urllib.request.urlopen(f"http://{vip}:{port}/", timeout=5) as response:
        return response.read().decode()


def test_real_traffic_balanced_a_failing_backend_detected_and_cleaned_up(alice_api, haproxy_provider, celery_worker):
    one, two, three = Backend("one"), Backend("two"), Backend("three")
    servers = [ServerFactory(address="127.0.0.1", port=b.port) for b in (one, two, three)]
    port = free_port()

    created = alice_api.post(
        "/api/v1/load-balancers/",
        {
            "name": "real",
            "servers": [servers[0].pk, servers[1].pk],
            "listener_port": port,
            "provider": "haproxy",
            "health_monitor": {"type": "HTTP", "interval": 2, "timeout": 1, "retries_up": 1, "retries_down": 1},
        },
        format="json",
    )
    assert created.status_code == 202, created.json()
    url = created["Location"]
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE")
    vip = alice_api.get(url).json()["vip_address"]

    answers = [fetch(vip, port) for _ in range(20)]
    assert sorted(set(answers)) == ["one", "two"]
    assert all(a != b for a, b in itertools.pairwise(answers))  # in turn

    one.stop()

    def degraded() -> bool:
        build().reconciliation.reconcile()
        return alice_api.get(url).json()["operating_status"] == "DEGRADED"

    wait_until(degraded, timeout=30)
    assert {fetch(vip, port) for _ in range(10)} == {"two"}
    health = {m["port"]: m for m in alice_api.get(url).json()["servers"]}
    assert (health[one.port]["operating_status"], health[two.port]["operating_status"]) == ("ERROR", "ONLINE")
    assert "L4CON" in health[one.port]["status_reason"]  # HAProxy's own word: the connection was refused

    changed = alice_api.patch(url, {"servers": [servers[1].pk, servers[2].pk]}, format="json")
    assert changed.status_code == 202
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE")
    assert {fetch(vip, port) for _ in range(10)} == {"two", "three"}

    drained = alice_api.patch(
        url, {"servers": [servers[1].pk, {"server": servers[2].pk, "admin_state": "drain"}]}, format="json"
    )
    assert drained.status_code == 202, drained.json()
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE")
    assert {fetch(vip, port) for _ in range(10)} == {"two"}  # a drained member takes no new requests
    assert alice_api.get(url).json()["servers"][1]["operating_status"] == "DRAINING"

    assert alice_api.delete(url).status_code == 202
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "DELETED")
    with pytest.raises(ConnectionRefusedError), socket.create_connection((vip, port), timeout=2):
        pass
    two.stop()
    three.stop()
