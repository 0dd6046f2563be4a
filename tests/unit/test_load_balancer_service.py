"""Every rule of the load balancer use cases, against in-memory fakes."""

from uuid import uuid4

import pytest

from loadbalancers.application.payloads import CreateLoadBalancer, LoadBalancerQuery, UpdateLoadBalancer
from loadbalancers.domain.errors import (
    InvalidTransition,
    LoadBalancerNotFound,
    LoadBalancerPending,
    NameTaken,
    ProviderDisabled,
    ServerNotEligible,
)
from loadbalancers.domain.model import ProvisioningStatus
from portal.kernel.errors import PermissionDenied, StaleVersion, ValidationFailed
from portal.kernel.pagination import PageRequest
from servers.domain.model import ServerStatus
from tests.fakes import OPS


def create(portal, actor, name="shop", servers=None, **fields):
    if servers is None:
        servers = [portal.add_server(), portal.add_server()]
    return portal.load_balancers.create_one(actor, CreateLoadBalancer(name=name, servers=servers, **fields))


def make_active(portal, actor, name="shop"):
    view = create(portal, actor, name)
    portal.settle()
    assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
    return view


class TestCreate:
    def test_stores_pending_create_and_schedules_provisioning_without_calling_the_provider(self, portal, alice):
        view = create(portal, alice, description="front shop", listener_port=8080, algorithm="SOURCE_IP")

        assert view.provisioning_status == "PENDING_CREATE"
        assert (view.team, view.created_by) == ("alice", "alice")
        assert [s.name for s in view.servers] == ["server-1", "server-2"]
        assert (view.listener_protocol, view.listener_port, view.algorithm) == ("HTTP", 8080, "SOURCE_IP")
        assert view.provider == "fake"
        assert view.version == 1
        assert portal.scheduler.sent == [("provision", view.id)]
        assert portal.lbaas.calls == []

    @pytest.mark.parametrize(
        ("fields", "field", "fragment"),
        [
            ({"name": ""}, "name", "required"),
            ({"name": "Shop"}, "name", "lowercase"),
            ({"name": "my shop"}, "name", "lowercase"),
            ({"name": "my_shop"}, "name", "lowercase"),
            ({"name": "-shop"}, "name", "start and end"),
            ({"name": "shop-"}, "name", "start and end"),
            ({"name": "a" * 64}, "name", "at most 63"),
            ({"servers": []}, "servers", "at least one"),
            ({"servers": "1,2"}, "servers", "must be a list"),
            ({"servers": [1, 1]}, "servers", "repeated: 1"),
            ({"servers": [1, "x"]}, "servers", "'x' is not a server id"),
            ({"servers": [True]}, "servers", "not a server id"),
            ({"listener_port": 0}, "listener_port", "between 1 and 65535"),
            ({"listener_port": 70000}, "listener_port", "between 1 and 65535"),
            ({"listener_protocol": "UDP"}, "listener_protocol", "one of HTTP, TCP"),
            ({"algorithm": "RANDOM"}, "algorithm", "one of ROUND_ROBIN"),
            ({"description": "x" * 256}, "description", "at most 255"),
            ({"provider": "nope"}, "provider", "one of fake"),
        ],
    )
    def test_each_rule_gives_a_validation_error_naming_the_field_and_changes_nothing(
        self, portal, alice, fields, field, fragment
    ):
        ok = portal.add_server("ok")
        payload = {"name": "shop", "servers": [ok], **fields}

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.create_one(alice, CreateLoadBalancer(**payload))

        assert field in failed.value.details
        assert any(fragment in message for message in failed.value.details[field]), failed.value.details
        assert portal.uow.load_balancers.rows == {}
        assert portal.scheduler.sent == []
        assert portal.lbaas.calls == []

    def test_reports_every_bad_field_at_once(self, portal, alice):
        down = portal.add_server("down", ServerStatus.DOWN)

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.create_one(
                alice,
                CreateLoadBalancer(
                    name="Bad Name", servers=[down, 999], listener_port=0, algorithm="X", listener_protocol="UDP"
                ),
            )

        details = failed.value.details
        assert set(details) == {"name", "servers", "listener_port", "algorithm", "listener_protocol"}
        assert any("is DOWN" in m for m in details["servers"])
        assert any("999 does not exist" in m for m in details["servers"])

    @pytest.mark.parametrize("status", [ServerStatus.DOWN, ServerStatus.MAINTENANCE])
    def test_servers_not_ok_are_refused_naming_each_and_why(self, portal, alice, status):
        ok = portal.add_server("ok")
        bad = portal.add_server("bad", status)

        with pytest.raises(ServerNotEligible) as failed:
            portal.load_balancers.create_one(alice, CreateLoadBalancer(name="shop", servers=[ok, bad, 404]))

        assert failed.value.name == "ServerNotEligible"
        assert failed.value.status_code == 400
        assert failed.value.details["server_ids"] == [bad, 404]
        assert failed.value.details["servers"] == [
            f"server {bad} (bad) is {status}; only OK servers may be used",
            "server 404 does not exist",
        ]
        assert portal.uow.load_balancers.rows == {}

    def test_a_taken_name_is_a_conflict(self, portal, alice, bob):
        create(portal, alice, "shop")

        with pytest.raises(NameTaken) as taken:
            create(portal, bob, "shop")

        assert taken.value.status_code == 409
        assert len(portal.uow.load_balancers.rows) == 1

    def test_a_taken_name_among_other_mistakes_is_reported_with_them(self, portal, alice):
        create(portal, alice, "shop")

        with pytest.raises(ValidationFailed) as failed:
            create(portal, alice, "shop", listener_port=0)

        assert set(failed.value.details) == {"name", "listener_port"}

    def test_the_name_of_a_deleted_load_balancer_is_free_again(self, portal, alice):
        view = make_active(portal, alice, "shop")
        portal.load_balancers.delete_one(alice, view.id)
        portal.settle()
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.DELETED

        again = create(portal, alice, "shop", servers=[portal.add_server("new")])

        assert again.provisioning_status == "PENDING_CREATE"

    def test_uses_the_default_provider_unless_one_is_named(self, portal, alice):
        assert create(portal, alice, "a", provider=None).provider == "fake"
        assert create(portal, alice, "b", provider="fake").provider == "fake"


class TestUpdate:
    def test_changes_members_algorithm_and_description_and_goes_pending_update(self, portal, alice):
        view = make_active(portal, alice)
        third = portal.add_server("third")

        updated = portal.load_balancers.update_one(
            alice,
            view.id,
            UpdateLoadBalancer(servers=[view.servers[0].id, third], algorithm="LEAST_CONNECTIONS", description="d"),
        )

        assert updated.provisioning_status == "PENDING_UPDATE"
        assert [s.name for s in updated.servers] == ["server-1", "third"]
        assert (updated.algorithm, updated.description) == ("LEAST_CONNECTIONS", "d")
        assert portal.scheduler.take()[-1] == ("apply_update", view.id)

    @pytest.mark.parametrize("status", [ServerStatus.DOWN, ServerStatus.MAINTENANCE])
    def test_new_members_must_be_ok_but_current_ones_may_stay(self, portal, alice, status):
        view = make_active(portal, alice)
        current = view.servers[0].id
        portal.servers.update_status(OPS, current, status)
        broken = portal.add_server("broken", status)

        with pytest.raises(ServerNotEligible):
            portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(servers=[current, broken]))
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE

        kept = portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(servers=[current]))
        assert [s.id for s in kept.servers] == [current]

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            (UpdateLoadBalancer(servers=[]), "servers"),
            (UpdateLoadBalancer(servers=[1, 1]), "servers"),
            (UpdateLoadBalancer(algorithm="FASTEST"), "algorithm"),
            (UpdateLoadBalancer(description="x" * 300), "description"),
            (UpdateLoadBalancer(), "non_field_errors"),
        ],
    )
    def test_bad_changes_are_refused_and_change_nothing(self, portal, alice, payload, field):
        view = make_active(portal, alice)
        before = portal.stored(view.id)

        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.update_one(alice, view.id, payload)

        assert field in failed.value.details
        assert portal.stored(view.id) == before

    def test_only_an_active_load_balancer_can_be_updated(self, portal, alice):
        view = create(portal, alice)
        with pytest.raises(LoadBalancerPending) as pending:
            portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(description="x"))
        assert pending.value.status_code == 409

        portal.settle(error="boom")
        with pytest.raises(InvalidTransition) as invalid:
            portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(description="x"))
        assert invalid.value.status_code == 409
        assert "ERROR" in invalid.value.message

    def test_a_stale_version_is_a_conflict(self, portal, alice):
        view = make_active(portal, alice)

        with pytest.raises(StaleVersion) as stale:
            portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(description="x", version=1))

        assert stale.value.status_code == 409
        current = portal.stored(view.id).version
        updated = portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(description="x", version=current))
        assert updated.version == current + 1


class TestDelete:
    def test_from_active_goes_pending_delete(self, portal, alice):
        view = make_active(portal, alice)

        deleted = portal.load_balancers.delete_one(alice, view.id)

        assert deleted.provisioning_status == "PENDING_DELETE"
        assert portal.scheduler.take()[-1] == ("deprovision", view.id)

    def test_from_error_is_allowed(self, portal, alice):
        view = create(portal, alice)
        portal.settle(error="boom")

        assert portal.load_balancers.delete_one(alice, view.id).provisioning_status == "PENDING_DELETE"

    def test_while_pending_is_a_conflict_and_changes_nothing(self, portal, alice):
        view = create(portal, alice)

        with pytest.raises(LoadBalancerPending):
            portal.load_balancers.delete_one(alice, view.id)

        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.PENDING_CREATE


class TestProviderNoLongerEnabled:
    """Operations took the provider that holds it out of LBAAS_PROVIDERS: nothing can be
    asked of it there, so every change is refused up front and nothing is stored."""

    @pytest.fixture
    def retired(self, portal, alice):
        view = make_active(portal, alice)
        portal.stored(view.id).provider = "retired"
        return view

    @pytest.mark.parametrize(
        "action",
        [
            lambda service, actor, lb_id: service.update_one(actor, lb_id, UpdateLoadBalancer(description="new")),
            lambda service, actor, lb_id: service.delete_one(actor, lb_id),
            lambda service, actor, lb_id: service.retry(actor, lb_id),
        ],
        ids=["update", "delete", "retry"],
    )
    def test_every_change_is_refused_naming_the_provider(self, portal, alice, ops, retired, action):
        before = portal.stored(retired.id).version

        for actor in (alice, ops):
            with pytest.raises(ProviderDisabled, match="'retired', which this portal no longer has enabled") as refused:
                action(portal.load_balancers, actor, retired.id)
            assert refused.value.status_code == 409
            assert refused.value.details == {"provider": "retired"}

        assert portal.stored(retired.id).version == before
        assert portal.stored(retired.id).provisioning_status is ProvisioningStatus.ACTIVE
        assert portal.scheduler.take() == []

    def test_someone_else_still_gets_not_found(self, portal, bob, retired):
        with pytest.raises(LoadBalancerNotFound):
            portal.load_balancers.delete_one(bob, retired.id)


class TestVisibility:
    def test_someone_elses_load_balancer_is_not_found_for_every_action(self, portal, alice, bob):
        view = make_active(portal, alice)

        for action in (
            lambda: portal.load_balancers.get_one(bob, view.id),
            lambda: portal.load_balancers.update_one(bob, view.id, UpdateLoadBalancer(description="x")),
            lambda: portal.load_balancers.delete_one(bob, view.id),
        ):
            with pytest.raises(LoadBalancerNotFound):
                action()
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE

    def test_an_unknown_id_is_not_found(self, portal, alice):
        with pytest.raises(LoadBalancerNotFound):
            portal.load_balancers.get_one(alice, uuid4())

    def test_users_list_their_own_and_staff_list_all(self, portal, alice, bob, ops):
        create(portal, alice, "a1")
        create(portal, alice, "a2")
        create(portal, bob, "b1")

        assert {v.name for v in portal.load_balancers.get_plist(alice, LoadBalancerQuery()).items} == {"a1", "a2"}
        assert {v.name for v in portal.load_balancers.get_plist(bob, LoadBalancerQuery()).items} == {"b1"}
        assert portal.load_balancers.get_plist(ops, LoadBalancerQuery()).total == 3
        assert portal.load_balancers.get_one(ops, portal.load_balancers.get_plist(bob, LoadBalancerQuery()).items[0].id)

    def test_staff_who_may_only_see_read_everything_and_change_nothing_of_others(self, portal, alice, auditor):
        view = create(portal, alice, "a1")
        portal.settle()
        settled = portal.stored(view.id).version

        assert portal.load_balancers.get_plist(auditor, LoadBalancerQuery()).total == 1
        assert portal.load_balancers.get_one(auditor, view.id).name == "a1"
        for action in (
            lambda: portal.load_balancers.delete_one(auditor, view.id),
            lambda: portal.load_balancers.update_one(auditor, view.id, UpdateLoadBalancer(description="x")),
            lambda: portal.load_balancers.retry(auditor, view.id),
        ):
            with pytest.raises(PermissionDenied, match="not change load balancers: that needs the permission"):
                action()
        assert portal.stored(view.id).version == settled


class TestList:
    def test_pages_sorts_and_filters(self, portal, alice):
        for name in ("c", "a", "b"):
            create(portal, alice, name)
            portal.clock.advance(1)

        page = portal.load_balancers.get_plist(
            alice, LoadBalancerQuery(page=PageRequest(limit=2, offset=1, sort_by="name", sort_direction="asc"))
        )
        assert ([v.name for v in page.items], page.total, page.limit, page.offset) == (["b", "c"], 3, 2, 1)

        newest = portal.load_balancers.get_plist(alice, LoadBalancerQuery())
        assert [v.name for v in newest.items] == ["b", "a", "c"]

        pending = LoadBalancerQuery(provisioning_status="PENDING_CREATE")
        assert portal.load_balancers.get_plist(alice, pending).total == 3
        active = LoadBalancerQuery(provisioning_status="ACTIVE")
        assert portal.load_balancers.get_plist(alice, active).total == 0

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            (LoadBalancerQuery(page=PageRequest(limit=0)), "limit"),
            (LoadBalancerQuery(page=PageRequest(limit=1001)), "limit"),
            (LoadBalancerQuery(page=PageRequest(offset=-1)), "offset"),
            (LoadBalancerQuery(page=PageRequest(sort_by="owner_password")), "sort_by"),
            (LoadBalancerQuery(page=PageRequest(sort_direction="up")), "sort_direction"),
            (LoadBalancerQuery(provisioning_status="RUNNING"), "provisioning_status"),
            (LoadBalancerQuery(operating_status="FINE"), "operating_status"),
        ],
    )
    def test_bad_list_queries_are_refused(self, portal, alice, query, field):
        with pytest.raises(ValidationFailed) as failed:
            portal.load_balancers.get_plist(alice, query)
        assert field in failed.value.details
