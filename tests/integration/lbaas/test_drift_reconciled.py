"""Drift end to end against each real provider: a load balancer the portal made is
changed at the provider itself (the sandbox's file, HAProxy's runtime API, the ELBv2 API
on moto); the reconciler finds it, records and tells it field by field, and under the
repair policy applies the record again until the provider runs it once more.  The
portal's records are the in-memory fakes (tests.fakes.Portal); the provider is real."""

from uuid import UUID

import pytest

from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.drift import DriftPolicy
from loadbalancers.domain.model import ProvisioningStatus
from tests.fakes import Portal
from tests.integration.lbaas.harness import INSTALLATION, Harness
from tests.integration.lbaas.test_contract import ADAPTERS


def policy(drift: DriftPolicy) -> ProvisioningPolicy:
    return ProvisioningPolicy(poll_interval=0, pending_timeout=600, stuck_after=60, drift_policy=drift)


@pytest.fixture(params=ADAPTERS)
def lbaas(request) -> Harness:
    return request.getfixturevalue(f"{request.param}_lbaas")


def portal_on(lbaas: Harness, drift: DriftPolicy) -> Portal:
    portal = Portal(policy(drift), provider=lbaas.client, installation=INSTALLATION)
    for _ in range(3):
        portal.add_server()
    return portal


def settle(portal: Portal, lbaas: Harness, lb_id: UUID) -> None:
    """Run the workers, letting the provider finish between steps, until the load
    balancer is ACTIVE and no work is left."""
    for _ in range(30):
        portal.run_tasks()
        lbaas.settle()
        if not portal.scheduler.sent and portal.stored(lb_id).provisioning_status is ProvisioningStatus.ACTIVE:
            return
    raise AssertionError(f"not ACTIVE: {portal.stored(lb_id).provisioning_status}, {portal.stored(lb_id).error_reason}")


def made(portal: Portal, lbaas: Harness) -> UUID:
    servers = list(portal.uow.servers.rows)
    lb_id = portal.load_balancers.create_one(portal.actor(1), CreateLoadBalancer(name="shop", servers=servers)).id
    settle(portal, lbaas, lb_id)
    return lb_id


def open_drift(portal: Portal, lb_id: UUID) -> set[str]:
    return {d.field for d in portal.uow.drift.get_list(lb_ids=[lb_id])}


def test_drift_at_the_provider_is_found_told_and_under_repair_fixed(lbaas):
    portal = portal_on(lbaas, DriftPolicy.REPAIR)
    lb_id = made(portal, lbaas)
    assert portal.reconciliation.reconcile().drifted == []
    assert lbaas.tamper is not None

    changed = lbaas.tamper(portal.stored(lb_id).provider_ref)  # type: ignore[arg-type]
    found = portal.reconciliation.reconcile()

    assert (found.drifted, found.repaired, found.failed) == ([lb_id], [lb_id], [])
    assert open_drift(portal, lb_id) == changed
    (told,) = portal.entries(action="load_balancer.drift_found")
    assert {c.field for c in told.changes} == changed
    assert portal.stored(lb_id).provisioning_status is ProvisioningStatus.PENDING_UPDATE

    settle(portal, lbaas, lb_id)
    after = portal.reconciliation.reconcile()

    assert (after.drifted, after.repaired, after.failed) == ([], [], [])
    assert open_drift(portal, lb_id) == set()
    assert len(portal.entries(action="load_balancer.drift_resolved")) == 1
    assert [e.action for e in portal.entries(target_id=str(lb_id)) if "drift" in e.action or "repair" in e.action] == [
        "load_balancer.drift_found",
        "load_balancer.repair_requested",
        "load_balancer.drift_resolved",
    ]


def test_drift_at_the_provider_is_only_told_under_the_report_policy(lbaas):
    portal = portal_on(lbaas, DriftPolicy.REPORT)
    lb_id = made(portal, lbaas)
    changed = lbaas.tamper(portal.stored(lb_id).provider_ref)  # type: ignore[arg-type,misc]

    first, second = portal.reconciliation.reconcile(), portal.reconciliation.reconcile()

    assert (first.drifted, first.repaired, second.drifted, second.repaired) == ([lb_id], [], [lb_id], [])
    assert open_drift(portal, lb_id) == changed
    assert len(portal.entries(action="load_balancer.drift_found")) == 1
    assert portal.stored(lb_id).provisioning_status is ProvisioningStatus.ACTIVE
    assert portal.scheduler.sent == []
