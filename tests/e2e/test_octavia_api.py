"""End to end on the real OpenStack Octavia: a team whose operations set its Octavia
project creates a load balancer through the REST API on the octavia provider; the
portal's worker builds it at Octavia in that project (a member of another project does
not see it), follows a member and algorithm change, and deletes it with everything it
had."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts import models as account_models
from tests.conftest import wait_until
from tests.factories import ServerFactory
from tests.integration.lbaas.octavia_fixtures import (
    OPERATOR,
    PROJECT,
    SETTLE_WITHIN,
    VIP_SUBNET,
    clean_up,
    new_project,
    octavia_service,
)
from tests.octavia.env import OctaviaService

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def octavia_provider(settings, pytestconfig) -> Iterator[OctaviaService]:
    """The session's real Octavia, enabled next to the sandbox, empty before and after."""
    service = octavia_service(pytestconfig)
    clean_up(service)
    settings.LBAAS_PROVIDERS = ["sandbox", "octavia"]
    settings.OCTAVIA_LBAAS = {
        "cloud": None,
        "auth_url": None,
        "endpoint": service.endpoint,
        "region": None,
        "vip_subnet_id": VIP_SUBNET,
        "vip_network_id": None,
        "project_id": PROJECT,
        "timeout": 30.0,
        "step_timeout": SETTLE_WITHIN,
        "poll_interval": 0.1,
    }
    yield service
    clean_up(service)


def in_project(octavia: OctaviaService, project: str) -> dict[str, dict]:
    """The load balancers a member of ``project`` sees at Octavia, by id."""
    status, body = octavia.request("GET", "/v2/lbaas/loadbalancers", project=project, roles="member")
    assert status == 200, body
    return {lb["id"]: lb for lb in body["loadbalancers"]}


def members_at_octavia(octavia: OctaviaService, lb_id: str) -> tuple[str, set[tuple[str, int, int]]]:
    _, body = octavia.request("GET", f"/v2/lbaas/loadbalancers/{lb_id}", project=OPERATOR)
    [pool] = body["loadbalancer"]["pools"]
    _, pool_body = octavia.request("GET", f"/v2/lbaas/pools/{pool['id']}", project=OPERATOR)
    _, members = octavia.request("GET", f"/v2/lbaas/pools/{pool['id']}/members", project=OPERATOR)
    return pool_body["pool"]["lb_algorithm"], {
        (m["address"], m["protocol_port"], m["weight"]) for m in members["members"]
    }


def test_a_team_runs_its_load_balancer_at_octavia_in_its_own_project(alice, alice_api, octavia_provider, celery_worker):
    octavia = octavia_provider
    project = new_project()
    account_models.Team.objects.filter(slug="alice").update(project_id=project)
    servers = [ServerFactory(address=f"10.40.0.{i}", port=8080) for i in (1, 2, 3)]
    url_of = lambda answer: answer["Location"]  # noqa: E731

    created = alice_api.post(
        "/api/v1/load-balancers/",
        {
            "name": "shop",
            "servers": [servers[0].pk, {"server": servers[1].pk, "weight": 5}],
            "listener_port": 80,
            "provider": "octavia",
            "health_monitor": {"type": "HTTP", "interval": 5, "timeout": 3, "http_path": "/health"},
        },
        format="json",
    )
    assert created.status_code == 202, created.json()
    url = url_of(created)
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE", timeout=SETTLE_WITHIN)

    record = alice_api.get(url).json()
    [(lb_id, at_octavia)] = in_project(octavia, project).items()
    assert at_octavia["name"] == "shop"
    assert at_octavia["vip_address"] == record["vip_address"]
    assert in_project(octavia, PROJECT) == {}  # not in the portal's default project
    assert members_at_octavia(octavia, lb_id) == (
        "ROUND_ROBIN",
        {("10.40.0.1", 8080, 1), ("10.40.0.2", 8080, 5)},
    )

    changed = alice_api.patch(
        url,
        {"servers": [servers[1].pk, servers[2].pk], "algorithm": "LEAST_CONNECTIONS"},
        format="json",
    )
    assert changed.status_code == 202, changed.json()
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE", timeout=SETTLE_WITHIN)
    assert members_at_octavia(octavia, lb_id) == (
        "LEAST_CONNECTIONS",
        {("10.40.0.2", 8080, 5), ("10.40.0.3", 8080, 1)},
    )

    assert alice_api.delete(url).status_code == 202
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "DELETED", timeout=SETTLE_WITHIN)
    assert in_project(octavia, project) == {}
