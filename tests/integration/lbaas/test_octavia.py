"""The octavia adapter against the real Octavia API and worker, for what the contract
suite does not say: projects keep tenants apart at Octavia too, Octavia's 409 while a
load balancer is pending is waited out, deletion cascades, what is not the portal's is
left alone, and a worker or an API that stops mid-way leaves the portal ACTIVE or ERROR,
never stuck.  Where a test needs Octavia busy, it stops the worker (the load balancer
then stays PENDING_* for certain) rather than racing it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound, ProviderUnavailable
from loadbalancers.domain.model import ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType
from tests.fakes import Portal
from tests.integration.lbaas.harness import INSTALLATION, Harness
from tests.integration.lbaas.octavia_fixtures import (
    OPERATOR,
    PROJECT,
    SETTLE_WITHIN,
    VIP_SUBNET,
    adapter,
    every_load_balancer,
    new_project,
    octavia_service,
)
from tests.octavia.env import OctaviaService
from tests.processes import wait_for

MONITOR = HealthMonitor(MonitorType.HTTP, interval=10, timeout=5, http_path="/healthz")


@pytest.fixture
def octavia(octavia_lbaas, pytestconfig) -> Iterator[OctaviaService]:
    """The session's Octavia, empty, with its worker running again after the test."""
    service = octavia_service(pytestconfig)
    yield service
    if "octavia-worker" not in service.processes:
        service.start_worker()
    if "octavia-api" not in service.processes:
        service.start_api()


def seen_by(octavia: OctaviaService, project: str, what: str = "loadbalancers") -> dict[str, str]:
    """What a member of ``project`` (not an admin) lists at Octavia: id -> project."""
    status, body = octavia.request("GET", f"/v2/lbaas/{what}", project=project, roles="member")
    assert status == 200, body
    return {item["id"]: item["project_id"] for item in body[what]}


def test_each_teams_project_keeps_its_load_balancers_apart_at_octavia(octavia_lbaas: Harness, octavia):
    client = octavia_lbaas.client
    team_a, team_b = new_project(), new_project()
    a = client.create(replace(octavia_lbaas.spec("a", 0), project=team_a), client_token=str(uuid4())).ref
    b = client.create(replace(octavia_lbaas.spec("b", 1), project=team_b), client_token=str(uuid4())).ref
    default = client.create(octavia_lbaas.spec("c", 2), client_token=str(uuid4())).ref
    octavia_lbaas.settle()

    assert seen_by(octavia, team_a) == {a: team_a}
    assert seen_by(octavia, team_b) == {b: team_b}
    assert seen_by(octavia, PROJECT) == {default: PROJECT}  # no project: the adapter's default
    assert set(seen_by(octavia, team_a, "pools").values()) == {team_a}  # and so are their pools
    status, _ = octavia.request("GET", f"/v2/lbaas/loadbalancers/{b}", project=team_a, roles="member")
    assert status in (403, 404)
    # The portal (Octavia's admin here) sees all three, each in its project.
    assert {lb.ref: lb.running.project for lb in client.get_list() if lb.running} == {
        a: team_a,
        b: team_b,
        default: PROJECT,
    }
    # A change of a team's project later moves nothing: Octavia cannot.
    client.update(a, replace(octavia_lbaas.spec("a", 0, 1), project=team_b))
    octavia_lbaas.settle()
    assert seen_by(octavia, team_a) == {a: team_a}


def test_a_change_asked_while_octavia_is_busy_waits_for_active(octavia_lbaas: Harness, octavia):
    client = octavia_lbaas.client
    octavia.stop_worker()  # the load balancer stays PENDING_CREATE until the worker is back
    ref = client.create(octavia_lbaas.spec("shop", 0, 1), client_token=str(uuid4())).ref
    status, body = octavia.request(
        "PUT", f"/v2/lbaas/loadbalancers/{ref}", project=OPERATOR, body={"loadbalancer": {"description": "now"}}
    )
    assert status == 409, body  # what Octavia says to any change meanwhile

    changed = octavia_lbaas.spec("shop", 1, 2, algorithm="LEAST_CONNECTIONS", health_monitor=MONITOR)
    with ThreadPoolExecutor(1) as pool:
        changing = pool.submit(client.update, ref, changed)
        octavia.start_worker()
        changing.result(timeout=SETTLE_WITHIN * 2)
    octavia_lbaas.settle()

    state = client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert state.running == client.as_running(replace(changed, project=PROJECT))


def test_octavia_busy_longer_than_a_step_may_wait_is_transient(octavia_lbaas: Harness, octavia):
    impatient = adapter(octavia, step_timeout=1.0)
    octavia.stop_worker()
    ref = impatient.create(octavia_lbaas.spec("shop", 0, 1), client_token=str(uuid4())).ref

    with pytest.raises(ProviderUnavailable, match="still PENDING_CREATE"):
        impatient.update(ref, octavia_lbaas.spec("shop", 1, 2))
    with pytest.raises(ProviderUnavailable, match="still PENDING_CREATE"):
        impatient.delete(ref)  # Octavia deletes nothing being built: waited for, as long as a step may
    assert impatient.get(ref).provisioning_status is ProvisioningStatus.PENDING_CREATE

    octavia.start_worker()  # asked again later, as the portal does, both go through
    octavia_lbaas.settle()
    # A step of the update may itself outlast the impatient second on a busy machine: that
    # is the same transient answer, and the next ask takes up what is left.
    wait_for(
        lambda: _taken(lambda: impatient.update(ref, octavia_lbaas.spec("shop", 1, 2))),
        "the update taken",
        timeout=SETTLE_WITHIN,
    )
    octavia_lbaas.settle()
    assert {(m.address, m.port) for m in impatient.get(ref).members} == {
        octavia_lbaas.address(1),
        octavia_lbaas.address(2),
    }
    wait_for(lambda: _taken(lambda: impatient.delete(ref)), "the delete taken", timeout=SETTLE_WITHIN)
    wait_for(lambda: _gone(impatient, ref), "the load balancer deleted", timeout=SETTLE_WITHIN)


def _taken(ask) -> bool:  # type: ignore[no-untyped-def]
    """Whether the provider took it now (False: busy, ask again later)."""
    try:
        ask()
    except ProviderUnavailable:
        return False
    return True


def _gone(client, ref: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        client.get(ref)
    except ProviderResourceNotFound:
        return True
    return False


def test_delete_cascades_to_every_object_the_load_balancer_had(octavia_lbaas: Harness, octavia):
    client = octavia_lbaas.client
    ref = client.create(octavia_lbaas.spec("shop", 0, 1, 2, health_monitor=MONITOR), client_token=str(uuid4())).ref
    octavia_lbaas.settle()
    _, body = octavia.request("GET", f"/v2/lbaas/loadbalancers/{ref}", project=OPERATOR)
    [listener], [pool] = body["loadbalancer"]["listeners"], body["loadbalancer"]["pools"]
    _, pool_body = octavia.request("GET", f"/v2/lbaas/pools/{pool['id']}", project=OPERATOR)
    children = [
        f"/v2/lbaas/listeners/{listener['id']}",
        f"/v2/lbaas/pools/{pool['id']}",
        f"/v2/lbaas/healthmonitors/{pool_body['pool']['healthmonitor_id']}",
    ]
    assert all(octavia.request("GET", path, project=OPERATOR)[0] == 200 for path in children)

    client.delete(ref)
    wait_for(lambda: _gone(client, ref), "the load balancer deleted", timeout=SETTLE_WITHIN)

    # Gone for the portal only once Octavia has finished (its pool's members vanish first).
    assert ref not in {lb["id"] for lb in every_load_balancer(octavia)}
    assert [octavia.request("GET", path, project=OPERATOR)[0] for path in children] == [404, 404, 404]
    assert client.get_list() == []


def test_what_is_not_a_portals_is_left_alone(octavia_lbaas: Harness, octavia):
    """A load balancer someone made at Octavia (no portal tags) is neither listed, nor
    read, changed or deleted by the portal; a retried create finds the portal's own."""
    status, body = octavia.request(
        "POST",
        "/v2/lbaas/loadbalancers",
        project=PROJECT,
        body={"loadbalancer": {"name": "theirs", "vip_subnet_id": VIP_SUBNET}},
    )
    assert status == 201, body
    theirs = body["loadbalancer"]["id"]
    octavia_lbaas.settle()
    client = octavia_lbaas.client

    assert client.get_list() == []
    with pytest.raises(ProviderRejected, match="not managed by a portal"):
        client.get(theirs)
    with pytest.raises(ProviderRejected, match="not managed by a portal"):
        client.update(theirs, octavia_lbaas.spec("theirs", 0))
    with pytest.raises(ProviderRejected, match="not managed by a portal"):
        client.delete(theirs)
    octavia_lbaas.settle()
    assert octavia.request("GET", f"/v2/lbaas/loadbalancers/{theirs}", project=PROJECT)[1]["loadbalancer"][
        "provisioning_status"
    ] == ("ACTIVE")


def test_a_port_octavia_refuses_is_refused_before_anything_is_deleted(octavia_lbaas: Harness, octavia):
    """Someone added a listener on port 81 at Octavia; moving the portal's listener there
    is Octavia's 409 (not a pending one): refused, and the portal's listener stays."""
    client = octavia_lbaas.client
    spec = octavia_lbaas.spec("shop", 0, 1)
    ref = client.create(spec, client_token=str(uuid4())).ref
    octavia_lbaas.settle()
    status, body = octavia.request(
        "POST",
        "/v2/lbaas/listeners",
        project=OPERATOR,
        body={"listener": {"loadbalancer_id": ref, "protocol": "HTTP", "protocol_port": 81}},
    )
    assert status == 201, body
    octavia_lbaas.settle()

    with pytest.raises(ProviderRejected, match="already using"):
        client.update(ref, replace(spec, listener_port=81))
    octavia_lbaas.settle()

    state = client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert state.running is not None
    assert state.running.listener_port == spec.listener_port


def test_a_port_change_makes_the_new_listener_before_deleting_the_old(octavia_lbaas: Harness, octavia):
    client = octavia_lbaas.client
    spec = octavia_lbaas.spec("shop", 0, 1)
    ref = client.create(spec, client_token=str(uuid4())).ref
    octavia_lbaas.settle()

    moved = replace(spec, listener_port=8443)
    assert [step.name for step in client.plan(ref, moved).operations] == ["create_listener", "delete_listener"]
    client.update(ref, moved)
    octavia_lbaas.settle()

    _, body = octavia.request("GET", "/v2/lbaas/listeners", project=OPERATOR)
    ports = [item["protocol_port"] for item in body["listeners"] if ref in {lb["id"] for lb in item["loadbalancers"]}]
    assert ports == [8443]
    assert client.plan(ref, moved).operations == ()


# -- through the portal's own provisioning ------------------------------------------------------


def portal_on(octavia_lbaas: Harness, *, pending_timeout: float = 600) -> Portal:
    policy = ProvisioningPolicy(poll_interval=0, pending_timeout=pending_timeout, stuck_after=60)
    portal = Portal(policy, provider=octavia_lbaas.client, installation=INSTALLATION)
    for _ in range(2):
        portal.add_server()
    return portal


def requested(portal: Portal, name: str = "shop") -> UUID:
    servers = list(portal.uow.servers.rows)
    return portal.load_balancers.create_one(portal.actor(1), CreateLoadBalancer(name=name, servers=servers)).id


def run_until_done(portal: Portal, octavia_lbaas: Harness, lb_id: UUID) -> ProvisioningStatus:
    """The workers' loop: run what was scheduled, let Octavia work, until nothing is left."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while portal.scheduler.sent:
        if time.monotonic() > deadline:
            raise AssertionError(f"still {portal.stored(lb_id).provisioning_status} after {SETTLE_WITHIN:.0f} s")
        portal.run_tasks()
        octavia_lbaas.settle()
    return portal.stored(lb_id).provisioning_status


def test_a_worker_stopped_mid_create_ends_active_once_it_is_back(octavia_lbaas: Harness, octavia):
    portal = portal_on(octavia_lbaas)
    lb_id = requested(portal)
    octavia.stop_worker()

    portal.run_tasks()  # the create: Octavia accepts it, its worker is away
    for _ in range(3):
        portal.run_tasks()  # the portal follows it meanwhile
    assert portal.stored(lb_id).provisioning_status is ProvisioningStatus.PENDING_CREATE
    assert portal.scheduler.sent, "the portal keeps following"

    octavia.start_worker()  # Octavia's queue kept the create for it
    assert run_until_done(portal, octavia_lbaas, lb_id) is ProvisioningStatus.ACTIVE
    assert portal.stored(lb_id).vip_address


def test_a_worker_that_never_comes_back_ends_in_error_not_pending(octavia_lbaas: Harness, octavia):
    portal = portal_on(octavia_lbaas, pending_timeout=600)
    lb_id = requested(portal)
    octavia.stop_worker()
    portal.run_tasks()
    portal.run_tasks()

    portal.clock.advance(601)
    portal.run_tasks()

    stored = portal.stored(lb_id)
    assert stored.provisioning_status is ProvisioningStatus.ERROR
    assert "timed out" in stored.error_reason
    assert not portal.scheduler.sent


def test_an_api_that_refuses_connections_is_retried_until_it_answers(octavia_lbaas: Harness, octavia):
    portal = portal_on(octavia_lbaas)
    lb_id = requested(portal)
    octavia.stop_api()

    with pytest.raises(ProviderUnavailable):
        portal.run_tasks()  # the worker's task retries this (loadbalancers.tasks)
    assert portal.stored(lb_id).provisioning_status is ProvisioningStatus.PENDING_CREATE

    octavia.start_api()
    portal.scheduler.provision(lb_id)  # the task's retry
    assert run_until_done(portal, octavia_lbaas, lb_id) is ProvisioningStatus.ACTIVE
    assert len(octavia_lbaas.client.get_list()) == 1


def test_the_reconciler_finds_lost_load_balancers_and_orphans_at_octavia(octavia_lbaas: Harness, octavia):
    """Octavia's inventory (what carries the portal's tags) feeds the reconcile pass: a
    record whose load balancer was deleted at Octavia is lost; a load balancer this
    installation made that no record owns is an orphan, reported (not deleted: the
    report policy)."""
    portal = portal_on(octavia_lbaas)
    kept, lost = requested(portal, "kept"), requested(portal, "lost")
    run_until_done(portal, octavia_lbaas, lost)
    orphan = octavia_lbaas.client.create(octavia_lbaas.spec("orphan", 0), client_token=str(uuid4())).ref
    gone = portal.stored(lost).provider_ref
    octavia.request("DELETE", f"/v2/lbaas/loadbalancers/{gone}?cascade=true", project=OPERATOR)
    wait_for(lambda: _gone(octavia_lbaas.client, gone), "deleted at Octavia", timeout=SETTLE_WITHIN)
    octavia_lbaas.settle()

    found = portal.reconciliation.reconcile()

    assert found.lost == [lost]
    assert portal.stored(lost).provisioning_status is ProvisioningStatus.ERROR
    assert portal.stored(kept).provisioning_status is ProvisioningStatus.ACTIVE
    assert found.orphans_found == [orphan]
    assert [o.ref for o in octavia_lbaas.client.get_list()].count(orphan) == 1


def test_a_change_octavias_worker_failed_reads_error_and_an_update_retries_it(octavia_lbaas: Harness, octavia):
    """Octavia's worker, failing a change, leaves the object in ERROR and the load
    balancer ACTIVE: the adapter says ERROR, naming it, and an update sends its settings
    again, which makes Octavia retry."""
    client = octavia_lbaas.client
    spec = octavia_lbaas.spec("shop", 0, 1, weights={0: 3})
    ref = client.create(spec, client_token=str(uuid4())).ref
    octavia_lbaas.settle()
    address, port = octavia_lbaas.address(0)
    octavia.sql(
        f"UPDATE member SET provisioning_status = 'ERROR' WHERE ip_address = '{address}' AND protocol_port = {port}"
    )

    state = client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ERROR
    assert f"member {address}:{port} in ERROR" in (state.error or "")
    assert [step.name for step in client.plan(ref, spec).operations] == ["update_member"]

    client.update(ref, spec)
    octavia_lbaas.settle()
    state = client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE, state.error
    assert client.plan(ref, spec).operations == ()


def test_two_updates_at_once_both_end_well(octavia_lbaas: Harness, octavia):
    """The reconciler may restart an update that is still under way: whichever makes a
    step first, the other finds it made (Octavia's 409) and plans again."""
    client = octavia_lbaas.client
    ref = client.create(octavia_lbaas.spec("shop", 0), client_token=str(uuid4())).ref
    octavia_lbaas.settle()
    changed = octavia_lbaas.spec("shop", 1, 2, algorithm="SOURCE_IP", health_monitor=MONITOR)

    with ThreadPoolExecutor(2) as pool:
        updates = [pool.submit(client.update, ref, changed) for _ in range(2)]
        for update in updates:
            update.result(timeout=SETTLE_WITHIN * 2)
    octavia_lbaas.settle()

    state = client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE, state.error
    assert client.plan(ref, changed).operations == ()
