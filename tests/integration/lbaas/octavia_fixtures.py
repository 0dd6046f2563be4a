"""OpenStack Octavia for the contract suite and the adapter's own tests: the real
``octavia-api`` and ``octavia-worker`` (tests/octavia/env.py), one pair per test session,
started on first use and stopped when the session ends.

Each test starts with an Octavia that holds no load balancer: whatever a test left is
deleted (cascade) and waited for afterwards.  Every wait is bounded.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from loadbalancers.adapters.lbaas.octavia import OctaviaLBaaS
from loadbalancers.application.lbaas import MemberSpec
from tests.integration.lbaas.harness import INSTALLATION, Harness
from tests.octavia.env import OctaviaService

PROJECT = "a0000000000000000000000000000001"  # the adapter's default project
VIP_SUBNET = "8f2b4d3a-7b73-4b5e-9b55-3a4c2b1f0d11"  # any id will do with the no-op network driver
SETTLE_WITHIN = 90.0  # seconds for Octavia's worker to finish what it was asked (about 1-2 s each here)
OPERATOR = "octavia-operator"  # the project Octavia's own operator acts from (as admin)

_OCTAVIA = pytest.StashKey["OctaviaService | str"]()  # the service, or why it could not start


def octavia_service(config: pytest.Config) -> OctaviaService:
    """The session's Octavia, started on first use and stopped when the session ends."""
    service = config.stash.get(_OCTAVIA, None)
    if isinstance(service, str):
        pytest.fail(f"the tests' Octavia could not start earlier in this session: {service}")
    if service is None:
        try:
            service = OctaviaService.start()
        except Exception as failed:
            config.stash[_OCTAVIA] = f"{type(failed).__name__}: {failed}"  # one try a session, not one a test
            raise
        config.stash[_OCTAVIA] = service
        config.add_cleanup(service.stop)
    return service


def adapter(service: OctaviaService, **options: Any) -> OctaviaLBaaS:
    settings: dict[str, Any] = {
        "endpoint": service.endpoint,
        "project_id": PROJECT,
        "vip_subnet_id": VIP_SUBNET,
        "installation": INSTALLATION,
        "timeout": 30.0,
        "step_timeout": SETTLE_WITHIN,
        "poll_interval": 0.1,
    }
    return OctaviaLBaaS(**{**settings, **options})


def every_load_balancer(service: OctaviaService) -> list[dict[str, Any]]:
    """Every load balancer at Octavia, in every project (as its operator sees them)."""
    status, body = service.request("GET", "/v2/lbaas/loadbalancers", project=OPERATOR)
    assert status == 200, body
    return body["loadbalancers"]


def settle(service: OctaviaService) -> None:
    """Wait until nothing at Octavia is PENDING_*."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while pending := [
        lb["id"] for lb in every_load_balancer(service) if lb["provisioning_status"].startswith("PENDING_")
    ]:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"octavia: {pending} still pending after {SETTLE_WITHIN:.0f} s:\n{service.log_tail('octavia-worker')}"
            )
        time.sleep(0.1)


def clean_up(service: OctaviaService) -> None:
    """Delete every load balancer (cascade) and wait until Octavia has none."""
    settle(service)
    for lb in every_load_balancer(service):
        service.request("DELETE", f"/v2/lbaas/loadbalancers/{lb['id']}?cascade=true", project=OPERATOR)
    deadline = time.monotonic() + SETTLE_WITHIN
    while left := every_load_balancer(service):
        if time.monotonic() > deadline:
            raise AssertionError(f"octavia: {[lb['id'] for lb in left]} not deleted after {SETTLE_WITHIN:.0f} s")
        time.sleep(0.1)


def tamper(service: OctaviaService, ref: str) -> set[str]:
    """Change the load balancer ``ref`` as Octavia's operator would, past the portal: the
    other algorithm on its pool, another weight for its first member, its last member
    deleted.  Returns the fields ``spec_changes`` then finds."""
    _, body = service.request("GET", f"/v2/lbaas/loadbalancers/{ref}", project=OPERATOR)
    [pool] = body["loadbalancer"]["pools"]
    _, body = service.request("GET", f"/v2/lbaas/pools/{pool['id']}", project=OPERATOR)
    algorithm = "SOURCE_IP" if body["pool"]["lb_algorithm"] != "SOURCE_IP" else "ROUND_ROBIN"
    _, members = service.request("GET", f"/v2/lbaas/pools/{pool['id']}/members", project=OPERATOR)
    ordered = sorted(members["members"], key=lambda m: (m["address"], m["protocol_port"]))
    first, last = ordered[0], ordered[-1]
    for method, path, change in (
        ("PUT", f"/v2/lbaas/pools/{pool['id']}", {"pool": {"lb_algorithm": algorithm}}),
        ("PUT", f"/v2/lbaas/pools/{pool['id']}/members/{first['id']}", {"member": {"weight": first["weight"] + 7}}),
        ("DELETE", f"/v2/lbaas/pools/{pool['id']}/members/{last['id']}", None),
    ):
        settle(service)  # Octavia takes one change at a time
        status, answer = service.request(method, path, project=OPERATOR, body=change)
        assert status in (200, 202, 204), answer
    settle(service)
    fields = {"algorithm", f"member {last['address']}:{last['protocol_port']}"}
    # The first member's weight, unless it is in drain (weight 0 then reads as enabled).
    fields.add(f"member {first['address']}:{first['protocol_port']} weight")
    if first["weight"] == 0:
        fields.add(f"member {first['address']}:{first['protocol_port']} admin_state")
    return fields


def new_project() -> str:
    """A Keystone-style project id (32 hex digits)."""
    return uuid.uuid4().hex


@pytest.fixture
def octavia_lbaas(pytestconfig) -> Iterator[Harness]:
    service = octavia_service(pytestconfig)
    clean_up(service)
    yield Harness(
        client=adapter(service),
        members=[MemberSpec(f"10.30.0.{10 + i}", 8080 + i) for i in range(3)],
        settle=partial(settle, service),
        tamper=partial(tamper, service),
    )
    clean_up(service)
