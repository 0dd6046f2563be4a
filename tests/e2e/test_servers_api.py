import pytest

from servers.models import Server
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import ServerFactory

URL = "/api/v1/servers/"


def test_staff_create_change_and_delete_servers(staff_api):
    created = staff_api.post(URL, {"name": "web-9", "address": "10.1.1.9", "port": 8080}, format="json")
    assert created.status_code == 201, created.json()
    server = created.json()
    assert set(server) == {"id", "name", "address", "port", "status", "created_at", "updated_at"}
    assert server["status"] == "OK"
    url = f"{URL}{server['id']}/"

    changed = staff_api.patch(url, {"status": "MAINTENANCE"}, format="json")
    assert (changed.status_code, changed.json()["status"]) == (200, "MAINTENANCE")

    assert staff_api.delete(url).status_code == 204
    assert_error(staff_api.get(url), 404, "ServerNotFound")


def test_users_read_the_inventory_but_cannot_change_it(alice_api):
    server = ServerFactory()
    url = f"{URL}{server.pk}/"

    assert alice_api.get(url).json()["name"] == server.name
    assert alice_api.get(URL).json()["total"] == 1
    assert_error(
        alice_api.post(URL, {"name": "x", "address": "10.0.0.1", "port": 1}, format="json"), 403, "PermissionDenied"
    )
    assert_error(alice_api.patch(url, {"status": "DOWN"}, format="json"), 403, "PermissionDenied")
    assert_error(alice_api.delete(url), 403, "PermissionDenied")
    assert Server.objects.get().status == "OK"


def test_list_filters_by_status_and_searches_name_or_address(alice_api):
    ServerFactory(name="web-1", address="10.0.0.1")
    ServerFactory(name="web-2", address="10.0.0.2", status="DOWN")
    ServerFactory(name="db-1", address="10.9.9.9")

    assert [s["name"] for s in alice_api.get(f"{URL}?status=DOWN").json()["items"]] == ["web-2"]
    assert [s["name"] for s in alice_api.get(f"{URL}?search=10.9").json()["items"]] == ["db-1"]
    page = alice_api.get(f"{URL}?sort_by=name&sort_direction=desc&limit=2").json()
    assert ([s["name"] for s in page["items"]], page["total"]) == (["web-2", "web-1"], 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Web 1", "address": "10.0.0.1", "port": 80}, "name"),
        ({"name": "web-1", "address": "nowhere", "port": 80}, "address"),
        ({"name": "web-1", "address": "10.0.0.1", "port": 0}, "port"),
        ({"name": "web-1", "address": "10.0.0.1", "port": "80"}, "port"),
        ({"name": "web-1", "address": "10.0.0.1", "port": 80, "status": "BROKEN"}, "status"),
        ({"name": "web-1", "address": "10.0.0.1", "port": 80, "id": 5}, "id"),
        ({"address": "10.0.0.1", "port": 80}, "name"),
    ],
)
def test_bad_server_bodies_get_400_and_store_nothing(staff_api, body, field):
    assert_error(staff_api.post(URL, body, format="json"), 400, "ValidationError", field)
    assert Server.objects.count() == 0


def test_duplicates_get_409(staff_api):
    ServerFactory(name="web-1", address="10.0.0.1", port=80)

    assert_error(
        staff_api.post(URL, {"name": "web-1", "address": "10.0.0.2", "port": 80}, format="json"), 409, "ServerNameTaken"
    )
    assert_error(
        staff_api.post(URL, {"name": "web-2", "address": "10.0.0.1", "port": 80}, format="json"),
        409,
        "ServerAddressTaken",
    )


def test_deleting_a_server_in_use_gets_409_naming_the_load_balancers(staff_api):
    server = ServerFactory()
    assert (
        staff_api.post("/api/v1/load-balancers/", {"name": "shop", "servers": [server.pk]}, format="json").status_code
        == 202
    )

    data = assert_error(staff_api.delete(f"{URL}{server.pk}/"), 409, "ServerInUse")

    assert data["details"] == {"load_balancers": ["shop"]}
    assert Server.objects.filter(pk=server.pk).exists()


@pytest.mark.parametrize("server_id", ["abc", "0", str(2**70)])
def test_impossible_ids_get_404(alice_api, server_id):
    assert_error(alice_api.get(f"{URL}{server_id}/"), 404, "ServerNotFound")


def test_an_address_with_an_interface_zone_is_refused(staff_api):
    body = {"name": "web-1", "address": "fe80::1%eth0", "port": 80}
    data = assert_error(staff_api.post(URL, body, format="json"), 400, "ValidationError", "address")
    assert "zone" in data["details"]["address"][0]


def test_moving_a_server_in_use_gets_409(staff_api):
    server = ServerFactory()
    staff_api.post("/api/v1/load-balancers/", {"name": "shop", "servers": [server.pk]}, format="json")

    data = assert_error(
        staff_api.patch(f"{URL}{server.pk}/", {"address": "10.99.0.1"}, format="json"), 409, "ServerInUse"
    )

    assert data["details"] == {"load_balancers": ["shop"]}
    assert Server.objects.get(pk=server.pk).address == server.address


REFUSED = [
    ("169.254.169.254", "169.254.169.254 is link-local (cloud metadata); servers must be reachable backends"),
    ("0.0.0.0", "0.0.0.0 is unspecified"),
    ("::", ":: is unspecified"),
    ("fe80::1", "fe80::1 is link-local"),
    ("224.0.0.251", "224.0.0.251 is multicast"),
    ("ff02::1", "ff02::1 is multicast"),
    ("::ffff:169.254.169.254", "(IPv4-mapped 169.254.169.254) is link-local (cloud metadata)"),
    ("::ffff:0.0.0.0", "(IPv4-mapped 0.0.0.0) is unspecified"),
    ("127.0.0.1", "127.0.0.1 is loopback (the portal's own host)"),
    ("::1", "::1 is loopback"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1 (IPv4-mapped 127.0.0.1) is loopback"),
]


@pytest.mark.parametrize(("address", "message"), REFUSED)
def test_addresses_inside_the_portals_own_network_get_400_and_store_nothing(staff_api, settings, address, message):
    settings.ALLOW_LOOPBACK_BACKENDS = False  # production's rule
    body = {"name": "web-1", "address": address, "port": 80}

    data = assert_error(staff_api.post(URL, body, format="json"), 400, "ValidationError", "address")

    assert message in data["details"]["address"][0]
    assert Server.objects.count() == 0


def test_loopback_backends_are_allowed_where_the_settings_say_so(staff_api, settings):
    settings.ALLOW_LOOPBACK_BACKENDS = True  # the embedded default: the HAProxy demo's backends
    for n, address in enumerate(("127.0.0.1", "::1"), start=1):
        assert (
            staff_api.post(URL, {"name": f"web-{n}", "address": address, "port": 80}, format="json").status_code == 201
        )
    body = {"name": "meta", "address": "169.254.169.254", "port": 80}
    assert_error(staff_api.post(URL, body, format="json"), 400, "ValidationError", "address")


def test_the_networks_the_settings_refuse_get_400(staff_api, settings):
    settings.REFUSED_BACKEND_NETWORKS = ["10.0.5.0/24"]
    body = {"name": "web-1", "address": "10.0.5.20", "port": 80}

    data = assert_error(staff_api.post(URL, body, format="json"), 400, "ValidationError", "address")

    assert "10.0.5.20 is in 10.0.5.0/24" in data["details"]["address"][0]
    assert staff_api.post(URL, {**body, "address": "10.0.6.20"}, format="json").status_code == 201


def test_moving_a_server_to_a_refused_address_gets_400_and_changes_nothing(staff_api):
    server = ServerFactory(address="10.0.0.7")

    assert_error(
        staff_api.patch(f"{URL}{server.pk}/", {"address": "169.254.169.254"}, format="json"),
        400,
        "ValidationError",
        "address",
    )
    assert Server.objects.get(pk=server.pk).address == "10.0.0.7"


def test_a_server_registered_before_the_rule_cannot_join_a_load_balancer(staff_api, settings):
    settings.ALLOW_LOOPBACK_BACKENDS = False
    good = ServerFactory()
    metadata = ServerFactory(name="meta", address="169.254.169.254")  # stored before the rule existed
    loopback = ServerFactory(name="local", address="127.0.0.1")

    body = {"name": "shop", "servers": [good.pk, metadata.pk, loopback.pk]}
    data = assert_error(staff_api.post("/api/v1/load-balancers/", body, format="json"), 400, "ServerNotEligible")

    assert data["details"]["server_ids"] == [metadata.pk, loopback.pk]
    assert "169.254.169.254 is link-local (cloud metadata)" in data["details"]["servers"][0]
    assert "127.0.0.1 is loopback" in data["details"]["servers"][1]
    # ops may still take it out of service
    assert staff_api.patch(f"{URL}{metadata.pk}/", {"status": "DOWN"}, format="json").status_code == 200


def test_the_admin_form_refuses_the_same_addresses(db, settings):
    from django.test import Client

    from tests.factories import UserFactory

    settings.ALLOW_LOOPBACK_BACKENDS = False
    ops = Client()
    ops.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    body = {"name": "web-1", "address": "::ffff:169.254.169.254", "port": "80", "status": "OK"}

    answer = ops.post("/admin/servers/server/add/", body)

    assert answer.status_code == 200  # the form again, with the problem next to the field
    assert (
        "is link-local (cloud metadata); servers must be reachable backends"
        in answer.context["adminform"].form.errors["address"][0]
    )
    assert Server.objects.count() == 0
    legacy = ServerFactory(name="old", address="127.0.0.1")
    changed = ops.post(f"/admin/servers/server/{legacy.pk}/change/", {**body, "address": "127.0.0.1", "status": "DOWN"})
    assert changed.status_code == 302  # kept as it is, the address is not judged again
    assert Server.objects.get(pk=legacy.pk).status == "DOWN"
