"""An account has the same power on every path: staff status alone opens no door the
admin keeps shut; the model permissions the admin asks for open the same doors in the
API and on the pages."""

import pytest

from tests.conftest import client_for
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory, grant_operations

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare_staff():
    """Staff status and no permission: the admin answers 403 everywhere."""
    return UserFactory(username="intern", is_staff=True)


@pytest.fixture
def auditor():
    """Staff who may view load balancers and servers, and change nothing."""
    return grant_operations(UserFactory(username="auditor", is_staff=True), codenames=("view",))


@pytest.fixture
def alices_lb(alice):
    return LoadBalancerRowFactory(created_by=alice, name="alices")


def test_staff_status_alone_does_not_open_the_admin(client, bare_staff):
    client.force_login(bare_staff)
    assert client.get("/admin/loadbalancers/loadbalancer/").status_code == 403
    assert client.get("/admin/servers/server/add/").status_code == 403


def test_staff_status_alone_cannot_change_the_inventory_through_the_api(bare_staff):
    api = client_for(bare_staff)
    server = ServerFactory()

    created = api.post("/api/v1/servers/", {"name": "x", "address": "10.9.9.9", "port": 80}, format="json")
    changed = api.patch(f"/api/v1/servers/{server.pk}/", {"status": "DOWN"}, format="json")
    deleted = api.delete(f"/api/v1/servers/{server.pk}/")

    assert_error(created, 403, "PermissionDenied")
    assert "permission to add servers" in created.json()["message"]
    assert_error(changed, 403, "PermissionDenied")
    assert "permission to change servers" in changed.json()["message"]
    assert_error(deleted, 403, "PermissionDenied")
    server.refresh_from_db()
    assert server.status == "OK"
    assert api.get("/api/v1/servers/").status_code == 200  # reading is for everyone


def test_staff_status_alone_sees_and_touches_only_its_own_load_balancers(bare_staff, alices_lb):
    api = client_for(bare_staff)
    url = f"/api/v1/load-balancers/{alices_lb.pk}/"

    assert api.get("/api/v1/load-balancers/").json()["total"] == 0
    assert_error(api.get(url), 404, "LoadBalancerNotFound")
    assert_error(api.patch(url, {"description": "mine now"}, format="json"), 404, "LoadBalancerNotFound")
    assert_error(api.delete(url), 404, "LoadBalancerNotFound")
    alices_lb.refresh_from_db()
    assert (alices_lb.description, alices_lb.provisioning_status) == ("", "ACTIVE")


def test_staff_status_alone_sees_only_its_own_on_the_pages(client, bare_staff, alices_lb):
    client.force_login(bare_staff)

    listing = client.get("/load-balancers/")

    assert "My load balancers" in listing.content.decode()
    assert "alices" not in listing.content.decode()
    assert client.get(f"/load-balancers/{alices_lb.pk}/").status_code == 404


def test_the_view_permission_reads_everything_and_changes_nothing(auditor, alices_lb):
    api = client_for(auditor)
    url = f"/api/v1/load-balancers/{alices_lb.pk}/"

    assert api.get("/api/v1/load-balancers/").json()["total"] == 1
    assert api.get(url).json()["owner"] == "alice"
    refused = api.delete(url)

    assert_error(refused, 403, "PermissionDenied")
    assert "permission to change load balancers" in refused.json()["message"]
    alices_lb.refresh_from_db()
    assert alices_lb.provisioning_status == "ACTIVE"
    assert_error(
        api.post("/api/v1/servers/", {"name": "x", "address": "10.9.9.9"}, format="json"), 403, "PermissionDenied"
    )


def test_operations_staff_with_the_permissions_act_on_everything(staff, alices_lb):
    api = client_for(staff)
    url = f"/api/v1/load-balancers/{alices_lb.pk}/"

    assert api.get(url).status_code == 200
    assert api.delete(url).status_code == 202
    assert (
        api.post("/api/v1/servers/", {"name": "x", "address": "10.9.9.9", "port": 80}, format="json").status_code == 201
    )
