"""Batches (create or delete many at once, all or nothing), plans (what a request
would do, found out without doing it), drift (a provider that runs something other
than the record) and repair: the use cases of issue 12, against in-memory fakes."""

from dataclasses import dataclass, replace
from uuid import uuid4

import pytest

from accounts.application.payloads import AddMember
from accounts.domain.errors import NotAllowed, QuotaExceeded
from accounts.domain.model import Role
from loadbalancers.application.lbaas import ProviderOperation, spec_changes
from loadbalancers.application.payloads import (
    BATCH_MAX,
    CreateBatch,
    CreateLoadBalancer,
    DeleteBatch,
    UpdateLoadBalancer,
)
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.drift import DriftPolicy
from loadbalancers.domain.errors import LoadBalancerNotFound, LoadBalancerPending, ProviderRejected
from loadbalancers.domain.model import ProvisioningStatus
from portal.kernel.errors import ValidationFailed
from servers.domain.model import ServerStatus
from tests.fakes import FakeLBaaS, Portal

# The test portal's policy, but drift repaired and orphans deleted after their grace.
REPAIR = ProvisioningPolicy(poll_interval=1, pending_timeout=600, stuck_after=60, drift_policy=DriftPolicy.REPAIR)


def shop(portal, name="shop", team=None, servers=None, **fields):
    """A payload for a load balancer on servers of its own (made now), unless given."""
    if servers is None:
        servers = [portal.add_server(), portal.add_server()]
    return CreateLoadBalancer(name=name, servers=servers, team=team, **fields)


def create(portal, actor, name="shop", **fields):
    return portal.load_balancers.create_one(actor, shop(portal, name, **fields))


def active(portal, actor, name="shop", **fields):
    view = create(portal, actor, name, **fields)
    portal.settle()
    assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
    return view


def add_carol(portal, role):
    """Carol joins alice's team with this role; returns her as the use cases know her."""
    portal.teams.add_member(portal.actor(1), "alice", AddMember("carol", role))
    return portal.actor(5)


def statuses(portal):
    return {lb_id: lb.provisioning_status for lb_id, lb in portal.uow.load_balancers.rows.items()}


# -- create a batch ---------------------------------------------------------------------------


class TestCreateBatch:
    def test_every_bad_item_is_reported_by_its_index_at_once_and_nothing_is_stored(self, portal):
        portal.add_team("small", {1: Role.OWNER}, quota_members=1)
        portal.add_team("carols", {5: Role.OWNER})
        alice = portal.actor(1)
        live = create(portal, alice, "live", team="alice")
        ok, down = portal.add_server("ok"), portal.add_server("down", ServerStatus.DOWN)
        rows, entries = dict(portal.uow.load_balancers.rows), portal.entries()
        portal.scheduler.take()
        portal.lbaas.calls.clear()
        items = {
            0: shop(portal, "fine", team="alice", servers=[ok]),
            1: shop(portal, "Bad Name", team="alice", servers=[ok]),
            2: shop(portal, "unknown-server", team="alice", servers=[999]),
            3: shop(portal, "on-a-down-server", team="alice", servers=[down]),
            4: shop(portal, "twice", team="alice", servers=[ok]),
            5: shop(portal, "twice", team="alice", servers=[ok]),
            6: shop(portal, live.name, team="alice", servers=[ok]),
            7: shop(portal, "theirs", team="carols", servers=[ok]),
            8: shop(portal, "too-many-members", team="small"),
        }

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.create_batch(alice, CreateBatch(items=items, rejected={9: {"name": ["unreadable"]}}))

        details = failed.value.details["items"]
        assert list(details) == ["1", "2", "3", "5", "6", "7", "8", "9"]
        assert "lowercase" in details["1"]["name"][0]
        assert details["2"] == {"servers": ["server 999 does not exist"]}
        assert details["3"] == {"servers": [f"server {down} (down) is DOWN; only OK servers may be used"]}
        assert details["5"] == {"name": ["'twice' is also the name of item 4"]}
        assert details["6"] == {"name": ["'live' is taken by a live load balancer"]}
        assert details["7"] == {"team": ["you are in no team named 'carols'"]}
        assert "at most 1 members" in details["8"]["non_field_errors"][0]
        assert details["9"] == {"name": ["unreadable"]}
        assert failed.value.message == "8 of 10 items are not valid; nothing was created"
        assert portal.uow.load_balancers.rows == rows
        assert portal.scheduler.sent == []
        assert portal.entries() == entries
        assert portal.lbaas.calls == []

    def test_a_name_taken_meanwhile_by_another_request_is_reported_by_its_item(self, portal, monkeypatch):
        """The names are checked, then another request takes one and commits before the
        batch is stored: the store refuses it, and the answer names the item."""
        alice = portal.actor(1)
        items = {0: shop(portal, "first"), 1: shop(portal, "raced")}
        create(portal, alice, "raced")
        really_taken, checks = portal.uow.load_balancers.name_taken, []

        def checked_before_the_other_committed(name):  # the two checks of the items; then the store's own
            checks.append(name)
            return False if len(checks) <= len(items) else really_taken(name)

        monkeypatch.setattr(portal.uow.load_balancers, "name_taken", checked_before_the_other_committed)
        rows = dict(portal.uow.load_balancers.rows)

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.create_batch(alice, CreateBatch(items=items))

        assert failed.value.details == {"items": {"1": {"name": ["'raced' is taken by a live load balancer"]}}}
        assert portal.uow.load_balancers.rows == rows

    def test_a_repeated_name_is_reported_even_when_the_first_item_with_it_has_other_errors(self, portal):
        """Every problem at once: fixing the first item must not reveal a new error on
        the second."""
        alice = portal.actor(1)
        items = {0: shop(portal, "twice", servers=[999]), 1: shop(portal, "twice")}

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.create_batch(alice, CreateBatch(items=items))

        details = failed.value.details["items"]
        assert details["0"] == {"servers": ["server 999 does not exist"]}
        assert details["1"] == {"name": ["'twice' is also the name of item 0"]}

    def test_a_valid_batch_stores_every_one_and_hands_each_to_provisioning_once_all_are_stored(
        self, portal, monkeypatch
    ):
        alice = portal.actor(1)
        items = {index: shop(portal, name) for index, name in enumerate(["shop", "cart", "blog"])}
        stored_when_handed = []
        provision = portal.scheduler.provision

        def spy(lb_id):
            stored_when_handed.append(len(portal.uow.load_balancers.rows))
            provision(lb_id)

        monkeypatch.setattr(portal.scheduler, "provision", spy)

        views = portal.load_balancers.create_batch(alice, CreateBatch(items=items))

        assert [v.name for v in views] == ["shop", "cart", "blog"]
        assert all(v.provisioning_status == "PENDING_CREATE" and v.team == "alice" for v in views)
        assert set(portal.uow.load_balancers.rows) == {v.id for v in views}
        assert sorted(portal.scheduler.sent) == sorted(("provision", v.id) for v in views)
        assert stored_when_handed == [3, 3, 3]
        assert portal.lbaas.calls == []
        portal.settle()
        assert set(statuses(portal).values()) == {ProvisioningStatus.ACTIVE}

    def test_the_teams_quota_counts_the_whole_batch(self, portal):
        portal.add_team("small", {1: Role.OWNER}, quota_load_balancers=3)
        alice = portal.actor(1)
        create(portal, alice, "first", team="small")
        rows = dict(portal.uow.load_balancers.rows)
        portal.scheduler.take()
        items = {index: shop(portal, f"lb-{index}", team="small") for index in range(3)}

        with pytest.raises(QuotaExceeded) as refused:
            portal.load_balancers.create_batch(alice, CreateBatch(items=items))

        assert refused.value.status_code == 403
        assert refused.value.details == {
            "team": "small",
            "limit": "load_balancers",
            "quota": 3,
            "usage": 1,
            "requested": 3,
        }
        assert portal.uow.load_balancers.rows == rows
        assert portal.scheduler.sent == []

    def test_a_batch_that_fits_the_quota_exactly_is_created(self, portal):
        portal.add_team("small", {1: Role.OWNER}, quota_load_balancers=3)
        alice = portal.actor(1)
        create(portal, alice, "first", team="small")
        items = {index: shop(portal, f"lb-{index}", team="small") for index in range(2)}

        views = portal.load_balancers.create_batch(alice, CreateBatch(items=items))

        assert [v.team for v in views] == ["small", "small"]

    @pytest.mark.parametrize("size", [0, BATCH_MAX + 1])
    def test_an_empty_or_too_big_batch_is_refused_before_anything_is_looked_at(self, portal, size):
        items = {index: CreateLoadBalancer(name=f"lb-{index}", servers=[1]) for index in range(size)}

        with pytest.raises(ValidationFailed) as refused:
            portal.load_balancers.create_batch(portal.actor(1), CreateBatch(items=items))

        assert refused.value.details == {"items": [f"send between 1 and {BATCH_MAX} items (got {size})"]}
        assert portal.uow.load_balancers.rows == {}

    def test_items_the_entry_point_could_not_read_count_in_the_size(self, portal):
        items = {index: CreateLoadBalancer(name=f"lb-{index}", servers=[1]) for index in range(BATCH_MAX)}

        with pytest.raises(ValidationFailed) as refused:
            portal.load_balancers.create_batch(portal.actor(1), CreateBatch(items=items, rejected={BATCH_MAX: {}}))

        assert refused.value.details == {"items": [f"send between 1 and {BATCH_MAX} items (got {BATCH_MAX + 1})"]}

    def test_a_batch_of_the_largest_size_is_created(self, portal):
        portal.add_team("big", {1: Role.OWNER}, quota_load_balancers=BATCH_MAX)
        server = portal.add_server()
        items = {index: shop(portal, f"lb-{index}", team="big", servers=[server]) for index in range(BATCH_MAX)}

        views = portal.load_balancers.create_batch(portal.actor(1), CreateBatch(items=items))

        assert len(views) == len(portal.uow.load_balancers.rows) == BATCH_MAX

    def test_items_may_go_to_several_teams_of_the_caller_each_counted_against_its_own_quota(self, portal):
        web = portal.add_team("web", {1: Role.MEMBER, 2: Role.OWNER}, quota_load_balancers=1)
        alice = portal.actor(1)
        items = {0: shop(portal, "shop", team="alice"), 1: shop(portal, "web-front", team="web")}

        views = portal.load_balancers.create_batch(alice, CreateBatch(items=items))

        assert [(v.name, v.team) for v in views] == [("shop", "alice"), ("web-front", "web")]
        assert portal.stored(views[1].id).team_id == web
        more = {0: shop(portal, "cart", team="alice"), 1: shop(portal, "web-back", team="web")}
        with pytest.raises(QuotaExceeded) as refused:
            portal.load_balancers.create_batch(alice, CreateBatch(items=more))
        assert (refused.value.details["team"], refused.value.details["usage"]) == ("web", 1)
        assert len(portal.uow.load_balancers.rows) == 2

    def test_a_viewers_batch_is_refused_item_by_item(self, portal):
        carol = add_carol(portal, "viewer")
        items = {0: shop(portal, "shop", team="alice"), 1: shop(portal, "cart")}

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.create_batch(carol, CreateBatch(items=items))

        details = failed.value.details["items"]
        assert set(details) == {"0", "1"}
        for item in details.values():
            (message,) = item["non_field_errors"]
            assert "you need the role member; your role there is viewer" in message
        assert portal.uow.load_balancers.rows == {}


# -- delete a batch ---------------------------------------------------------------------------


class TestDeleteBatch:
    def test_every_load_balancer_that_cannot_go_is_reported_by_index_and_none_is_deleted(self, portal):
        alice, bob = portal.actor(1), portal.actor(2)
        fine = active(portal, alice, "fine")
        protected = active(portal, alice, "protected", deletion_protection=True)
        theirs = active(portal, bob, "secret-project")
        pending = create(portal, alice, "pending")
        unknown = uuid4()
        before, entries = statuses(portal), portal.entries()
        portal.scheduler.take()
        ids = (fine.id, protected.id, pending.id, theirs.id, "not-an-id", str(fine.id), unknown)

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.delete_batch(alice, DeleteBatch(ids=ids))

        details = failed.value.details["ids"]
        assert list(details) == ["1", "2", "3", "4", "5", "6"]
        assert "deletion protection on" in details["1"][0]
        assert details["2"] == [f"load balancer {pending.id} is PENDING_CREATE; wait until it is ACTIVE or ERROR"]
        assert details["3"] == [f"load balancer {theirs.id} does not exist"]
        assert details["4"] == ["'not-an-id' is not a load balancer id"]
        assert details["5"] == [f"load balancer {fine.id} is also item 0"]
        assert details["6"] == [f"load balancer {unknown} does not exist"]
        assert "secret-project" not in repr(failed.value.details) + failed.value.message
        assert failed.value.message == "6 of 7 load balancers cannot be deleted; nothing was deleted"
        assert statuses(portal) == before
        assert portal.scheduler.sent == []
        assert portal.entries() == entries

    def test_a_valid_batch_puts_every_one_pending_delete_and_hands_each_over(self, portal):
        alice = portal.actor(1)
        views = [active(portal, alice, name) for name in ("shop", "cart", "blog")]
        wanted = (str(views[2].id), views[0].id, views[1].id)

        deleting = portal.load_balancers.delete_batch(alice, DeleteBatch(ids=wanted))

        assert [v.id for v in deleting] == [views[2].id, views[0].id, views[1].id]
        assert all(v.provisioning_status == "PENDING_DELETE" for v in deleting)
        assert sorted(portal.scheduler.sent) == sorted(("deprovision", v.id) for v in views)
        portal.settle()
        assert set(statuses(portal).values()) == {ProvisioningStatus.DELETED}
        assert portal.lbaas.resources == {}

    def test_an_error_load_balancer_may_be_deleted_in_a_batch(self, portal):
        alice = portal.actor(1)
        broken = create(portal, alice, "broken")
        portal.settle(error="no capacity")
        fine = active(portal, alice, "fine")

        deleting = portal.load_balancers.delete_batch(alice, DeleteBatch(ids=(broken.id, fine.id)))

        assert [v.provisioning_status for v in deleting] == ["PENDING_DELETE", "PENDING_DELETE"]

    @pytest.mark.parametrize("size", [0, BATCH_MAX + 1])
    def test_an_empty_or_too_big_batch_is_refused(self, portal, size):
        with pytest.raises(ValidationFailed) as refused:
            portal.load_balancers.delete_batch(portal.actor(1), DeleteBatch(ids=tuple(uuid4() for _ in range(size))))

        assert refused.value.details == {"ids": [f"send between 1 and {BATCH_MAX} ids (got {size})"]}

    def test_a_viewer_is_told_the_role_needed_for_each(self, portal):
        view = active(portal, portal.actor(1))
        carol = add_carol(portal, "viewer")

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.delete_batch(carol, DeleteBatch(ids=(view.id,)))

        (message,) = failed.value.details["ids"]["0"]
        assert "you need the role member; your role there is viewer" in message
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE


# -- plans ------------------------------------------------------------------------------------


class TestPlanCreate:
    def test_a_valid_payload_is_planned_without_storing_or_writing_anything(self, portal):
        alice = portal.actor(1)
        payload = shop(portal, algorithm="SOURCE_IP")
        entries = portal.entries()

        plan = portal.load_balancers.plan_create(alice, payload)

        assert (plan.allowed, plan.action, plan.name, plan.lb_id) == (True, "create", "shop", None)
        assert {c.field: c.after for c in plan.changes}["algorithm"] == "SOURCE_IP"
        assert {c.field for c in plan.changes} >= {"name", "servers", "provisioning_status"}
        assert (plan.provider.name, plan.provider.ref) == ("fake", None)
        assert plan.provider.operations == (ProviderOperation("create", {"name": "shop"}),)
        changes = {c.field: (c.before, c.after) for c in plan.provider.changes}
        assert changes["algorithm"] == (None, "SOURCE_IP")
        assert changes["listener_port"] == (None, 80)
        assert changes["member 10.0.0.2:8080"] == (None, {"weight": 1, "admin_state": "enabled"})
        assert portal.uow.load_balancers.rows == {}
        assert portal.lbaas.calls == ["plan"]
        assert portal.scheduler.sent == []
        assert portal.entries() == entries

    def test_an_invalid_payload_is_planned_with_the_error_create_would_raise(self, portal):
        alice = portal.actor(1)
        down = portal.add_server("down", ServerStatus.DOWN)
        payload = CreateLoadBalancer(name="Bad Name", servers=[down, 999], listener_port=0)

        plan = portal.load_balancers.plan_create(alice, payload)
        with pytest.raises(ValidationFailed) as raised:
            portal.load_balancers.create_one(alice, payload)

        assert not plan.allowed
        assert (plan.error.name, plan.error.message, plan.error.details) == (
            raised.value.name,
            raised.value.message,
            raised.value.details,
        )
        assert (plan.name, plan.changes, plan.provider) == ("Bad Name", (), None)
        assert portal.lbaas.calls == []

    def test_a_create_over_quota_is_planned_as_refused(self, portal):
        portal.add_team("small", {1: Role.OWNER}, quota_load_balancers=1)
        alice = portal.actor(1)
        create(portal, alice, "first", team="small")

        plan = portal.load_balancers.plan_create(alice, shop(portal, "second", team="small"))

        assert isinstance(plan.error, QuotaExceeded)
        assert plan.error.details["usage"] == 1
        assert len(portal.uow.load_balancers.rows) == 1


class TestPlanUpdate:
    def test_a_pending_load_balancer_is_planned_as_refused(self, portal):
        alice = portal.actor(1)
        view = create(portal, alice)

        plan = portal.load_balancers.plan_update(alice, view.id, UpdateLoadBalancer(algorithm="SOURCE_IP"))

        assert isinstance(plan.error, LoadBalancerPending)
        assert plan.error.name == "LoadBalancerPending"
        assert (plan.action, plan.lb_id, plan.provider) == ("update", view.id, None)
        assert portal.stored(view.id).algorithm == "ROUND_ROBIN"

    def test_someone_elses_load_balancer_is_not_found(self, portal):
        view = active(portal, portal.actor(1))

        with pytest.raises(LoadBalancerNotFound):
            portal.load_balancers.plan_update(portal.actor(2), view.id, UpdateLoadBalancer(algorithm="SOURCE_IP"))

    def test_someone_elses_load_balancer_is_not_found_even_for_an_empty_change(self, portal):
        view = active(portal, portal.actor(1))

        for lb_id in (view.id, uuid4()):
            with pytest.raises(LoadBalancerNotFound):
                portal.load_balancers.plan_update(portal.actor(2), lb_id, UpdateLoadBalancer())

    def test_a_change_the_portal_keeps_to_itself_has_no_provider_side(self, portal):
        alice = portal.actor(1)
        view = active(portal, alice)
        calls = list(portal.lbaas.calls)

        plan = portal.load_balancers.plan_update(alice, view.id, UpdateLoadBalancer(deletion_protection=True))

        assert plan.allowed
        assert plan.provider is None
        assert [(c.field, c.before, c.after) for c in plan.changes] == [("deletion_protection", False, True)]
        assert portal.lbaas.calls == calls
        assert portal.stored(view.id).deletion_protection is False

    def test_a_change_the_provider_refuses_when_asked_to_plan_it_is_planned_as_refused(self, portal):
        alice = portal.actor(1)
        view = active(portal, alice)
        portal.lbaas.fail_next = [ProviderRejected("no such algorithm here")]

        plan = portal.load_balancers.plan_update(alice, view.id, UpdateLoadBalancer(algorithm="SOURCE_IP"))

        assert isinstance(plan.error, ValidationFailed)
        assert plan.error.details == {"provider": ["no such algorithm here"]}
        assert plan.provider is None
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE

    def test_a_load_balancer_gone_at_the_provider_is_planned_as_a_conflict(self, portal):
        alice = portal.actor(1)
        view = active(portal, alice)
        portal.lbaas.resources.clear()

        plan = portal.load_balancers.plan_update(alice, view.id, UpdateLoadBalancer(algorithm="SOURCE_IP"))

        assert plan.error.status_code == 409
        assert "no longer has this load balancer" in plan.error.message

    def test_the_update_then_does_exactly_what_was_planned_at_the_provider(self, portal):
        alice = portal.actor(1)
        view = active(portal, alice)
        first, _second = portal.stored(view.id).server_ids
        third = portal.add_server()
        ref = portal.stored(view.id).provider_ref
        running_before = portal.lbaas.resources[ref].spec
        version = portal.stored(view.id).version
        payload = UpdateLoadBalancer(algorithm="LEAST_CONNECTIONS", servers=[first, third])
        portal.lbaas.calls.clear()

        plan = portal.load_balancers.plan_update(alice, view.id, payload)

        assert plan.allowed
        assert sorted(portal.lbaas.calls) == ["get", "plan"]
        assert portal.lbaas.resources[ref].spec == running_before
        assert portal.stored(view.id).version == version
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
        assert portal.scheduler.sent == []
        assert {c.field for c in plan.provider.changes} == {
            "algorithm",
            "member 10.0.0.3:8080",
            "member 10.0.0.4:8080",
        }
        assert plan.provider.operations == (
            ProviderOperation("update", {"fields": [c.field for c in plan.provider.changes]}),
        )

        portal.load_balancers.update_one(alice, view.id, payload)
        portal.settle()

        assert spec_changes(running_before, portal.lbaas.resources[ref].spec) == list(plan.provider.changes)


# -- drift ------------------------------------------------------------------------------------


@dataclass
class BlindLBaaS(FakeLBaaS):
    """A provider that cannot tell what it runs."""

    def _answer(self, ref):
        return replace(super()._answer(ref), running=None)


def portal_with(provider, policy=None):
    """A portal whose provider is this fake (which the portal's helpers then drive)."""
    portal = Portal(policy=policy, provider=provider)
    portal.lbaas = provider
    return portal


def tamper_algorithm_and_weight(portal, lb_id):
    """Behind the portal's back: another algorithm, and the first member's weight 5."""
    ref = portal.stored(lb_id).provider_ref
    first, second = portal.lbaas.resources[ref].spec.members
    portal.lbaas.tamper(ref, algorithm="LEAST_CONNECTIONS", members=(replace(first, weight=5), second))


def drift_of(portal, lb_id, open_only=True):
    return {d.field: d for d in portal.uow.drift.get_list(lb_ids=[lb_id], open_only=open_only)}


class TestDriftReported:
    def test_drift_is_recorded_field_by_field_told_once_and_nothing_changes_at_the_provider(self, portal):
        view = active(portal, portal.actor(1))
        tamper_algorithm_and_weight(portal, view.id)
        ref = portal.stored(view.id).provider_ref
        tampered = portal.lbaas.resources[ref].spec
        version = portal.stored(view.id).version
        found_at = portal.clock.now()
        portal.lbaas.calls.clear()

        report = portal.reconciliation.reconcile()

        assert report.drifted == [view.id]
        assert report.repaired == []
        drift = drift_of(portal, view.id)
        assert set(drift) == {"algorithm", "member 10.0.0.2:8080 weight"}
        assert (drift["algorithm"].desired, drift["algorithm"].actual) == ("ROUND_ROBIN", "LEAST_CONNECTIONS")
        assert (drift["member 10.0.0.2:8080 weight"].desired, drift["member 10.0.0.2:8080 weight"].actual) == (1, 5)
        assert all(d.first_seen_at == d.last_seen_at == found_at for d in drift.values())
        (entry,) = portal.entries(action="load_balancer.drift_found")
        assert {c.field: (c.before, c.after) for c in entry.changes} == {
            "algorithm": ("ROUND_ROBIN", "LEAST_CONNECTIONS"),
            "member 10.0.0.2:8080 weight": (1, 5),
        }
        assert (entry.actor, entry.source, entry.target_id) == ("system", "reconciler", str(view.id))
        assert portal.lbaas.calls == ["get_list"]
        assert portal.lbaas.resources[ref].spec == tampered
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
        assert portal.stored(view.id).version == version
        assert portal.scheduler.sent == []

    def test_drift_seen_again_is_only_brought_up_to_date(self, portal):
        view = active(portal, portal.actor(1))
        tamper_algorithm_and_weight(portal, view.id)
        portal.reconciliation.reconcile()
        found_at = portal.clock.now()
        ids = {name: d.id for name, d in drift_of(portal, view.id).items()}
        portal.clock.advance(300)

        report = portal.reconciliation.reconcile()

        assert report.drifted == [view.id]
        drift = drift_of(portal, view.id)
        assert {name: d.id for name, d in drift.items()} == ids
        assert all((d.first_seen_at, d.last_seen_at) == (found_at, portal.clock.now()) for d in drift.values())
        assert len(portal.entries(action="load_balancer.drift_found")) == 1
        assert portal.entries(action="load_balancer.drift_resolved") == []

    def test_drift_undone_at_the_provider_is_resolved_and_told(self, portal):
        view = active(portal, portal.actor(1))
        ref = portal.stored(view.id).provider_ref
        asked = portal.lbaas.resources[ref].spec
        tamper_algorithm_and_weight(portal, view.id)
        portal.reconciliation.reconcile()
        portal.lbaas.tamper(ref, algorithm=asked.algorithm, members=asked.members)
        portal.clock.advance(60)

        report = portal.reconciliation.reconcile()

        assert report.drifted == []
        assert drift_of(portal, view.id) == {}
        resolved = drift_of(portal, view.id, open_only=False)
        assert all(d.resolved_at == portal.clock.now() for d in resolved.values())
        (entry,) = portal.entries(action="load_balancer.drift_resolved")
        assert entry.message.endswith(": algorithm, member 10.0.0.2:8080 weight")

    def test_one_field_undone_resolves_that_field_only(self, portal):
        view = active(portal, portal.actor(1))
        ref = portal.stored(view.id).provider_ref
        tamper_algorithm_and_weight(portal, view.id)
        portal.reconciliation.reconcile()
        portal.lbaas.tamper(ref, algorithm="ROUND_ROBIN")

        portal.reconciliation.reconcile()

        assert set(drift_of(portal, view.id)) == {"member 10.0.0.2:8080 weight"}
        (entry,) = portal.entries(action="load_balancer.drift_resolved")
        assert entry.message.endswith(": algorithm")

    def test_the_drift_of_a_load_balancer_deleted_since_is_resolved(self, portal):
        alice = portal.actor(1)
        view = active(portal, alice)
        tamper_algorithm_and_weight(portal, view.id)
        portal.reconciliation.reconcile()
        portal.load_balancers.delete_one(alice, view.id)
        portal.settle()

        portal.reconciliation.reconcile()

        assert drift_of(portal, view.id) == {}
        assert set(drift_of(portal, view.id, open_only=False)) == {"algorithm", "member 10.0.0.2:8080 weight"}
        assert portal.load_balancers.get_one(alice, view.id).drift == []

    def test_a_load_balancer_changed_before_the_pass_is_not_judged(self, portal):
        alice = portal.actor(1)
        view = active(portal, alice)
        tamper_algorithm_and_weight(portal, view.id)
        # Asked for, not yet applied: what the provider runs is no measure of it.
        portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(algorithm="SOURCE_IP"))
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.PENDING_UPDATE

        report = portal.reconciliation.reconcile()

        assert report.drifted == []
        assert portal.uow.drift.rows == {}
        assert portal.entries(action="load_balancer.drift_found") == []

    def test_a_record_changed_between_the_read_and_the_providers_answer_is_not_judged(self, portal, monkeypatch):
        """The provider's answer may predate the change: it is left to the next pass."""
        alice = portal.actor(1)
        view = active(portal, alice)
        ref = portal.stored(view.id).provider_ref
        portal.lbaas.tamper(ref, algorithm="LEAST_CONNECTIONS")
        portal.reconciliation.reconcile()  # drift: asked ROUND_ROBIN, runs LEAST_CONNECTIONS
        before = drift_of(portal, view.id)
        entries = portal.entries()
        portal.clock.advance(60)
        listing = portal.lbaas.get_list

        def answer_then_the_record_changes():
            answer = listing()
            # Someone asks for what the provider runs now, and it is applied, while the
            # reconciler holds the answer it got before.
            portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(algorithm="LEAST_CONNECTIONS"))
            portal.settle()
            return answer

        monkeypatch.setattr(portal.lbaas, "get_list", answer_then_the_record_changes)
        report = portal.reconciliation.reconcile()
        monkeypatch.undo()

        assert portal.stored(view.id).algorithm == "LEAST_CONNECTIONS"
        assert report.drifted == []
        assert drift_of(portal, view.id) == before
        new = {e.action for e in portal.entries()[len(entries) :]}
        assert not new & {"load_balancer.drift_found", "load_balancer.drift_resolved"}

        portal.reconciliation.reconcile()

        assert drift_of(portal, view.id) == {}
        assert len(portal.entries(action="load_balancer.drift_resolved")) == 1

    def test_a_provider_that_cannot_tell_what_it_runs_shows_no_drift(self):
        portal = portal_with(BlindLBaaS(name="fake"))
        view = active(portal, portal.actor(1))
        tamper_algorithm_and_weight(portal, view.id)

        report = portal.reconciliation.reconcile()

        assert (report.drifted, report.failed) == ([], [])
        assert portal.uow.drift.rows == {}


class TestDriftRepaired:
    def test_drift_is_repaired_once_through_an_update_and_then_resolved(self):
        portal = Portal(policy=REPAIR)
        view = active(portal, portal.actor(1))
        ref = portal.stored(view.id).provider_ref
        asked = portal.lbaas.resources[ref].spec
        tamper_algorithm_and_weight(portal, view.id)

        report = portal.reconciliation.reconcile()

        assert (report.drifted, report.repaired) == ([view.id], [view.id])
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.PENDING_UPDATE
        assert portal.scheduler.sent == [("apply_update", view.id)]
        (repair,) = portal.entries(action="load_balancer.repair_requested")
        assert (repair.actor, repair.source) == ("system", "reconciler")
        assert repair.message.endswith(": algorithm, member 10.0.0.2:8080 weight")
        assert all(d.repaired_at == portal.clock.now() for d in drift_of(portal, view.id).values())

        portal.settle()
        assert portal.lbaas.resources[ref].spec == asked
        portal.clock.advance(60)
        after = portal.reconciliation.reconcile()

        assert (after.drifted, after.repaired) == ([], [])
        assert drift_of(portal, view.id) == {}
        assert len(portal.entries(action="load_balancer.drift_resolved")) == 1
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE

    def test_a_repair_that_does_not_hold_is_not_asked_again(self, monkeypatch):
        portal = Portal(policy=REPAIR)
        view = active(portal, portal.actor(1))
        ref = portal.stored(view.id).provider_ref
        portal.lbaas.tamper(ref, algorithm="LEAST_CONNECTIONS")
        update = portal.lbaas.update

        def update_that_does_not_hold(ref, spec):
            answer = update(ref, spec)
            portal.lbaas.tamper(ref, algorithm="LEAST_CONNECTIONS")  # something there sets it back
            return answer

        monkeypatch.setattr(portal.lbaas, "update", update_that_does_not_hold)
        portal.reconciliation.reconcile()
        portal.settle()

        reports = []
        for _ in range(3):
            portal.clock.advance(60)
            reports.append(portal.reconciliation.reconcile())

        assert [(r.drifted, r.repaired) for r in reports] == [([view.id], [])] * 3
        assert len(portal.entries(action="load_balancer.repair_requested")) == 1
        assert portal.lbaas.calls.count("update") == 1
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
        assert set(drift_of(portal, view.id)) == {"algorithm"}

    def test_a_new_drift_after_a_repair_held_is_repaired_again(self):
        portal = Portal(policy=REPAIR)
        view = active(portal, portal.actor(1))
        ref = portal.stored(view.id).provider_ref
        portal.lbaas.tamper(ref, algorithm="LEAST_CONNECTIONS")
        portal.reconciliation.reconcile()
        portal.settle()
        portal.reconciliation.reconcile()  # resolved
        portal.lbaas.tamper(ref, algorithm="SOURCE_IP")

        report = portal.reconciliation.reconcile()

        assert report.repaired == [view.id]
        assert len(portal.entries(action="load_balancer.repair_requested")) == 2


class TestRepair:
    def test_a_member_of_the_team_asks_for_a_repair_naming_the_open_drift(self, portal):
        view = active(portal, portal.actor(1))
        ref = portal.stored(view.id).provider_ref
        asked = portal.lbaas.resources[ref].spec
        tamper_algorithm_and_weight(portal, view.id)
        portal.reconciliation.reconcile()
        carol = add_carol(portal, "member")

        repaired = portal.load_balancers.repair(carol, view.id)

        assert repaired.provisioning_status == "PENDING_UPDATE"
        (entry,) = portal.entries(action="load_balancer.repair_requested")
        assert (entry.actor, entry.target_id) == ("carol", str(view.id))
        assert entry.message.endswith(": algorithm, member 10.0.0.2:8080 weight")
        assert portal.scheduler.sent == [("apply_update", view.id)]
        portal.settle()
        assert portal.lbaas.resources[ref].spec == asked

    def test_a_viewer_may_not(self, portal):
        view = active(portal, portal.actor(1))
        carol = add_carol(portal, "viewer")

        with pytest.raises(NotAllowed):
            portal.load_balancers.repair(carol, view.id)

        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
        assert portal.entries(action="load_balancer.repair_requested") == []

    def test_someone_outside_the_team_is_told_it_does_not_exist(self, portal):
        view = active(portal, portal.actor(1))

        with pytest.raises(LoadBalancerNotFound):
            portal.load_balancers.repair(portal.actor(2), view.id)
