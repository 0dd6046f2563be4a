"""Issue 11 in depth, against in-memory fakes: health monitors, member weights and drain,
tags, deletion protection, member health, following the server inventory, retries by
team members, and what the audit trail records of it all."""

from dataclasses import replace

import pytest

from accounts.domain.errors import NotAllowed
from accounts.domain.model import Role
from loadbalancers.application.payloads import CreateLoadBalancer, LoadBalancerQuery, UpdateLoadBalancer
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.errors import (
    DeletionProtected,
    InvalidTransition,
    LoadBalancerNotFound,
    ProviderRejected,
    ServerNotEligible,
)
from loadbalancers.domain.members import REASON_MAX_LENGTH, AdminState
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType
from portal.kernel.errors import ValidationFailed
from servers.domain.model import ServerStatus
from tests.fakes import OPS, Portal

ON, OFF, ERR, NOMON, DRAINING = (
    OperatingStatus.ONLINE,
    OperatingStatus.OFFLINE,
    OperatingStatus.ERROR,
    OperatingStatus.NO_MONITOR,
    OperatingStatus.DRAINING,
)
HTTP_MONITOR = {"type": "HTTP", "interval": 10, "timeout": 4, "http_path": "/health", "expected_codes": "200-299"}
TAG_RULE = (
    "a tag is a label or key=value: the key 1-63 of letters, digits and _ . : / -, starting with a letter or"
    " digit; the value 1-127 of letters, digits and _ . : / @ + -"
)


def create(portal, actor, name="shop", servers=None, **fields):
    if servers is None:
        servers = [portal.add_server(), portal.add_server()]
    return portal.load_balancers.create_one(actor, CreateLoadBalancer(name=name, servers=servers, **fields))


def active(portal, actor, name="shop", servers=None, **fields):
    view = create(portal, actor, name, servers, **fields)
    portal.settle()
    assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
    return view


def update(portal, actor, lb_id, **fields):
    return portal.load_balancers.update_one(actor, lb_id, UpdateLoadBalancer(**fields))


def remote(portal, lb_id):
    """What the fake provider holds for this load balancer."""
    return portal.lbaas.resources[portal.stored(lb_id).provider_ref]


def members(portal, lb_id):
    """Each member by server id: (weight, admin state, operating status, reason, drained by the inventory)."""
    return {
        m.server_id: (m.weight, m.admin_state.value, m.operating_status, m.status_reason, m.drained_by_inventory)
        for m in portal.stored(lb_id).members
    }


def admin_states(portal, lb_id):
    """Each member's admin state at the provider, by address."""
    return {m.address: m.admin_state for m in remote(portal, lb_id).spec.members}


def address(portal, server_id):
    return portal.uow.servers.rows[server_id].address


def refused(portal, actor, field, **fields):
    """Create with these fields; the messages for ``field`` of the one ValidationFailed."""
    with pytest.raises(ValidationFailed) as failed:
        create(portal, actor, **fields)
    assert not isinstance(failed.value, ServerNotEligible)
    assert portal.uow.load_balancers.rows == {}
    assert portal.scheduler.sent == []
    return failed.value.details[field]


def actions(portal, lb_id):
    return [e.action for e in portal.entries(target_id=str(lb_id))]


# -- health monitors ----------------------------------------------------------------------


class TestHealthMonitorValidation:
    def test_every_bad_field_is_reported_at_once(self, portal, alice):
        monitor = {
            "type": "HTTP",
            "interval": 0,
            "timeout": 5.5,
            "retries_up": True,
            "retries_down": 11,
            "http_path": "health",
            "expected_codes": "99",
            "port": 80,
        }

        messages = refused(portal, alice, "health_monitor", health_monitor=monitor)

        assert messages == [
            "'port' is not a health monitor field (known: type, interval, timeout, retries_up, retries_down,"
            " http_path, expected_codes)",
            "interval must be between 1 and 3600 (got 0)",
            "timeout must be a whole number (got 5.5)",
            "retries_up must be a whole number (got True)",
            "retries_down must be between 1 and 10 (got 11)",
            "http_path must start with / and hold only letters, digits and . _ ~ % / ? = & + , : @ - (got 'health')",
            "expected_codes must be codes and ranges such as 200, 200,202 or 200-399 (got '99')",
        ]

    def test_monitor_problems_come_with_the_other_fields_problems(self, portal, alice):
        with pytest.raises(ValidationFailed) as failed:
            create(portal, alice, name="Bad Name", health_monitor={"type": "TCP", "timeout": 9}, tags=["aws:x"])

        assert set(failed.value.details) == {"name", "health_monitor", "tags"}
        assert failed.value.details["health_monitor"] == [
            "timeout must be less than interval (9 s is not less than 5 s)"
        ]

    @pytest.mark.parametrize(
        ("monitor", "message"),
        [
            ({}, "type must be HTTP or TCP (got None)"),
            ({"interval": 5}, "type must be HTTP or TCP (got None)"),
            ({"type": "UDP"}, "type must be HTTP or TCP (got 'UDP')"),
            ({"type": "http"}, "type must be HTTP or TCP (got 'http')"),
            ({"type": "TCP", "interval": 3601}, "interval must be between 1 and 3600 (got 3601)"),
            ({"type": "TCP", "interval": "5"}, "interval must be a whole number (got '5')"),
            ({"type": "TCP", "interval": 5.0}, "interval must be a whole number (got 5.0)"),
            ({"type": "TCP", "interval": False}, "interval must be a whole number (got False)"),
            ({"type": "TCP", "timeout": 0}, "timeout must be between 1 and 3600 (got 0)"),
            ({"type": "TCP", "timeout": True}, "timeout must be a whole number (got True)"),
            ({"type": "TCP", "retries_up": 0}, "retries_up must be between 1 and 10 (got 0)"),
            ({"type": "TCP", "retries_up": 11}, "retries_up must be between 1 and 10 (got 11)"),
            ({"type": "TCP", "retries_down": 0}, "retries_down must be between 1 and 10 (got 0)"),
            ({"type": "TCP", "retries_down": 2.5}, "retries_down must be a whole number (got 2.5)"),
            (
                {"type": "TCP", "interval": 5, "timeout": 5},
                "timeout must be less than interval (5 s is not less than 5 s)",
            ),
            (
                {"type": "TCP", "interval": 3, "timeout": 4},
                "timeout must be less than interval (4 s is not less than 3 s)",
            ),
            ({"type": "TCP", "http_path": "/health"}, "http_path is only for HTTP monitors"),
            ({"type": "TCP", "expected_codes": "200"}, "expected_codes is only for HTTP monitors"),
            ({"type": "HTTP", "delay": 5}, "'delay' is not a health monitor field"),
            ({"type": "HTTP", "http_path": "health"}, "http_path must start with /"),
            ({"type": "HTTP", "http_path": "/a b"}, "http_path must start with / and hold only"),
            ({"type": "HTTP", "http_path": '/"x"'}, "http_path must start with / and hold only"),
            ({"type": "HTTP", "http_path": "/'x'"}, "http_path must start with / and hold only"),
            ({"type": "HTTP", "http_path": "/x\ny"}, "http_path must start with / and hold only"),
            ({"type": "HTTP", "http_path": ""}, "http_path must be text starting with / (got '')"),
            ({"type": "HTTP", "http_path": None}, "http_path must be text starting with / (got None)"),
            ({"type": "HTTP", "http_path": "/" + "a" * 255}, "http_path must be at most 255 characters (got 256)"),
            ({"type": "HTTP", "expected_codes": "2xx"}, "expected_codes must be codes and ranges"),
            ({"type": "HTTP", "expected_codes": "200;202"}, "expected_codes must be codes and ranges"),
            ({"type": "HTTP", "expected_codes": ""}, "expected_codes must be codes and ranges"),
            ({"type": "HTTP", "expected_codes": 200}, "expected_codes must be codes and ranges"),
            ({"type": "HTTP", "expected_codes": "099"}, "expected_codes must lie between 100 and 599 (got 099)"),
            ({"type": "HTTP", "expected_codes": "600"}, "expected_codes must lie between 100 and 599 (got 600)"),
            (
                {"type": "HTTP", "expected_codes": "200-600"},
                "expected_codes must lie between 100 and 599 (got 200-600)",
            ),
            ({"type": "HTTP", "expected_codes": "200,399-300"}, "expected_codes range 399-300 ends before it starts"),
            ("HTTP", "health_monitor must be an object with a type (HTTP or TCP), or null for none"),
        ],
    )
    def test_each_bad_field_is_refused_saying_why(self, portal, alice, monitor, message):
        messages = refused(portal, alice, "health_monitor", health_monitor=monitor)

        assert len(messages) == 1
        assert messages[0].startswith(message)

    def test_a_bad_type_does_not_hide_the_timings_problems(self, portal, alice):
        messages = refused(portal, alice, "health_monitor", health_monitor={"type": "UDP", "interval": 0})

        assert "interval must be between 1 and 3600 (got 0)" in messages

    def test_a_monitor_takes_the_defaults_for_what_it_leaves_out(self, portal, alice):
        tcp = create(portal, alice, "tcp", health_monitor={"type": "TCP"})
        http = create(portal, alice, "http", health_monitor={"type": "HTTP"})

        assert tcp.health_monitor == {"type": "TCP", "interval": 5, "timeout": 3, "retries_up": 2, "retries_down": 3}
        assert http.health_monitor == {
            "type": "HTTP",
            "interval": 5,
            "timeout": 3,
            "retries_up": 2,
            "retries_down": 3,
            "http_path": "/",
            "expected_codes": "200",
        }
        assert create(portal, alice, "none").health_monitor is None

    def test_the_limits_themselves_are_allowed(self, portal, alice):
        monitor = {
            "type": "HTTP",
            "interval": 3600,
            "timeout": 3599,
            "retries_up": 1,
            "retries_down": 10,
            "http_path": "/health/check.json?full=1&x=%20a+b,c:d@e-f~g_h",
            "expected_codes": "100,200-202,599",
        }

        view = create(portal, alice, health_monitor=monitor)

        assert view.health_monitor == monitor
        stored = portal.stored(view.id).health_monitor
        assert stored.codes() == [100, 200, 201, 202, 599]
        assert create(portal, alice, "long", health_monitor={"type": "HTTP", "http_path": "/" + "a" * 254})

    def test_the_provider_gets_the_monitor(self, portal, alice):
        view = active(portal, alice, health_monitor=HTTP_MONITOR)

        assert remote(portal, view.id).spec.health_monitor == HealthMonitor(
            MonitorType.HTTP, interval=10, timeout=4, http_path="/health", expected_codes="200-299"
        )


class TestHealthMonitorChanges:
    @pytest.fixture
    def lb(self, portal, alice):
        return active(portal, alice, health_monitor=HTTP_MONITOR).id

    def test_a_mapping_changes_only_the_fields_it_gives(self, portal, alice, lb):
        view = update(portal, alice, lb, health_monitor={"interval": 20, "retries_down": 5})

        assert view.health_monitor == {**HTTP_MONITOR, "interval": 20, "retries_up": 2, "retries_down": 5}
        assert view.provisioning_status == "PENDING_UPDATE"
        portal.settle()
        assert remote(portal, lb).spec.health_monitor.interval == 20
        assert remote(portal, lb).spec.health_monitor.http_path == "/health"

    def test_leaving_it_out_keeps_it(self, portal, alice, lb):
        before = portal.stored(lb).health_monitor

        update(portal, alice, lb, description="kept")

        assert portal.stored(lb).health_monitor == before
        portal.settle()
        assert remote(portal, lb).spec.health_monitor == before

    def test_none_removes_it(self, portal, alice, lb):
        view = update(portal, alice, lb, health_monitor=None)

        assert view.health_monitor is None
        portal.settle()
        assert remote(portal, lb).spec.health_monitor is None
        [entry] = portal.entries(action="load_balancer.update_requested", target_id=str(lb))
        change = next(c for c in entry.changes if c.field == "health_monitor")
        assert change.before == "HTTP GET /health expecting 200-299, every 10 s, timeout 4 s, up after 2, down after 3"
        assert change.after is None

    def test_another_type_keeps_the_timings_and_starts_the_http_fields_again(self, portal, alice, lb):
        update(portal, alice, lb, health_monitor={"type": "TCP", "retries_up": 4})
        assert portal.stored(lb).health_monitor == HealthMonitor(
            MonitorType.TCP, interval=10, timeout=4, retries_up=4, retries_down=3
        )
        portal.settle()

        view = update(portal, alice, lb, health_monitor={"type": "HTTP"})

        assert view.health_monitor == {
            "type": "HTTP",
            "interval": 10,
            "timeout": 4,
            "retries_up": 4,
            "retries_down": 3,
            "http_path": "/",
            "expected_codes": "200",
        }

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"timeout": 10}, "timeout must be less than interval (10 s is not less than 10 s)"),
            ({"interval": 4}, "timeout must be less than interval (4 s is not less than 4 s)"),
            ({"type": "TCP", "http_path": "/x"}, "http_path is only for HTTP monitors"),
            ({"expected_codes": "500-400"}, "expected_codes range 500-400 ends before it starts"),
            ({"retries": 3}, "'retries' is not a health monitor field"),
        ],
    )
    def test_a_bad_change_is_judged_on_top_of_the_current_monitor_and_changes_nothing(
        self, portal, alice, lb, change, message
    ):
        before = portal.stored(lb)

        with pytest.raises(ValidationFailed) as failed:
            update(portal, alice, lb, health_monitor=change)

        assert [m[: len(message)] for m in failed.value.details["health_monitor"]] == [message]
        after = portal.stored(lb)
        assert (after.health_monitor, after.version, after.provisioning_status) == (
            before.health_monitor,
            before.version,
            ProvisioningStatus.ACTIVE,
        )
        assert portal.scheduler.sent == []

    def test_a_mapping_without_a_type_needs_a_current_monitor(self, portal, alice):
        lb = active(portal, alice).id

        with pytest.raises(ValidationFailed) as failed:
            update(portal, alice, lb, health_monitor={"interval": 10})

        assert failed.value.details["health_monitor"] == ["type must be HTTP or TCP (got None)"]
        assert (
            update(portal, alice, lb, health_monitor={"type": "TCP", "interval": 10}).health_monitor["interval"] == 10
        )


# -- members -------------------------------------------------------------------------------


class TestMembers:
    def test_ids_and_member_objects_mix(self, portal, alice):
        s = [portal.add_server() for _ in range(4)]
        servers = [
            s[0],
            {"server": s[1], "weight": 5},
            {"server": s[2], "admin_state": "drain"},
            {"server": s[3], "weight": 0, "admin_state": "enabled"},
        ]

        view = active(portal, alice, servers=servers)

        assert [(m.id, m.weight, m.admin_state) for m in view.servers] == [
            (s[0], 1, "enabled"),
            (s[1], 5, "enabled"),
            (s[2], 1, "drain"),
            (s[3], 0, "enabled"),
        ]
        spec = remote(portal, view.id).spec
        assert [(m.address, m.weight, m.admin_state) for m in spec.members] == [
            (address(portal, s[0]), 1, "enabled"),
            (address(portal, s[1]), 5, "enabled"),
            (address(portal, s[2]), 1, "drain"),
            (address(portal, s[3]), 0, "enabled"),
        ]
        assert members(portal, view.id)[s[2]][2] is DRAINING

    @pytest.mark.parametrize("weight", [0, 1, 256])
    def test_weights_from_0_to_256_are_allowed(self, portal, alice, weight):
        server = portal.add_server()

        assert create(portal, alice, servers=[{"server": server, "weight": weight}]).servers[0].weight == weight

    @pytest.mark.parametrize(
        ("item", "message"),
        [
            ({"weight": -1}, "weight must be between 0 and 256 (got -1)"),
            ({"weight": 257}, "weight must be between 0 and 256 (got 257)"),
            ({"weight": "5"}, "weight must be a whole number (got '5')"),
            ({"weight": 1.5}, "weight must be a whole number (got 1.5)"),
            ({"weight": True}, "weight must be a whole number (got True)"),
            ({"admin_state": "disabled"}, "admin_state must be enabled or drain (got 'disabled')"),
            ({"admin_state": "DRAIN"}, "admin_state must be enabled or drain (got 'DRAIN')"),
            ({"admin_state": None}, "admin_state must be enabled or drain (got None)"),
            ({"port": 80}, "'port' is not a member field (known: server, weight, admin_state)"),
        ],
    )
    def test_a_bad_member_object_is_reported_with_its_server_id(self, portal, alice, item, message):
        server = portal.add_server()

        messages = refused(portal, alice, "servers", servers=[{"server": server, **item}])

        assert messages == [f"server {server}: {message}"]

    @pytest.mark.parametrize(
        ("item", "message"),
        [
            ({"weight": 2}, "server must be a server id (a whole number) (got None)"),
            ({"server": "1"}, "server must be a server id (a whole number) (got '1')"),
            ({"server": True}, "server must be a server id (a whole number) (got True)"),
            ("abc", "'abc' is not a server id (a whole number) nor a member object"),
            (True, "True is not a server id (a whole number) nor a member object"),
            (1.0, "1.0 is not a server id (a whole number) nor a member object"),
        ],
    )
    def test_an_item_that_names_no_server_is_refused(self, portal, alice, item, message):
        portal.add_server()

        assert refused(portal, alice, "servers", servers=[item]) == [message]

    def test_every_bad_item_and_duplicates_are_reported_at_once_before_looking_servers_up(self, portal, alice):
        a, b = portal.add_server(), portal.add_server()
        servers = [a, {"server": b, "weight": 300, "admin_state": "off"}, "x", {"server": a, "weight": 2}, 999]

        messages = refused(portal, alice, "servers", servers=servers)

        assert messages == [
            f"server {b}: weight must be between 0 and 256 (got 300)",
            f"server {b}: admin_state must be enabled or drain (got 'off')",
            "'x' is not a server id (a whole number) nor a member object",
            f"each server may be listed once; repeated: {a}",
        ]  # server 999 does not exist: not looked up while the list itself is wrong

    def test_a_bare_id_keeps_an_existing_members_weight_and_admin_state(self, portal, alice):
        a, b, c = portal.add_server(), portal.add_server(), portal.add_server()
        lb = active(portal, alice, servers=[{"server": a, "weight": 7}, {"server": b, "admin_state": "drain"}]).id

        update(portal, alice, lb, servers=[a, b, c])

        assert {k: v[:2] for k, v in members(portal, lb).items()} == {
            a: (7, "enabled"),
            b: (1, "drain"),
            c: (1, "enabled"),
        }
        portal.settle()
        update(portal, alice, lb, servers=[{"server": b, "weight": 3}, a])  # left out: kept, c removed
        assert {k: v[:2] for k, v in members(portal, lb).items()} == {b: (3, "drain"), a: (7, "enabled")}
        portal.settle()
        assert admin_states(portal, lb) == {address(portal, b): "drain", address(portal, a): "enabled"}

    def test_a_new_member_may_start_in_drain(self, portal, alice):
        a, b = portal.add_server(), portal.add_server()
        lb = active(portal, alice, servers=[a]).id

        update(portal, alice, lb, servers=[a, {"server": b, "admin_state": "drain", "weight": 4}])

        assert members(portal, lb)[b][:2] == (4, "drain")
        portal.settle()
        assert admin_states(portal, lb)[address(portal, b)] == "drain"

    @pytest.mark.parametrize("status", [ServerStatus.DOWN, ServerStatus.MAINTENANCE])
    def test_a_new_server_that_is_not_ok_is_not_eligible_even_in_drain(self, portal, alice, status):
        a = portal.add_server()
        lb = active(portal, alice, servers=[a]).id
        bad = portal.add_server("bad", status)

        with pytest.raises(ServerNotEligible) as failed:
            update(portal, alice, lb, servers=[a, {"server": bad, "admin_state": "drain"}])

        assert failed.value.details["server_ids"] == [bad]
        assert failed.value.details["servers"] == [f"server {bad} (bad) is {status}; only OK servers may be used"]
        assert portal.stored(lb).server_ids == (a,)

    def test_kept_members_whose_servers_are_no_longer_ok_are_allowed(self, portal, alice):
        a, b, c = portal.add_server(), portal.add_server(), portal.add_server()
        lb = active(portal, alice, servers=[a, b]).id
        portal.uow.servers.rows[b].status = ServerStatus.DOWN  # behind the services' back: nothing followed

        view = update(portal, alice, lb, servers=[{"server": b, "weight": 2}, a, c])

        assert [m.id for m in view.servers] == [b, a, c]
        assert view.provisioning_status == "PENDING_UPDATE"


# -- tags --------------------------------------------------------------------------------------


class TestTags:
    def test_labels_and_key_values_are_kept_sorted(self, portal, alice):
        tags = ["web", "env=prod", "owner=alice@example.com", "a.b:c_d/e-f=x+y", "9front"]

        view = active(portal, alice, tags=tags)

        assert view.tags == sorted(tags)
        assert remote(portal, view.id).spec.tags == tuple(sorted(tags))

    def test_at_most_20(self, portal, alice):
        assert refused(portal, alice, "tags", tags=[f"t{i}" for i in range(21)]) == ["at most 20 tags (got 21)"]

        assert len(create(portal, alice, "twenty", tags=[f"t{i}" for i in range(20)]).tags) == 20

    @pytest.mark.parametrize("tag", ["portal:owner=x", "aws:cloudformation:stack-name=s", "AWS:x", "Portal:y"])
    def test_reserved_prefixes_are_refused(self, portal, alice, tag):
        assert refused(portal, alice, "tags", tags=[tag]) == [
            f"{tag!r}: keys starting with portal: or aws: are reserved"
        ]

    @pytest.mark.parametrize(
        ("tags", "repeated"), [(["env=prod", "env=dev"], "env"), (["web", "web=1"], "web"), (["a", "b", "a"], "a")]
    )
    def test_a_key_appears_once(self, portal, alice, tags, repeated):
        assert refused(portal, alice, "tags", tags=tags) == [f"each key may appear once; repeated: {repeated}"]

    @pytest.mark.parametrize(
        "tag",
        ["env=prod value", "we b", "-web", "_web", "env=", "=prod", "a" * 64, "x=" + "v" * 128, "é", "a=b=c", "", 5],
    )
    def test_bad_characters_and_lengths_are_refused(self, portal, alice, tag):
        assert refused(portal, alice, "tags", tags=[tag]) == [f"{tag!r} is not a tag: {TAG_RULE}"]

    def test_the_longest_key_and_value_are_allowed(self, portal, alice):
        tag = "k" * 63 + "=" + "v" * 127

        assert create(portal, alice, tags=[tag]).tags == [tag]

    def test_every_bad_tag_is_reported_at_once(self, portal, alice):
        messages = refused(portal, alice, "tags", tags=["ok", "bad tag", "aws:x", "ok=again"])

        assert messages == [
            f"'bad tag' is not a tag: {TAG_RULE}",
            "'aws:x': keys starting with portal: or aws: are reserved",
            "each key may appear once; repeated: ok",
        ]

    def test_tags_must_be_a_list(self, portal, alice):
        assert refused(portal, alice, "tags", tags="web") == ["tags must be a list of labels or key=value texts"]

    def test_an_update_replaces_keeps_or_clears_them(self, portal, alice):
        lb = active(portal, alice, tags=["web"]).id

        assert update(portal, alice, lb, tags=["z", "env=prod"]).tags == ["env=prod", "z"]
        portal.settle()
        assert update(portal, alice, lb, description="x").tags == ["env=prod", "z"]
        portal.settle()
        assert update(portal, alice, lb, tags=[]).tags == []
        portal.settle()
        assert remote(portal, lb).spec.tags == ()

    def test_the_list_filters_on_every_tag_asked_for(self, portal, alice, bob):
        both = create(portal, alice, "both", tags=["web", "env=prod"]).id
        prod = create(portal, alice, "prod", tags=["env=prod"]).id
        web = create(portal, alice, "web", tags=["web", "env=dev"]).id
        create(portal, bob, "bobs", tags=["web", "env=prod"])  # another team's: never listed to alice

        def listed(*tags):
            return {v.id for v in portal.load_balancers.get_plist(alice, LoadBalancerQuery(tags=tags)).items}

        assert listed() == {both, prod, web}
        assert listed("web") == {both, web}
        assert listed("env=prod") == {both, prod}
        assert listed("env=prod", "web") == {both}
        assert listed("web", "env=dev") == {web}
        assert listed("env") == set()  # a key alone matches only the label


# -- deletion protection ------------------------------------------------------------------------


class TestDeletionProtection:
    def test_set_on_create(self, portal, alice):
        view = create(portal, alice, deletion_protection=True)

        assert view.deletion_protection is True
        assert portal.stored(view.id).deletion_protection is True
        assert create(portal, alice, "other").deletion_protection is False

    def test_must_be_true_or_false(self, portal, alice):
        assert refused(portal, alice, "deletion_protection", deletion_protection="yes") == [
            "deletion_protection must be true or false"
        ]

    def test_delete_is_refused_saying_how_to_clear_it_and_nothing_changes(self, portal, alice):
        lb = active(portal, alice, deletion_protection=True).id
        before, trail, calls = portal.stored(lb), len(portal.entries()), list(portal.lbaas.calls)

        with pytest.raises(DeletionProtected) as refused_:
            portal.load_balancers.delete_one(alice, lb)

        assert refused_.value.status_code == 409
        assert refused_.value.details == {"deletion_protection": True}
        assert "turn it off first" in refused_.value.message
        assert 'PATCH {"deletion_protection": false}' in refused_.value.message
        after = portal.stored(lb)
        assert (after.provisioning_status, after.version) == (ProvisioningStatus.ACTIVE, before.version)
        assert len(portal.entries()) == trail
        assert portal.scheduler.sent == []
        assert portal.lbaas.calls == calls

    def test_an_error_load_balancer_is_protected_too(self, portal, alice):
        lb = create(portal, alice, deletion_protection=True).id
        portal.lbaas.fail_next.append(ProviderRejected("quota exceeded"))
        portal.run_tasks()
        assert portal.stored(lb).provisioning_status is ProvisioningStatus.ERROR

        with pytest.raises(DeletionProtected):
            portal.load_balancers.delete_one(alice, lb)

        assert portal.stored(lb).provisioning_status is ProvisioningStatus.ERROR

    def test_turning_it_off_alone_stays_in_the_portal_then_delete_works(self, portal, alice):
        lb = active(portal, alice, deletion_protection=True).id
        version, calls = portal.stored(lb).version, list(portal.lbaas.calls)

        view = update(portal, alice, lb, deletion_protection=False)

        assert (view.provisioning_status, view.deletion_protection, view.version) == ("ACTIVE", False, version + 1)
        assert portal.scheduler.sent == []
        assert portal.lbaas.calls == calls
        entry = portal.entries(target_id=str(lb))[-1]
        assert entry.action == "load_balancer.updated"
        assert [c.field for c in entry.changes] == ["deletion_protection"]
        assert entry.changes[0].before is True
        assert not entry.changes[0].after
        assert "deletion_protection" in entry.message
        assert "load_balancer.update_requested" not in actions(portal, lb)

        portal.load_balancers.delete_one(alice, lb)
        portal.settle()
        assert portal.stored(lb).provisioning_status is ProvisioningStatus.DELETED

    def test_turning_it_on_alone_stays_in_the_portal(self, portal, alice):
        lb = active(portal, alice).id

        view = update(portal, alice, lb, deletion_protection=True)

        assert (view.provisioning_status, view.deletion_protection) == ("ACTIVE", True)
        assert portal.scheduler.sent == []
        with pytest.raises(DeletionProtected):
            portal.load_balancers.delete_one(alice, lb)

    def test_with_another_change_it_goes_to_the_provider(self, portal, alice):
        lb = active(portal, alice, deletion_protection=True).id

        view = update(portal, alice, lb, deletion_protection=False, algorithm="SOURCE_IP")

        assert view.provisioning_status == "PENDING_UPDATE"
        assert portal.scheduler.sent == [("apply_update", lb)]

    def test_a_protected_load_balancer_lost_at_the_provider_can_still_be_deleted(self, portal, alice):
        lb = active(portal, alice, deletion_protection=True).id
        portal.lbaas.resources.clear()
        portal.reconciliation.reconcile()
        portal.load_balancers.retry(alice, lb)
        portal.settle()
        assert portal.stored(lb).provisioning_status is ProvisioningStatus.ERROR  # retrying cannot help

        update(portal, alice, lb, deletion_protection=False)
        portal.load_balancers.delete_one(alice, lb)
        portal.settle()

        assert portal.stored(lb).provisioning_status is ProvisioningStatus.DELETED


# -- member health --------------------------------------------------------------------------------


class TestMemberHealth:
    @pytest.fixture
    def three(self, portal):
        return [portal.add_server() for _ in range(3)]

    def test_becoming_active_stores_each_members_status_and_reason(self, portal, alice, three):
        a, b, c = three
        portal.member_health(b, ERR, "HTTP 503 Service Unavailable")
        portal.member_health(c, ON, "L7OK")

        lb = active(portal, alice, servers=three, health_monitor={"type": "HTTP"}).id

        assert {k: v[2:4] for k, v in members(portal, lb).items()} == {
            a: (ON, None),
            b: (ERR, "HTTP 503 Service Unavailable"),
            c: (ON, "L7OK"),
        }
        assert portal.stored(lb).operating_status is OperatingStatus.DEGRADED
        view = portal.load_balancers.get_one(alice, lb)
        assert [(m.operating_status, m.status_reason) for m in view.servers] == [
            ("ONLINE", None),
            ("ERROR", "HTTP 503 Service Unavailable"),
            ("ONLINE", "L7OK"),
        ]

    @pytest.mark.parametrize(
        ("health", "drain", "overall"),
        [
            ((ON, ON, ON), (), OperatingStatus.ONLINE),
            ((ON, ERR, ON), (), OperatingStatus.DEGRADED),
            ((ON, OFF, ERR), (), OperatingStatus.DEGRADED),
            ((ERR, ERR, ERR), (), OperatingStatus.OFFLINE),
            ((NOMON, NOMON, NOMON), (), OperatingStatus.NO_MONITOR),
            ((NOMON, ON, ON), (), OperatingStatus.DEGRADED),
            ((ERR, ON, ON), (0,), OperatingStatus.ONLINE),  # the failing one drains: ignored
            ((ERR, ERR, ON), (2,), OperatingStatus.OFFLINE),  # the only healthy one drains
            ((ON, ON, ON), (0, 1, 2), OperatingStatus.OFFLINE),  # all draining: nothing takes new traffic
            ((NOMON, NOMON, ON), (2,), OperatingStatus.NO_MONITOR),
        ],
    )
    def test_the_overall_status_follows_from_the_members(self, portal, alice, three, health, drain, overall):
        servers = [{"server": s, "admin_state": "drain" if i in drain else "enabled"} for i, s in enumerate(three)]
        lb = active(portal, alice, servers=servers).id
        for server, status in zip(three, health, strict=True):
            portal.member_health(server, status)

        portal.provisioning.refresh(lb)

        stored = portal.stored(lb)
        assert stored.operating_status is overall
        assert [m.operating_status for m in stored.members] == [
            DRAINING if i in drain else status for i, status in enumerate(health)
        ]

    def test_a_member_the_provider_does_not_report_is_offline(self, portal, alice, three):
        a, b, c = three
        lb = active(portal, alice, servers=[a, b, {"server": c, "admin_state": "drain"}]).id
        spec = remote(portal, lb).spec
        remote(portal, lb).spec = replace(spec, members=spec.members[:1])  # b and c are gone from its report

        portal.provisioning.refresh(lb)

        assert {k: v[2:4] for k, v in members(portal, lb).items()} == {
            a: (ON, None),
            b: (OFF, "not reported by the provider"),
            c: (DRAINING, "not reported by the provider"),  # drained and deregistered: DRAINING anyway
        }
        assert portal.stored(lb).operating_status is OperatingStatus.DEGRADED

    def test_reasons_are_cut_to_255_characters(self, portal, alice, three):
        lb = active(portal, alice, servers=three).id
        portal.member_health(three[0], ERR, "x" * 300)

        portal.provisioning.refresh(lb)

        assert members(portal, lb)[three[0]][3] == "x" * REASON_MAX_LENGTH
        assert REASON_MAX_LENGTH == 255

    def test_a_status_change_is_an_event_naming_the_member(self, portal, alice, three):
        lb = active(portal, alice, servers=three).id
        portal.member_health(three[1], ERR, "connection refused")

        assert portal.provisioning.refresh(lb) == "operating status ONLINE -> DEGRADED"

        [entry] = portal.entries(action="load_balancer.operating_status_changed", target_id=str(lb))
        assert {(c.field, c.before, c.after) for c in entry.changes} == {
            ("operating_status", "ONLINE", "DEGRADED"),
            (f"member {three[1]}", "ONLINE", "ERROR"),
        }
        assert f"member {three[1]} ONLINE -> ERROR" in entry.message

    def test_nothing_new_writes_nothing_and_records_nothing(self, portal, alice, three):
        lb = active(portal, alice, servers=three).id
        portal.member_health(three[0], ERR, "timeout")
        portal.provisioning.refresh(lb)
        version, trail = portal.stored(lb).version, len(portal.entries())

        assert portal.provisioning.refresh(lb) == "unchanged: DEGRADED"
        assert portal.reconciliation.reconcile().refreshed == []
        remote_lb = portal.lbaas.get(portal.stored(lb).provider_ref)
        assert portal.provisioning.observe(portal.stored(lb), remote_lb) is False

        assert portal.stored(lb).version == version
        assert len(portal.entries()) == trail

    def test_a_new_reason_alone_is_stored_without_an_event(self, portal, alice, three):
        lb = active(portal, alice, servers=three).id
        portal.member_health(three[0], ERR, "timeout")
        portal.provisioning.refresh(lb)
        version = portal.stored(lb).version
        events_before = len(portal.entries(action="load_balancer.operating_status_changed"))

        portal.member_health(three[0], ERR, "connection refused")
        assert portal.provisioning.refresh(lb) == "member health updated: DEGRADED"

        assert members(portal, lb)[three[0]][2:4] == (ERR, "connection refused")
        assert portal.stored(lb).version == version + 1
        assert len(portal.entries(action="load_balancer.operating_status_changed")) == events_before

    def test_the_domain_says_whether_anything_changed(self, portal, alice, three):
        from loadbalancers.domain.members import Observed

        lb = portal.stored(active(portal, alice, servers=three).id)
        reported = {s: Observed(ON) for s in three}

        assert lb.observe(reported) is False
        assert lb.events == []
        assert lb.observe({**reported, three[0]: Observed(ON, "L7OK")}) is True
        assert lb.events == []
        assert lb.observe({**reported, three[0]: Observed(OFF, "gone")}) is True
        assert [e.action for e in lb.events] == ["load_balancer.operating_status_changed"]
        assert lb.operating_status is OperatingStatus.DEGRADED


# -- the server inventory -------------------------------------------------------------------------


class TestInventory:
    @pytest.fixture
    def setup(self, portal, alice):
        """web-1 backs "both" and "one"; "other" uses web-2 only."""
        web1, web2 = portal.add_server("web-1"), portal.add_server("web-2")
        lbs = {
            "both": active(portal, alice, "both", servers=[web1, web2]).id,
            "one": active(portal, alice, "one", servers=[web1]).id,
            "other": active(portal, alice, "other", servers=[web2]).id,
        }
        return web1, web2, lbs

    @pytest.mark.parametrize("status", ["MAINTENANCE", "DOWN"])
    def test_a_server_not_ok_drains_its_members_in_every_active_load_balancer(self, portal, alice, setup, status):
        web1, web2, lbs = setup
        other_version = portal.stored(lbs["other"]).version

        portal.servers.update_status(OPS, web1, status)

        assert portal.scheduler.sent == [("follow_inventory", web1)]
        portal.run_tasks()
        for name in ("both", "one"):
            lb = portal.stored(lbs[name])
            assert lb.provisioning_status is ProvisioningStatus.PENDING_UPDATE
            assert members(portal, lbs[name])[web1][1:] == ("drain", lb.members[0].operating_status, None, True)
            [entry] = portal.entries(action="load_balancer.inventory_followed", target_id=str(lbs[name]))
            assert entry.source == "worker"
            assert f"web-1 is {status}" in entry.message
            assert f"put in drain the members on {web1} (web-1 is {status})" in entry.message
        assert portal.stored(lbs["other"]).version == other_version
        assert portal.entries(action="load_balancer.inventory_followed", target_id=str(lbs["other"])) == []

        portal.settle()

        assert admin_states(portal, lbs["both"]) == {address(portal, web1): "drain", address(portal, web2): "enabled"}
        assert admin_states(portal, lbs["one"]) == {address(portal, web1): "drain"}
        assert members(portal, lbs["both"])[web1][2] is DRAINING
        assert portal.stored(lbs["one"]).operating_status is OperatingStatus.OFFLINE  # its only member drains
        assert portal.stored(lbs["both"]).provisioning_status is ProvisioningStatus.ACTIVE

    def test_a_server_ok_again_enables_the_members_it_drained(self, portal, alice, setup):
        web1, web2, lbs = setup
        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()

        portal.servers.update_status(OPS, web1, "OK")
        portal.run_tasks()

        assert members(portal, lbs["both"])[web1][:2] == (1, "enabled")
        assert members(portal, lbs["both"])[web1][4] is False
        entry = portal.entries(action="load_balancer.inventory_followed", target_id=str(lbs["both"]))[-1]
        assert entry.message.endswith(f"enabled again the members on servers {web1}, OK again")
        portal.settle()
        assert admin_states(portal, lbs["both"]) == {address(portal, web1): "enabled", address(portal, web2): "enabled"}
        assert portal.stored(lbs["one"]).operating_status is OperatingStatus.ONLINE
        assert portal.load_balancers.get_one(alice, lbs["both"]).notices == []

    def test_maintenance_then_down_changes_nothing_more(self, portal, setup):
        web1, _, lbs = setup
        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()
        version = portal.stored(lbs["both"]).version

        portal.servers.update_status(OPS, web1, "DOWN")
        portal.run_tasks()

        assert portal.stored(lbs["both"]).version == version
        assert portal.stored(lbs["both"]).provisioning_status is ProvisioningStatus.ACTIVE
        assert len(portal.entries(action="load_balancer.inventory_followed", target_id=str(lbs["both"]))) == 1

    def test_a_weighted_member_gets_its_weight_back(self, portal, alice):
        web1, web2 = portal.add_server("web-1"), portal.add_server("web-2")
        lb = active(portal, alice, servers=[{"server": web1, "weight": 9}, web2]).id

        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()
        assert [(m.weight, m.admin_state) for m in remote(portal, lb).spec.members] == [(9, "drain"), (1, "enabled")]
        portal.servers.update_status(OPS, web1, "OK")
        portal.settle()

        assert [(m.weight, m.admin_state) for m in remote(portal, lb).spec.members] == [(9, "enabled"), (1, "enabled")]

    def test_a_load_balancer_busy_at_that_time_is_caught_up_by_the_reconciler(self, portal, alice, setup):
        web1, _, lbs = setup
        update(portal, alice, lbs["one"], description="busy")  # PENDING_UPDATE when the server changes

        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.run_tasks()
        assert members(portal, lbs["one"])[web1][1] == "enabled"
        portal.settle()
        assert portal.stored(lbs["one"]).provisioning_status is ProvisioningStatus.ACTIVE
        assert members(portal, lbs["one"])[web1][1] == "enabled"

        report = portal.reconciliation.reconcile()

        assert report.inventory_followed == [lbs["one"]]
        [entry] = portal.entries(action="load_balancer.inventory_followed", target_id=str(lbs["one"]))
        assert entry.source == "reconciler"
        portal.settle()
        assert admin_states(portal, lbs["one"]) == {address(portal, web1): "drain"}
        assert portal.reconciliation.reconcile().inventory_followed == []

    def test_without_the_policy_nothing_is_drained(self, alice):
        portal = Portal(policy=ProvisioningPolicy(drain_on_maintenance=False))
        web1, web2 = portal.add_server("web-1"), portal.add_server("web-2")
        lb = active(portal, alice, servers=[web1, web2]).id
        version = portal.stored(lb).version

        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.run_tasks()
        assert portal.reconciliation.reconcile().inventory_followed == []

        assert portal.stored(lb).version == version
        assert members(portal, lb)[web1][1] == "enabled"
        assert portal.entries(action="load_balancer.inventory_followed") == []
        # nor is a member on it held in drain
        update(portal, alice, lb, servers=[{"server": web1, "admin_state": "drain"}, web2])
        portal.settle()
        update(portal, alice, lb, servers=[{"server": web1, "admin_state": "enabled"}, web2])
        assert members(portal, lb)[web1][1] == "enabled"

    def test_a_user_cannot_enable_by_hand_a_member_whose_server_is_not_ok(self, portal, alice, setup):
        web1, web2, lbs = setup
        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()
        version = portal.stored(lbs["both"]).version

        with pytest.raises(ValidationFailed) as failed:
            update(portal, alice, lbs["both"], servers=[{"server": web1, "admin_state": "enabled"}, web2])

        [message] = failed.value.details["servers"]
        assert message.startswith(f"server {web1}: web-1 is MAINTENANCE in the inventory")
        assert "until operations set the server OK again" in message
        assert portal.stored(lbs["both"]).version == version
        assert members(portal, lbs["both"])[web1][1] == "drain"

    def test_a_user_can_send_the_members_again_and_they_stay_drained(self, portal, alice, setup):
        web1, web2, lbs = setup
        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()

        update(portal, alice, lbs["both"], servers=[web1, web2])
        portal.settle()
        update(portal, alice, lbs["both"], servers=[{"server": web1, "weight": 4}, web2])
        portal.settle()

        assert members(portal, lbs["both"])[web1][:2] == (4, "drain")
        assert members(portal, lbs["both"])[web1][4] is True  # still the inventory's to enable again
        portal.servers.update_status(OPS, web1, "OK")
        portal.settle()
        assert members(portal, lbs["both"])[web1][:2] == (4, "enabled")

    def test_a_member_drained_by_hand_stays_drained_when_its_server_is_ok_again(self, portal, alice, setup):
        web1, web2, lbs = setup
        update(portal, alice, lbs["both"], servers=[{"server": web1, "admin_state": "drain"}, web2])
        portal.settle()
        version = portal.stored(lbs["both"]).version

        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()
        assert portal.stored(lbs["both"]).version == version  # already in drain: nothing to do
        portal.servers.update_status(OPS, web1, "OK")
        portal.settle()

        assert members(portal, lbs["both"])[web1][1:] == ("drain", DRAINING, None, False)
        assert portal.entries(action="load_balancer.inventory_followed", target_id=str(lbs["both"])) == []
        assert admin_states(portal, lbs["both"])[address(portal, web1)] == "drain"

    def test_sending_drain_again_leaves_the_member_to_the_inventory(self, portal, alice, setup):
        web1, web2, lbs = setup
        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()

        update(portal, alice, lbs["both"], servers=[{"server": web1, "admin_state": "drain"}, web2])
        portal.settle()
        assert members(portal, lbs["both"])[web1][1:] == ("drain", DRAINING, None, True)
        portal.servers.update_status(OPS, web1, "OK")
        portal.settle()

        assert members(portal, lbs["both"])[web1][1] == "enabled"
        assert admin_states(portal, lbs["both"])[address(portal, web1)] == "enabled"

    def test_sending_enabled_again_for_a_member_not_yet_drained_drains_it(self, portal, alice, setup):
        web1, web2, lbs = setup
        portal.uow.servers.rows[web1].status = ServerStatus.MAINTENANCE  # the inventory's follow-up not run yet

        view = update(portal, alice, lbs["both"], servers=[{"server": web1, "admin_state": "enabled"}, web2])

        assert view.provisioning_status == "PENDING_UPDATE"
        assert members(portal, lbs["both"])[web1][1:2] + members(portal, lbs["both"])[web1][4:] == ("drain", True)
        portal.settle()
        assert admin_states(portal, lbs["both"])[address(portal, web1)] == "drain"

    def test_the_view_tells_which_members_are_not_ok_in_the_inventory(self, portal, alice, setup):
        web1, web2, lbs = setup
        update(portal, alice, lbs["both"], servers=[web1, {"server": web2, "admin_state": "drain"}])
        portal.settle()
        assert portal.load_balancers.get_one(alice, lbs["both"]).notices == []

        portal.servers.update_status(OPS, web2, "DOWN")  # drained by hand already: left as it is
        portal.servers.update_status(OPS, web1, "MAINTENANCE")
        portal.settle()

        view = portal.load_balancers.get_one(alice, lbs["both"])
        assert view.notices == [
            "member web-1 is in MAINTENANCE in the inventory: it is drained until operations set the server OK again",
            "member web-2 is in DOWN in the inventory",
        ]
        assert [(m.name, m.admin_state, m.drained_by_inventory) for m in view.servers] == [
            ("web-1", "drain", True),
            ("web-2", "drain", False),
        ]


# -- retries --------------------------------------------------------------------------------------


class TestRetryByTeams:
    @pytest.fixture
    def failed(self, portal):
        """A load balancer of team "web" (alice owns it, carol is a member, dave a viewer) in ERROR."""
        portal.usernames[6] = "dave"
        portal.add_team("web", {1: Role.OWNER, 5: Role.MEMBER, 6: Role.VIEWER})
        lb = create(portal, portal.actor(1), team="web").id
        portal.lbaas.fail_next.append(ProviderRejected("quota exceeded"))
        portal.run_tasks()
        assert portal.stored(lb).provisioning_status is ProvisioningStatus.ERROR
        return lb

    @pytest.mark.parametrize("user_id", [1, 5])
    def test_owners_and_members_retry(self, portal, failed, user_id):
        view = portal.load_balancers.retry(portal.actor(user_id), failed)

        assert (view.provisioning_status, view.error_reason) == ("PENDING_CREATE", None)
        [entry] = portal.entries(action="load_balancer.retry_requested")
        assert entry.actor == portal.usernames[user_id]
        portal.settle()
        assert portal.stored(failed).provisioning_status is ProvisioningStatus.ACTIVE

    def test_a_viewer_cannot(self, portal, failed):
        with pytest.raises(NotAllowed) as denied:
            portal.load_balancers.retry(portal.actor(6), failed)

        assert denied.value.details == {"team": "web", "role": "viewer", "needed": "member"}
        assert portal.stored(failed).provisioning_status is ProvisioningStatus.ERROR
        assert portal.scheduler.sent == []

    def test_someone_outside_the_team_is_told_it_does_not_exist(self, portal, failed):
        with pytest.raises(LoadBalancerNotFound):
            portal.load_balancers.retry(portal.actor(2), failed)

    def test_an_active_one_cannot_be_retried(self, portal, failed):
        portal.load_balancers.retry(portal.actor(5), failed)
        portal.settle()

        with pytest.raises(InvalidTransition):
            portal.load_balancers.retry(portal.actor(5), failed)


# -- audit ------------------------------------------------------------------------------------------


class TestAudit:
    def test_the_create_entry_records_the_settings(self, portal, alice):
        a, b, c, d = (portal.add_server() for _ in range(4))
        servers = [
            a,
            {"server": b, "weight": 5},
            {"server": c, "admin_state": "drain"},
            {"server": d, "weight": 3, "admin_state": "drain"},
        ]
        lb = create(
            portal,
            alice,
            servers=servers,
            health_monitor=HTTP_MONITOR,
            tags=["web", "env=prod"],
            deletion_protection=True,
        ).id

        [entry] = portal.entries(action="load_balancer.create_requested", target_id=str(lb))
        changes = {c.field: (c.before, c.after) for c in entry.changes}
        assert changes["servers"] == (None, [a, b, c, d])
        assert changes["member_settings"] == (None, {str(b): "weight 5", str(c): "drain", str(d): "weight 3, drain"})
        assert changes["health_monitor"] == (
            None,
            "HTTP GET /health expecting 200-299, every 10 s, timeout 4 s, up after 2, down after 3",
        )
        assert changes["tags"] == (None, ["env=prod", "web"])
        assert changes["deletion_protection"] == (None, True)

    def test_a_plain_create_records_none_of_them(self, portal, alice):
        lb = create(portal, alice).id

        [entry] = portal.entries(action="load_balancer.create_requested", target_id=str(lb))
        assert {c.field for c in entry.changes}.isdisjoint(
            {"member_settings", "health_monitor", "tags", "deletion_protection"}
        )

    def test_a_tcp_monitor_is_described_as_such(self, portal, alice):
        lb = create(portal, alice, health_monitor={"type": "TCP", "interval": 30, "timeout": 10}).id

        [entry] = portal.entries(action="load_balancer.create_requested", target_id=str(lb))
        assert next(c.after for c in entry.changes if c.field == "health_monitor") == (
            "TCP, every 30 s, timeout 10 s, up after 2, down after 3"
        )

    def test_an_update_records_what_changed_of_the_members_settings(self, portal, alice):
        a, b = portal.add_server(), portal.add_server()
        lb = active(portal, alice, servers=[a, b]).id

        update(portal, alice, lb, servers=[{"server": a, "weight": 2}, {"server": b, "admin_state": "drain"}])

        [entry] = portal.entries(action="load_balancer.update_requested", target_id=str(lb))
        changes = {c.field: (c.before, c.after) for c in entry.changes}
        assert changes["member_settings"] == (None, {str(a): "weight 2", str(b): "drain"})
        assert "servers" not in changes
        assert AdminState.DRAIN.value == "drain"


# -- what a provider is known to refuse, and what the monitor's texts may hold ----------------


class TestProviderRefusals:
    def test_a_create_the_provider_would_refuse_is_refused_at_once_and_stores_nothing(self, portal, alice):
        portal.lbaas.refuse = ["fake: no per-member weights"]
        servers = [portal.add_server(), portal.add_server()]

        with pytest.raises(ValidationFailed) as failed:
            create(portal, alice, servers=[servers[0], {"server": servers[1], "weight": 2}])

        assert failed.value.details == {"provider": ["fake: no per-member weights"]}
        assert "the provider fake cannot do this: fake: no per-member weights" in failed.value.message
        assert portal.uow.load_balancers.rows == {}
        assert portal.scheduler.sent == []
        assert portal.lbaas.calls == []  # known without asking the provider

    def test_an_update_the_provider_would_refuse_changes_nothing_and_the_load_balancer_stays_active(
        self, portal, alice
    ):
        view = active(portal, alice)
        portal.lbaas.refuse = ["fake: no per-member weights"]
        before = portal.stored(view.id)
        calls = list(portal.lbaas.calls)
        first = before.server_ids[0]

        with pytest.raises(ValidationFailed) as failed:
            update(portal, alice, view.id, servers=[{"server": first, "weight": 3}, before.server_ids[1]])

        assert failed.value.details["provider"] == ["fake: no per-member weights"]
        assert portal.stored(view.id) == before
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE
        assert portal.lbaas.calls == calls
        # What it accepts still goes through; a drained member's weight is not a refusal.
        update(portal, alice, view.id, servers=[{"server": first, "weight": 3, "admin_state": "drain"}])
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.PENDING_UPDATE


class TestMonitorTexts:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("http_path", "/x\n"),
            ("http_path", "/health\r\n"),
            ("expected_codes", "200\n"),
            ("expected_codes", "\u0662\u0660\u0660"),  # Arabic-Indic digits: not ASCII codes
            ("expected_codes", "200," * 30 + "200"),
        ],
    )
    def test_line_breaks_non_ascii_digits_and_overlong_codes_are_refused(self, portal, alice, field, value):
        problems = refused(portal, alice, "health_monitor", health_monitor={"type": "HTTP", field: value})

        assert len(problems) == 1, problems
        assert problems[0].startswith(field), problems

    def test_the_longest_codes_accepted_are_64_characters(self, portal, alice):
        codes = ",".join(["200"] * 16)  # 63 characters
        view = create(portal, alice, health_monitor={"type": "HTTP", "expected_codes": codes})

        assert portal.stored(view.id).health_monitor.expected_codes == codes


class TestReconcileSeesOnlyWhatIsDone:
    def test_a_load_balancer_still_busy_at_the_provider_is_not_observed(self, portal, alice):
        view = active(portal, alice)
        version = portal.stored(view.id).version
        # The provider is busy with it again (changed out of band): its members read OFFLINE meanwhile.
        remote(portal, view.id).status = ProvisioningStatus.PENDING_UPDATE

        report = portal.reconciliation.reconcile()

        assert report.refreshed == []
        assert portal.stored(view.id).version == version
        assert {m.operating_status for m in portal.stored(view.id).members} == {ON}
