import ipaddress

import pytest

from loadbalancers.domain.errors import ServerNotEligible
from portal.kernel.errors import ValidationFailed
from portal.kernel.pagination import PageRequest
from servers.application.payloads import CreateServer, ServerQuery, UpdateServer
from servers.domain.errors import ServerAddressTaken, ServerInUse, ServerNameTaken, ServerNotFound
from servers.domain.model import AddressPolicy, Server, ServerStatus
from tests.fakes import OPS, Portal


def test_create_normalises_the_address_and_defaults_to_ok(portal):
    server = portal.servers.create_one(OPS, CreateServer(name="web-1", address="2001:DB8::1", port=8080))

    assert (server.id, server.address, server.status) == (1, "2001:db8::1", ServerStatus.OK)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "Web 1"}, "name"),
        ({"address": "not-an-ip"}, "address"),
        ({"address": ""}, "address"),
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"status": "BROKEN"}, "status"),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(portal, fields, field):
    payload = {"name": "web-1", "address": "10.0.0.1", "port": 80, **fields}

    with pytest.raises(ValidationFailed) as failed:
        portal.servers.create_one(OPS, CreateServer(**payload))

    assert field in failed.value.details
    assert portal.uow.servers.rows == {}


def test_create_reports_all_bad_fields_at_once(portal):
    with pytest.raises(ValidationFailed) as failed:
        portal.servers.create_one(OPS, CreateServer(name="", address="x", port=-1, status="?"))

    assert set(failed.value.details) == {"name", "address", "port", "status"}


def test_names_and_address_port_pairs_are_unique(portal):
    portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.1", port=80))

    with pytest.raises(ServerNameTaken):
        portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.2", port=80))
    with pytest.raises(ServerAddressTaken):
        portal.servers.create_one(OPS, CreateServer(name="web-2", address="10.0.0.1", port=80))
    assert len(portal.uow.servers.rows) == 1


def test_update_changes_only_the_given_fields(portal):
    server = portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.1", port=80))

    changed = portal.servers.update_one(OPS, server.id, UpdateServer(status="MAINTENANCE", port=8080))

    assert (changed.name, changed.address, changed.port, changed.status) == ("web-1", "10.0.0.1", 8080, "MAINTENANCE")


def test_update_with_bad_input_changes_nothing(portal):
    server = portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.1", port=80))

    with pytest.raises(ValidationFailed):
        portal.servers.update_status(OPS, server.id, "SLEEPING")

    assert portal.uow.servers.rows[server.id].status is ServerStatus.OK


def test_unknown_servers_are_not_found(portal):
    for action in (
        lambda: portal.servers.get_one(7),
        lambda: portal.servers.update_status(OPS, 7, "OK"),
        lambda: portal.servers.delete_one(OPS, 7),
    ):
        with pytest.raises(ServerNotFound):
            action()


def test_delete_is_refused_while_a_load_balancer_uses_the_server_naming_it(portal, alice):
    from loadbalancers.application.payloads import CreateLoadBalancer

    used = portal.add_server("used")
    portal.load_balancers.create_one(alice, CreateLoadBalancer(name="shop", servers=[used]))

    with pytest.raises(ServerInUse) as in_use:
        portal.servers.delete_one(OPS, used)

    assert in_use.value.status_code == 409
    assert in_use.value.details == {"load_balancers": ["shop"]}
    assert used in portal.uow.servers.rows


def test_list_filters_searches_and_pages(portal):
    portal.add_server("web-1")
    portal.add_server("web-2", ServerStatus.DOWN)
    portal.add_server("db-1")

    down = portal.servers.get_plist(ServerQuery(status="DOWN"))
    assert [s.name for s in down.items] == ["web-2"]
    webs = portal.servers.get_plist(ServerQuery(search="web", page=PageRequest(limit=1, sort_by="name")))
    assert ([s.name for s in webs.items], webs.total) == (["web-1"], 2)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (ServerQuery(status="SLEEPING"), "status"),
        (ServerQuery(page=PageRequest(sort_by="password")), "sort_by"),
        (ServerQuery(page=PageRequest(limit=5000)), "limit"),
    ],
)
def test_bad_list_queries_are_refused(portal, query, field):
    with pytest.raises(ValidationFailed) as failed:
        portal.servers.get_plist(query)
    assert field in failed.value.details


@pytest.mark.parametrize(
    ("total", "limit", "offset", "shown", "previous", "following"),
    [
        (0, 10, 0, (0, 0), None, None),
        (25, 10, 0, (1, 10), None, 10),
        (25, 10, 10, (11, 20), 0, 20),
        (25, 10, 20, (21, 25), 10, None),
        (25, 10, 5, (6, 15), 0, 15),
    ],
)
def test_a_page_knows_its_neighbours(total, limit, offset, shown, previous, following):
    from portal.kernel.pagination import Page

    page = Page(items=list(range(max(0, min(limit, total - offset)))), total=total, limit=limit, offset=offset)

    assert (page.first_shown, page.last_shown) == shown
    assert (page.previous_offset, page.next_offset) == (previous, following)


def test_a_server_in_use_keeps_its_address_and_port_but_may_change_status_and_name(portal, alice):
    from loadbalancers.application.payloads import CreateLoadBalancer

    used = portal.add_server("used")
    portal.load_balancers.create_one(alice, CreateLoadBalancer(name="shop", servers=[used]))

    for change in (UpdateServer(address="10.9.9.9"), UpdateServer(port=9999)):
        with pytest.raises(ServerInUse) as in_use:
            portal.servers.update_one(OPS, used, change)
        assert "cannot change its address or port while in use" in in_use.value.message
    same_place = portal.uow.servers.rows[used]
    portal.servers.update_one(OPS, used, UpdateServer(address=same_place.address, port=same_place.port, name="renamed"))
    assert portal.servers.update_status(OPS, used, "DOWN").name == "renamed"


# -- addresses that must not become backends -------------------------------------------------

REFUSED_ADDRESSES = [
    ("169.254.169.254", "169.254.169.254 is link-local (cloud metadata); servers must be reachable backends"),
    ("169.254.1.1", "is link-local (cloud metadata)"),
    ("fe80::1", "fe80::1 is link-local"),
    ("0.0.0.0", "0.0.0.0 is unspecified"),
    ("::", ":: is unspecified"),
    ("0.1.2.3", "0.1.2.3 is in 0.0.0.0/8"),
    ("224.0.0.1", "224.0.0.1 is multicast"),
    ("ff02::1", "ff02::1 is multicast"),
    ("127.0.0.1", "127.0.0.1 is loopback (the portal's own host)"),
    ("127.1.2.3", "127.1.2.3 is loopback"),
    ("::1", "::1 is loopback"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1 (IPv4-mapped 127.0.0.1) is loopback"),
    ("::ffff:169.254.169.254", "(IPv4-mapped 169.254.169.254) is link-local (cloud metadata)"),
    ("::ffff:0.0.0.0", "(IPv4-mapped 0.0.0.0) is unspecified"),
    ("::ffff:224.0.0.1", "(IPv4-mapped 224.0.0.1) is multicast"),
    ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata service"),
]


@pytest.mark.parametrize(("address", "message"), REFUSED_ADDRESSES)
def test_addresses_that_reach_the_portal_or_the_cloud_are_refused_and_nothing_is_stored(portal, address, message):
    with pytest.raises(ValidationFailed) as failed:
        portal.servers.create_one(OPS, CreateServer(name="web-1", address=address, port=80))

    assert message in failed.value.details["address"][0]
    assert failed.value.details["address"][0].endswith("servers must be reachable backends")
    assert portal.uow.servers.rows == {}


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fd12:3456::1", "8.8.8.8"])
def test_private_and_public_addresses_stay_allowed(portal, address):
    assert portal.servers.create_one(OPS, CreateServer(name="web-1", address=address, port=80)).id == 1


def test_loopback_is_allowed_only_where_the_policy_says_so():
    laptop = Portal(address_policy=AddressPolicy(allow_loopback=True))

    for n, address in enumerate(("127.0.0.1", "::1", "::ffff:127.0.0.1"), start=1):
        assert laptop.servers.create_one(OPS, CreateServer(name=f"web-{n}", address=address, port=80)).id == n
    with pytest.raises(ValidationFailed, match="address"):
        laptop.servers.create_one(OPS, CreateServer(name="meta", address="169.254.169.254", port=80))
    assert len(laptop.uow.servers.rows) == 3


def test_the_policy_refuses_the_networks_it_is_given():
    policy = AddressPolicy(refused_networks=(ipaddress.ip_network("10.0.5.0/24"), ipaddress.ip_network("fd00:5::/64")))
    service = Portal(address_policy=policy).servers

    for address in ("10.0.5.7", "::ffff:10.0.5.7", "fd00:5::9"):
        with pytest.raises(ValidationFailed) as failed:
            service.create_one(OPS, CreateServer(name="web-1", address=address, port=80))
        assert "a network where the portal accepts no servers" in failed.value.details["address"][0]
    assert service.create_one(OPS, CreateServer(name="web-1", address="10.0.6.1", port=80)).id == 1


def test_moving_a_server_to_a_refused_address_changes_nothing(portal):
    server = portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.1", port=80))

    with pytest.raises(ValidationFailed) as failed:
        portal.servers.update_one(OPS, server.id, UpdateServer(address="::ffff:169.254.169.254", status="DOWN"))

    assert "link-local (cloud metadata)" in failed.value.details["address"][0]
    stored = portal.uow.servers.rows[server.id]
    assert (stored.address, stored.status) == ("10.0.0.1", ServerStatus.OK)


def _registered_before_the_rule(portal, address: str) -> int:
    """A server stored before the address rule existed (written around the service)."""
    server = portal.uow.servers.create_one(Server(name="old-meta", address=address, port=80))
    assert server.id is not None
    return server.id


def test_a_server_registered_before_the_rule_may_still_be_renamed_marked_down_or_moved_away(portal):
    old = _registered_before_the_rule(portal, "169.254.169.254")

    assert (
        portal.servers.update_one(OPS, old, UpdateServer(name="quarantined", status="DOWN")).status is ServerStatus.DOWN
    )
    moved = portal.servers.update_one(OPS, old, UpdateServer(address="10.0.0.9"))
    assert moved.address == "10.0.0.9"


def test_a_load_balancer_refuses_a_server_whose_address_is_refused_now(portal, alice):
    from loadbalancers.application.payloads import CreateLoadBalancer

    good = portal.add_server("web-1")
    old = _registered_before_the_rule(portal, "169.254.169.254")

    with pytest.raises(ServerNotEligible) as refused:
        portal.load_balancers.create_one(alice, CreateLoadBalancer(name="shop", servers=[good, old]))

    assert refused.value.details["server_ids"] == [old]
    assert "169.254.169.254 is link-local (cloud metadata)" in refused.value.message
    assert portal.uow.load_balancers.rows == {}


def test_a_load_balancer_update_refuses_a_kept_member_whose_address_is_refused_now(portal, alice):
    from loadbalancers.application.payloads import CreateLoadBalancer, UpdateLoadBalancer

    good, other = portal.add_server("web-1"), portal.add_server("web-2")
    lb = portal.load_balancers.create_one(alice, CreateLoadBalancer(name="shop", servers=[good]))
    portal.settle()
    portal.uow.servers.rows[good].address = "127.0.0.1"  # as if registered on a laptop's rules

    with pytest.raises(ServerNotEligible, match=r"127\.0\.0\.1 is loopback"):
        portal.load_balancers.update_one(alice, lb.id, UpdateLoadBalancer(servers=[good, other]))

    assert portal.stored(lb.id).server_ids == (good,)
    portal.load_balancers.update_one(alice, lb.id, UpdateLoadBalancer(servers=[other]))
    assert portal.stored(lb.id).server_ids == (other,)
