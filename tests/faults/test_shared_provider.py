"""Two portals share one sandbox, one AWS account and name prefix, or one Octavia
project (staging and production): neither ever deletes what the other made.  A portal
whose database was restored from an older backup deletes nothing in bulk: it holds what
looks orphaned for an operator."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from loadbalancers.adapters.lbaas.octavia import OctaviaLBaaS
from loadbalancers.adapters.lbaas.sandbox import SandboxLBaaS
from loadbalancers.application.lbaas import LBaaSClient
from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.drift import DriftPolicy
from loadbalancers.domain.model import ProvisioningStatus
from portal.kernel.actors import Actor
from tests.fakes import OPS, Portal
from tests.integration.lbaas import octavia_fixtures
from tests.integration.lbaas.elbv2_fixtures import clean_up, moto_aws
from tests.octavia.env import OctaviaService

ALICE = Actor(user_id=1, username="alice", roles={1: "owner"})
# The repair policy: the one under which the reconciler deletes orphans at all.
AT_ONCE = ProvisioningPolicy(poll_interval=0, orphan_grace=0, orphan_max_deletes=10, drift_policy=DriftPolicy.REPAIR)


class SettledOctavia(OctaviaLBaaS):
    """The real octavia adapter, and a way to wait for Octavia's worker: the fake
    scheduler runs a portal's follow-ups back to back, with no time between them, and
    Octavia takes a second or two to build or delete a load balancer."""

    def __init__(self, service: OctaviaService, **options: Any) -> None:
        super().__init__(
            endpoint=service.endpoint,
            project_id=octavia_fixtures.PROJECT,
            vip_subnet_id=octavia_fixtures.VIP_SUBNET,
            step_timeout=octavia_fixtures.SETTLE_WITHIN,
            poll_interval=0.1,
            **options,
        )
        self.service = service

    def settle(self) -> None:
        octavia_fixtures.settle(self.service)


def settle(client: LBaaSClient) -> None:
    """Wait until the provider has finished what it was asked (the sandbox and moto
    finish at once)."""
    if isinstance(client, SettledOctavia):
        client.settle()


@pytest.fixture(params=["sandbox", "elbv2", "octavia"])
def make_client(request, tmp_path):  # type: ignore[no-untyped-def]
    """Builds clients of one shared provider, each for another installation."""
    made: list[LBaaSClient] = []
    service: OctaviaService | None = None
    if request.param == "sandbox":
        path = str(tmp_path / "shared-sandbox.sqlite3")

        def make(installation: str) -> LBaaSClient:
            return SandboxLBaaS(path=path, delay=0, installation=installation)
    elif request.param == "octavia":
        # Both installations act as one project with the same credentials, as two portals
        # on one cloud would: only the installation tag tells their load balancers apart.
        service = octavia_fixtures.octavia_service(request.config)
        octavia_fixtures.clean_up(service)

        def make(installation: str) -> LBaaSClient:
            assert service is not None
            return SettledOctavia(service, installation=installation)
    else:
        aws = moto_aws(request.config)
        prefix = f"s{uuid4().hex[:8]}"  # both installations use it, as two portals in one account would

        def make(installation: str) -> LBaaSClient:
            client = aws.adapter(name_prefix=prefix, installation=installation)
            made.append(client)
            return client

    yield make
    for client in made[:1]:
        clean_up(client)  # the prefix is shared: one clean-up deletes what both made
    if service is not None:
        octavia_fixtures.clean_up(service)


def provider_of(portal: Portal) -> LBaaSClient:
    return portal.providers.get(portal.providers.default)


def portal_on(client: LBaaSClient, installation: str, policy: ProvisioningPolicy = AT_ONCE) -> Portal:
    portal = Portal(policy, provider=client, installation=installation)
    for _ in range(3):
        portal.add_server()
    return portal


def create(portal: Portal, name: str) -> UUID:
    servers = list(portal.uow.servers.rows)[:2]
    lb_id = portal.load_balancers.create_one(ALICE, CreateLoadBalancer(name=name, servers=servers)).id
    run_until_idle(portal)
    assert portal.stored(lb_id).provisioning_status is ProvisioningStatus.ACTIVE
    return lb_id


def run_until_idle(portal: Portal) -> None:
    for _ in range(50):
        if not portal.scheduler.sent:
            return
        settle(provider_of(portal))
        portal.run_tasks()
    raise AssertionError("the work did not end")


def remote_refs(client: LBaaSClient) -> set[str]:
    settle(client)
    return {lb.ref for lb in client.get_list()}


def test_two_portals_on_one_provider_never_delete_each_others_resources(make_client):
    staging = portal_on(make_client("staging"), "staging")
    production = portal_on(make_client("production"), "production")
    ours = [create(production, f"prod-{n}") for n in range(3)]
    theirs = create(staging, "stage-0")
    everything = remote_refs(provider_of(staging))

    for portal in (staging, production, staging, production):
        report = portal.reconciliation.reconcile()
        assert (report.orphans_waiting, report.orphans_deleted, report.orphans_held, report.lost) == ([], [], [], [])

    assert remote_refs(provider_of(production)) == everything
    assert len(everything) == 4
    for portal, ids in ((production, ours), (staging, [theirs])):
        assert {portal.stored(i).provisioning_status for i in ids} == {ProvisioningStatus.ACTIVE}


def test_a_portal_restored_from_an_older_backup_holds_its_orphans_for_an_operator(make_client):
    client = make_client("production")
    policy = ProvisioningPolicy(poll_interval=0, orphan_max_deletes=2, drift_policy=DriftPolicy.REPAIR)
    production = portal_on(client, "production", policy)
    made_after_the_backup = [create(production, f"prod-{n}") for n in range(3)]
    refs = {production.stored(i).provider_ref for i in made_after_the_backup}
    for lb_id in made_after_the_backup:  # the backup did not have them
        del production.uow.load_balancers.rows[lb_id]

    waiting = production.reconciliation.reconcile()
    production.clock.advance(production.policy.orphan_grace)
    held = production.reconciliation.reconcile()

    assert (set(waiting.orphans_waiting), waiting.orphans_deleted) == (refs, [])
    assert (set(held.orphans_held), held.orphans_deleted) == (refs, [])
    assert remote_refs(client) == refs, "nothing was deleted without an operator"

    chosen = [orphan.id for orphan in production.uow.orphans.get_list()]
    outcome = production.reconciliation.delete_orphans(chosen, by=OPS)

    assert outcome == dict.fromkeys(refs, "deleted")
    assert remote_refs(client) == set()


def test_under_the_report_policy_orphans_are_reported_and_never_deleted(make_client):
    client = make_client("production")
    production = portal_on(client, "production", ProvisioningPolicy(poll_interval=0, orphan_grace=0))
    lost = [create(production, f"prod-{n}") for n in range(2)]
    refs = {production.stored(i).provider_ref for i in lost}
    for lb_id in lost:
        del production.uow.load_balancers.rows[lb_id]

    first = production.reconciliation.reconcile()
    for _ in range(3):
        production.clock.advance(3600)
        again = production.reconciliation.reconcile()

    assert set(first.orphans_found) == refs
    assert (again.orphans_found, again.orphans_deleted, again.orphans_held) == ([], [], [])
    assert set(again.orphans_waiting) == refs
    assert remote_refs(client) == refs, "nothing was deleted without an operator"
    assert [e.action for e in production.entries(target_type="provider_resource")] == [
        "provider_resource.orphan_found"
    ] * 2
