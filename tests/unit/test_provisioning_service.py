"""The background side: provision, follow, update, delete, fail and reconcile."""

from dataclasses import replace

import pytest

from loadbalancers.application.payloads import CreateLoadBalancer, UpdateLoadBalancer
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.drift import DriftPolicy
from loadbalancers.domain.errors import InvalidTransition, LoadBalancerPending, ProviderRejected, ProviderUnavailable
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from servers.domain.errors import ServerInUse
from tests.fakes import OPS, FakeLBaaS, Portal

# The test portal's policy, but drift repaired and orphans deleted after their grace.
REPAIR = ProvisioningPolicy(poll_interval=1, pending_timeout=600, stuck_after=60, drift_policy=DriftPolicy.REPAIR)


def create_shop(portal, actor):
    servers = [portal.add_server(), portal.add_server()]
    return portal.load_balancers.create_one(actor, CreateLoadBalancer(name="shop", servers=servers)).id


@pytest.fixture
def created(portal, alice):
    return create_shop(portal, alice)


@pytest.fixture
def repairing():
    """A portal whose reconciler repairs drift and deletes orphans past their grace."""
    return Portal(policy=REPAIR)


def status(portal, lb_id):
    return portal.stored(lb_id).provisioning_status


class TestCreate:
    def test_provision_then_follow_ends_active_with_a_vip(self, portal, created):
        portal.run_tasks()  # provision: asks the provider, schedules a look
        assert status(portal, created) is ProvisioningStatus.PENDING_CREATE
        assert portal.stored(created).provider_ref == "fake-1"
        assert portal.scheduler.sent == [("follow", created)]

        portal.run_tasks()  # still pending at the provider: look again later
        assert portal.scheduler.sent == [("follow", created)]
        assert portal.stored(created).checked_at == portal.clock.now()

        portal.lbaas.finish()
        portal.run_tasks()
        lb = portal.stored(created)
        assert (lb.provisioning_status, lb.operating_status, lb.vip_address) == (
            ProvisioningStatus.ACTIVE,
            OperatingStatus.ONLINE,
            "192.0.2.1",
        )
        assert lb.error_reason is None
        assert portal.scheduler.sent == []

    def test_the_provider_gets_the_members_addresses_and_the_listener(self, portal, created):
        portal.run_tasks()
        spec = portal.lbaas.resources["fake-1"].spec
        assert [(m.address, m.port) for m in spec.members] == [("10.0.0.2", 8080), ("10.0.0.3", 8080)]
        assert (spec.name, spec.listener_protocol, spec.listener_port, spec.algorithm) == (
            "shop",
            "HTTP",
            80,
            "ROUND_ROBIN",
        )

    def test_a_provisioning_retry_never_creates_twice(self, portal, created):
        portal.provisioning.provision(created)
        portal.stored(created).provider_ref = None  # as if the first answer was lost
        portal.provisioning.provision(created)

        assert len(portal.lbaas.resources) == 1
        assert portal.lbaas.resources["fake-1"].token == str(created)

    def test_a_transient_provider_error_propagates_for_the_task_to_retry(self, portal, created):
        portal.lbaas.fail_next.append(ProviderUnavailable("timeout"))

        with pytest.raises(ProviderUnavailable):
            portal.provisioning.provision(created)

        assert status(portal, created) is ProvisioningStatus.PENDING_CREATE
        portal.provisioning.provision(created)
        assert portal.stored(created).provider_ref == "fake-1"

    def test_a_permanent_provider_error_ends_in_error_with_the_reason(self, portal, created):
        portal.lbaas.fail_next.append(ProviderRejected("quota exceeded"))

        portal.run_tasks()

        lb = portal.stored(created)
        assert lb.provisioning_status is ProvisioningStatus.ERROR
        assert lb.operating_status is OperatingStatus.ERROR
        assert lb.error_reason == "the provider refused to create it: quota exceeded"
        assert portal.scheduler.sent == []

    def test_an_error_at_the_provider_ends_in_error_with_its_reason(self, portal, created):
        portal.settle(error="no capacity in zone")

        assert status(portal, created) is ProvisioningStatus.ERROR
        assert portal.stored(created).error_reason == "no capacity in zone"

    def test_a_load_balancer_the_provider_lost_ends_in_error(self, portal, created):
        portal.run_tasks()
        portal.lbaas.resources.clear()
        portal.run_tasks()

        assert status(portal, created) is ProvisioningStatus.ERROR
        assert "no longer has" in portal.stored(created).error_reason

    def test_too_long_pending_ends_in_error(self, portal, created):
        portal.run_tasks()
        portal.clock.advance(601)
        portal.run_tasks()

        assert status(portal, created) is ProvisioningStatus.ERROR
        assert portal.stored(created).error_reason.startswith("timed out: still PENDING_CREATE")

    def test_a_step_for_a_load_balancer_that_moved_on_does_nothing(self, portal, created):
        portal.settle()
        calls = len(portal.lbaas.calls)

        portal.provisioning.provision(created)
        assert portal.provisioning.follow(created) is False

        assert len(portal.lbaas.calls) == calls
        assert status(portal, created) is ProvisioningStatus.ACTIVE

    def test_fail_after_the_outcome_is_stored_changes_nothing(self, portal, created):
        portal.settle()

        portal.provisioning.fail(created, "late failure")

        assert status(portal, created) is ProvisioningStatus.ACTIVE


class CreatesAtOnce(FakeLBaaS):
    """A provider whose create is over when it answers (as the HAProxy provider's is);
    ``meanwhile`` runs while it creates (someone else acting on the record)."""

    meanwhile = None

    def create(self, spec, *, client_token):
        created = super().create(spec, client_token=client_token)
        self.resources[created.ref].status = ProvisioningStatus.ACTIVE
        if self.meanwhile is not None:
            self.meanwhile()
        return self._answer(created.ref)


class TestCreateAnsweredActive:
    """A create the provider answers with ACTIVE is stored ACTIVE from that answer: one
    provider call, no look scheduled."""

    @pytest.fixture
    def at_once(self):
        return CreatesAtOnce(name="fake")

    @pytest.fixture
    def portal(self, at_once):
        return Portal(provider=at_once)

    def test_it_is_active_with_its_vip_and_members_after_the_create_alone(self, portal, at_once, created):
        portal.run_tasks()

        lb = portal.stored(created)
        assert (lb.provisioning_status, lb.operating_status, lb.vip_address, lb.provider_ref) == (
            ProvisioningStatus.ACTIVE,
            OperatingStatus.ONLINE,
            "192.0.2.1",
            "fake-1",
        )
        assert [m.operating_status for m in lb.members] == [OperatingStatus.ONLINE, OperatingStatus.ONLINE]
        assert lb.error_reason is None
        assert at_once.calls == ["create"]
        assert portal.scheduler.sent == []

    def test_the_trail_tells_the_same_story_as_after_a_look(self, portal, created):
        portal.run_tasks()

        actions = [e.action for e in portal.entries(target_id=str(created))]
        started, active = "load_balancer.provisioning_started", "load_balancer.active"
        assert actions == ["load_balancer.create_requested", started, active]

    def test_a_create_answered_pending_is_still_followed(self, portal, at_once, created):
        at_once.create = lambda spec, *, client_token: FakeLBaaS.create(at_once, spec, client_token=client_token)

        portal.run_tasks()

        assert status(portal, created) is ProvisioningStatus.PENDING_CREATE
        assert portal.scheduler.sent == [("follow", created)]

    def test_a_delete_requested_meanwhile_keeps_the_reference_and_is_not_made_active(
        self, portal, at_once, alice, created
    ):
        def timed_out_then_deleted():
            portal.provisioning.fail(created, "timed out")
            portal.load_balancers.delete_one(alice, created)

        at_once.meanwhile = timed_out_then_deleted
        portal.run_tasks()

        lb = portal.stored(created)
        assert (lb.provisioning_status, lb.provider_ref) == (ProvisioningStatus.PENDING_DELETE, "fake-1")
        assert ("follow", created) in portal.scheduler.sent

    def test_a_load_balancer_that_went_to_error_meanwhile_stays_in_error(self, portal, at_once, created):
        at_once.meanwhile = lambda: portal.provisioning.fail(created, "timed out")

        portal.run_tasks()

        lb = portal.stored(created)
        assert (lb.provisioning_status, lb.error_reason) == (ProvisioningStatus.ERROR, "timed out")


class TestUpdateAndDelete:
    def test_update_sends_the_new_members_and_ends_active(self, portal, alice, created):
        portal.settle()
        third = portal.add_server("third")
        portal.load_balancers.update_one(alice, created, UpdateLoadBalancer(servers=[third], algorithm="SOURCE_IP"))

        portal.settle()

        spec = portal.lbaas.resources["fake-1"].spec
        assert [m.address for m in spec.members] == ["10.0.0.4"]
        assert spec.algorithm == "SOURCE_IP"
        assert status(portal, created) is ProvisioningStatus.ACTIVE
        assert portal.stored(created).server_ids == (third,)

    def test_update_rejected_by_the_provider_ends_in_error(self, portal, alice, created):
        portal.settle()
        portal.load_balancers.update_one(alice, created, UpdateLoadBalancer(description="x"))
        portal.lbaas.fail_next.append(ProviderRejected("invalid member"))

        portal.run_tasks()

        assert status(portal, created) is ProvisioningStatus.ERROR
        assert "invalid member" in portal.stored(created).error_reason

    def test_delete_ends_deleted_and_releases_the_servers(self, portal, alice, created):
        portal.settle()
        member = portal.stored(created).server_ids[0]
        with pytest.raises(ServerInUse):
            portal.servers.delete_one(OPS, member)

        portal.load_balancers.delete_one(alice, created)
        portal.settle()

        lb = portal.stored(created)
        assert (lb.provisioning_status, lb.server_ids, lb.vip_address) == (ProvisioningStatus.DELETED, (), None)
        assert portal.lbaas.resources == {}
        portal.servers.delete_one(OPS, member)
        assert member not in portal.uow.servers.rows

    def test_deleting_what_never_reached_the_provider_finishes_at_once(self, portal, alice, created):
        portal.lbaas.fail_next.append(ProviderRejected("quota exceeded"))
        portal.run_tasks()
        portal.load_balancers.delete_one(alice, created)

        portal.run_tasks()

        assert status(portal, created) is ProvisioningStatus.DELETED
        assert portal.lbaas.calls == ["create", "get_list"]  # nothing held under its client token

    def test_delete_rejected_by_the_provider_ends_in_error_and_can_be_retried(self, portal, alice, created):
        portal.settle()
        portal.load_balancers.delete_one(alice, created)
        portal.lbaas.fail_next.append(ProviderRejected("locked"))
        portal.run_tasks()
        assert status(portal, created) is ProvisioningStatus.ERROR

        portal.load_balancers.delete_one(alice, created)
        portal.settle()
        assert status(portal, created) is ProvisioningStatus.DELETED


class TestReconcile:
    def test_restarts_work_nobody_looked_at_and_times_out_the_oldest(self, alice):
        portal = Portal()
        servers = [portal.add_server()]
        old = portal.load_balancers.create_one(alice, CreateLoadBalancer(name="old", servers=servers)).id
        portal.clock.advance(500)
        stuck = portal.load_balancers.create_one(alice, CreateLoadBalancer(name="stuck", servers=servers)).id
        portal.clock.advance(30)
        fresh = portal.load_balancers.create_one(alice, CreateLoadBalancer(name="fresh", servers=servers)).id
        portal.scheduler.take()  # the messages were lost: no worker got them
        portal.clock.advance(101)

        report = portal.reconciliation.reconcile()

        assert report.timed_out == [old]
        assert status(portal, old) is ProvisioningStatus.ERROR
        assert set(report.resumed) == {stuck, fresh}
        assert sorted(portal.scheduler.take()) == sorted([("provision", stuck), ("provision", fresh)])
        assert portal.reconciliation.reconcile().resumed == []  # not again before stuck_after

    def test_resumed_work_reaches_a_final_state(self, portal, alice, created):
        portal.scheduler.take()
        portal.clock.advance(61)
        portal.reconciliation.reconcile()

        portal.settle()

        assert status(portal, created) is ProvisioningStatus.ACTIVE

    @pytest.mark.parametrize(
        ("request_it", "expected"),
        [
            (lambda p, a, i: p.load_balancers.update_one(a, i, UpdateLoadBalancer(description="x")), "apply_update"),
            (lambda p, a, i: p.load_balancers.delete_one(a, i), "deprovision"),
        ],
    )
    def test_restarts_updates_and_deletes_too(self, portal, alice, created, request_it, expected):
        portal.settle()
        request_it(portal, alice, created)
        portal.scheduler.take()
        portal.clock.advance(61)

        portal.reconciliation.reconcile()

        assert portal.scheduler.take() == [(expected, created)]


class TestRaces:
    def test_a_stale_follow_never_takes_the_state_before_an_update_for_its_outcome(self, portal, alice, created):
        portal.settle()
        third = portal.add_server("third")
        portal.load_balancers.update_one(alice, created, UpdateLoadBalancer(servers=[third]))
        portal.scheduler.take()

        # A follow left over from earlier runs before the update reached the provider,
        # which still reports ACTIVE with the old members.
        assert portal.provisioning.follow(created) is False
        assert status(portal, created) is ProvisioningStatus.PENDING_UPDATE

        portal.provisioning.apply_update(created)
        portal.settle()
        assert status(portal, created) is ProvisioningStatus.ACTIVE
        assert [m.address for m in portal.lbaas.resources["fake-1"].spec.members] == ["10.0.0.4"]

    def test_deleting_after_a_lost_create_deletes_what_the_provider_holds_under_the_token(self, portal, alice, created):
        portal.provisioning.provision(created)
        portal.stored(created).provider_ref = None  # the answer to create was lost
        portal.scheduler.take()
        portal.clock.advance(601)
        portal.reconciliation.reconcile()  # times it out: ERROR, the resource still at the provider
        assert status(portal, created) is ProvisioningStatus.ERROR
        assert list(portal.lbaas.resources) == ["fake-1"]

        portal.load_balancers.delete_one(alice, created)
        portal.settle()

        assert status(portal, created) is ProvisioningStatus.DELETED
        assert portal.lbaas.resources == {}


class TestReconcileWithTheProvider:
    def test_operating_status_changes_are_picked_up(self, portal, created):
        portal.settle()
        version = portal.stored(created).version
        failing = portal.degrade(created)

        report = portal.reconciliation.reconcile()

        assert report.refreshed == [created]
        assert portal.stored(created).operating_status is OperatingStatus.DEGRADED
        assert portal.stored(created).members[0].server_id == failing
        assert portal.stored(created).members[0].operating_status is OperatingStatus.ERROR
        assert portal.stored(created).members[0].status_reason == "check failed"
        assert portal.reconciliation.reconcile().refreshed == []  # nothing new: nothing written
        assert portal.stored(created).version == version + 1

    def test_a_load_balancer_deleted_out_of_band_goes_to_error_and_can_be_deleted(self, portal, alice, created):
        portal.settle()
        portal.lbaas.resources.clear()

        report = portal.reconciliation.reconcile()

        assert report.lost == [created]
        lb = portal.stored(created)
        assert (lb.provisioning_status, lb.error_reason) == (
            ProvisioningStatus.ERROR,
            "the provider no longer has this load balancer",
        )
        portal.load_balancers.delete_one(alice, created)
        portal.settle()
        assert status(portal, created) is ProvisioningStatus.DELETED

    def test_a_load_balancer_deleted_while_the_provider_lists_is_not_taken_for_an_orphan(self, portal, created):
        portal.settle()
        listing = portal.lbaas.get_list

        def deleted_meanwhile():
            listed = listing()  # the resource is listed, then its deletion is over
            portal.stored(created).provisioning_status = ProvisioningStatus.DELETED
            return listed

        portal.lbaas.get_list = deleted_meanwhile
        report = portal.reconciliation.reconcile()

        assert (report.orphans_found, report.orphans_waiting, report.failed) == ([], [], [])
        assert portal.uow.orphans.get_list() == []

    def test_the_resource_of_a_load_balancer_deleted_before_the_pass_is_an_orphan(self, portal, created):
        portal.settle()
        portal.stored(created).provisioning_status = ProvisioningStatus.DELETED

        report = portal.reconciliation.reconcile()

        assert report.orphans_found == ["fake-1"]

    @staticmethod
    def _make_remote(portal, *, token=None, installation="this-portal"):
        from uuid import uuid4

        from loadbalancers.application.lbaas import LoadBalancerSpec

        portal.lbaas.installation = installation
        try:
            spec = LoadBalancerSpec("x", "HTTP", 80, "ROUND_ROBIN", ())
            return portal.lbaas.create(spec, client_token=token or str(uuid4())).ref
        finally:
            portal.lbaas.installation = "this-portal"

    def test_under_the_repair_policy_an_orphan_is_deleted_only_after_the_grace_period(self, repairing, alice):
        portal = repairing
        created = create_shop(portal, alice)
        portal.settle()
        orphan = self._make_remote(portal)

        first = portal.reconciliation.reconcile()
        assert (first.orphans_waiting, first.orphans_deleted) == ([orphan], [])
        portal.clock.advance(portal.policy.orphan_grace - 1)
        assert portal.reconciliation.reconcile().orphans_deleted == []
        assert portal.lbaas.resources[orphan].status is ProvisioningStatus.PENDING_CREATE
        portal.clock.advance(1)

        report = portal.reconciliation.reconcile()

        assert report.orphans_deleted == [orphan]
        assert portal.lbaas.resources[orphan].status is ProvisioningStatus.PENDING_DELETE
        [record] = portal.uow.orphans.get_list(deleted=True)
        assert record.ref == orphan
        assert "no live load balancer has client token" in record.deletion_reason
        assert status(portal, created) is ProvisioningStatus.ACTIVE

    def test_by_default_an_orphan_is_reported_and_never_deleted_however_long_it_waits(self, portal, created):
        portal.settle()
        orphan = self._make_remote(portal)
        first_seen = portal.clock.now()

        first = portal.reconciliation.reconcile()
        reports = []
        for _ in range(5):
            portal.clock.advance(portal.policy.orphan_grace)
            reports.append(portal.reconciliation.reconcile())

        assert (first.orphans_found, first.orphans_waiting) == ([orphan], [orphan])
        for report in reports:
            assert (report.orphans_found, report.orphans_waiting) == ([], [orphan])
            assert (report.orphans_deleted, report.orphans_held) == ([], [])
        assert portal.lbaas.resources[orphan].status is ProvisioningStatus.PENDING_CREATE
        assert "delete" not in portal.lbaas.calls
        [record] = portal.uow.orphans.get_list()
        assert (record.ref, record.first_seen_at, record.last_seen_at) == (orphan, first_seen, portal.clock.now())
        assert record.deleted_at is None
        assert [e.target_name for e in portal.entries(action="provider_resource.orphan_found")] == [f"{orphan} at fake"]
        assert portal.entries(action="provider_resource.orphan_deleted") == []
        assert status(portal, created) is ProvisioningStatus.ACTIVE

    def test_by_default_even_a_policy_without_grace_deletes_no_orphan(self):
        portal = Portal(policy=replace(REPAIR, drift_policy=DriftPolicy.REPORT, orphan_grace=0))
        orphans = [self._make_remote(portal) for _ in range(2)]

        report = portal.reconciliation.reconcile()

        assert sorted(report.orphans_waiting) == sorted(orphans)
        assert (report.orphans_deleted, report.orphans_held) == ([], [])
        assert all(portal.lbaas.resources[ref].status is ProvisioningStatus.PENDING_CREATE for ref in orphans)

    def test_resources_of_another_installation_or_of_none_are_never_touched(self, repairing, alice):
        portal = repairing
        create_shop(portal, alice)
        portal.settle()
        theirs = self._make_remote(portal, installation="other-portal")
        legacy = self._make_remote(portal, installation=None)
        not_a_token = self._make_remote(portal, token="not-the-portals")

        portal.clock.advance(portal.policy.orphan_grace * 10)
        for _ in range(3):
            report = portal.reconciliation.reconcile()

        assert (report.orphans_waiting, report.orphans_deleted, report.orphans_held) == ([], [], [])
        for ref in (theirs, legacy, not_a_token):
            assert portal.lbaas.resources[ref].status is ProvisioningStatus.PENDING_CREATE
        assert portal.uow.orphans.get_list(deleted=None) == []

    def test_more_due_orphans_than_a_pass_may_delete_are_all_held_for_an_operator(self, alice):
        portal = Portal(
            policy=ProvisioningPolicy(orphan_grace=0, orphan_max_deletes=2, drift_policy=DriftPolicy.REPAIR)
        )
        orphans = [self._make_remote(portal) for _ in range(3)]

        report = portal.reconciliation.reconcile()

        assert (sorted(report.orphans_held), report.orphans_deleted) == (sorted(orphans), [])
        assert all(portal.lbaas.resources[ref].status is ProvisioningStatus.PENDING_CREATE for ref in orphans)

        held = [orphan.id for orphan in portal.uow.orphans.get_list()]
        outcome = portal.reconciliation.delete_orphans(held, by=OPS)

        assert outcome == dict.fromkeys(orphans, "deleted")
        assert all(portal.lbaas.resources[ref].status is ProvisioningStatus.PENDING_DELETE for ref in orphans)
        assert {o.deletion_reason for o in portal.uow.orphans.get_list(deleted=True)} == {"deleted by ops in the admin"}

    def test_an_operator_cannot_delete_what_became_owned_again_or_is_not_ours(self, alice):
        portal = Portal(policy=ProvisioningPolicy(orphan_grace=3600))
        orphan = self._make_remote(portal)
        portal.reconciliation.reconcile()
        [record] = portal.uow.orphans.get_list()
        portal.lbaas.resources[orphan].installation = "other-portal"

        outcome = portal.reconciliation.delete_orphans([record.id], by=OPS)

        assert outcome[orphan].startswith("not deleted: it belongs to installation other-portal")
        assert portal.lbaas.resources[orphan].status is ProvisioningStatus.PENDING_CREATE

    def test_an_orphan_that_is_owned_again_or_gone_is_forgotten(self, portal, created):
        portal.settle()
        orphan = self._make_remote(portal)
        portal.reconciliation.reconcile()
        assert len(portal.uow.orphans.get_list()) == 1
        del portal.lbaas.resources[orphan]

        portal.reconciliation.reconcile()

        assert portal.uow.orphans.get_list(deleted=None) == []

    def test_an_unreachable_provider_is_reported_and_stuck_work_still_restarted(self, portal, created):
        portal.scheduler.take()
        portal.clock.advance(61)
        portal.lbaas.fail_next.append(ProviderUnavailable("down"))

        report = portal.reconciliation.reconcile()

        assert report.unreachable == ["fake"]
        assert report.resumed == [created]

    def test_one_failing_row_does_not_stop_the_pass(self, portal, alice, monkeypatch):
        servers = [portal.add_server(), portal.add_server()]
        first = portal.load_balancers.create_one(alice, CreateLoadBalancer(name="first", servers=servers)).id
        second = portal.load_balancers.create_one(alice, CreateLoadBalancer(name="second", servers=servers)).id
        portal.settle()
        portal.degrade(first)
        original = portal.uow.load_balancers.update_one

        def broken_for_first(lb):
            if lb.id == first:
                raise RuntimeError("disk full")
            return original(lb)

        monkeypatch.setattr(portal.uow.load_balancers, "update_one", broken_for_first)

        report = portal.reconciliation.reconcile()

        assert report.refreshed == [second]
        assert report.failed == [str(first)]
        assert portal.stored(second).operating_status is OperatingStatus.DEGRADED


class TestOperationsActions:
    def test_retry_after_a_failed_create_creates_again(self, portal, ops, created):
        portal.lbaas.fail_next.append(ProviderRejected("quota exceeded"))
        portal.run_tasks()

        view = portal.load_balancers.retry(ops, created)

        assert (view.provisioning_status, view.error_reason) == ("PENDING_CREATE", None)
        portal.settle()
        assert status(portal, created) is ProvisioningStatus.ACTIVE

    def test_retry_after_a_failed_update_applies_the_record_again(self, portal, alice, ops, created):
        portal.settle()
        portal.load_balancers.update_one(alice, created, UpdateLoadBalancer(algorithm="SOURCE_IP"))
        portal.lbaas.fail_next.append(ProviderRejected("busy"))
        portal.run_tasks()
        assert status(portal, created) is ProvisioningStatus.ERROR

        assert portal.load_balancers.retry(ops, created).provisioning_status == "PENDING_UPDATE"
        portal.settle()

        assert status(portal, created) is ProvisioningStatus.ACTIVE
        assert portal.lbaas.resources["fake-1"].spec.algorithm == "SOURCE_IP"

    def test_only_error_load_balancers_can_be_retried(self, portal, ops, created):
        with pytest.raises(LoadBalancerPending):
            portal.load_balancers.retry(ops, created)
        portal.settle()
        with pytest.raises(InvalidTransition):
            portal.load_balancers.retry(ops, created)

    def test_refresh_reports_what_it_found(self, portal, created):
        portal.run_tasks()
        assert portal.provisioning.refresh(created) == "still under way at the provider"
        portal.settle()
        assert portal.provisioning.refresh(created) == "unchanged: ONLINE"
        portal.degrade(created)
        assert portal.provisioning.refresh(created) == "operating status ONLINE -> DEGRADED"
        portal.lbaas.resources.clear()
        assert portal.provisioning.refresh(created) == "the provider no longer has it: now ERROR"
        assert portal.provisioning.refresh(created) == "nothing to refresh: it is ERROR"

    def test_fail_stuck_marks_only_what_waited_longer_than_the_threshold(self, portal, created):
        assert portal.provisioning.fail_stuck(created, pending_longer_than=300) is False
        portal.clock.advance(301)

        assert portal.provisioning.fail_stuck(created, pending_longer_than=300) is True

        lb = portal.stored(created)
        assert lb.provisioning_status is ProvisioningStatus.ERROR
        assert lb.error_reason == "marked ERROR by operations: PENDING_CREATE for 5 minutes"
        assert portal.provisioning.fail_stuck(created, pending_longer_than=300) is False
