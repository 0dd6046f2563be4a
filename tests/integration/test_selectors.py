"""The read side: a constant number of queries whatever the page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ServerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _room_for_many(settings):
    settings.TEAM_QUOTA_LOAD_BALANCERS = 1000


def create_many(api, count, servers):
    for i in range(count):
        response = api.post("/api/v1/load-balancers/", {"name": f"lb-{i}", "servers": servers}, format="json")
        assert response.status_code == 202


def list_queries(api, limit):
    api.get("/api/v1/load-balancers/?limit=1")  # the token's first use of the minute also notes when
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/load-balancers/?limit={limit}")
    assert response.status_code == 200
    assert len(response.json()["items"]) == limit
    return len(queries)


def test_the_list_costs_the_same_number_of_queries_for_any_page_size(staff_api, django_assert_max_num_queries):
    servers = [s.pk for s in ServerFactory.create_batch(3)]
    create_many(staff_api, 31, servers)  # more than either page: both count the list

    small, large = list_queries(staff_api, 2), list_queries(staff_api, 30)

    assert small == large
    # token+user+roles, the permissions (two), count, rows+teams+creators, members+servers, tags,
    # open drift
    with django_assert_max_num_queries(8):
        staff_api.get("/api/v1/load-balancers/?limit=30")


def test_the_server_list_costs_the_same_number_of_queries_for_any_page_size(alice_api):
    ServerFactory.create_batch(21)  # more than either page: both count the list

    alice_api.get("/api/v1/servers/?limit=1")  # the token's first use of the minute also notes when

    def count(limit):
        with CaptureQueriesContext(connection) as queries:
            assert len(alice_api.get(f"/api/v1/servers/?limit={limit}").json()["items"]) == limit
        return len(queries)

    assert count(2) == count(20)


def test_search_and_filters_apply_in_the_database(staff_api):
    servers = [ServerFactory().pk]
    create_many(staff_api, 3, servers)
    other = UserFactory(username="zed")
    from tests.conftest import client_for

    client_for(other).post("/api/v1/load-balancers/", {"name": "zed-lb", "servers": servers}, format="json")

    by_owner = staff_api.get("/api/v1/load-balancers/?search=zed").json()
    assert [i["name"] for i in by_owner["items"]] == ["zed-lb"]
    by_name = staff_api.get("/api/v1/load-balancers/?search=lb-1&sort_by=name").json()
    assert [i["name"] for i in by_name["items"]] == ["lb-1"]
    pending = staff_api.get("/api/v1/load-balancers/?provisioning_status=PENDING_CREATE&limit=2&offset=1").json()
    assert (pending["total"], pending["limit"], pending["offset"], len(pending["items"])) == (4, 2, 1, 2)


@pytest.mark.parametrize("named_at_most", [500, 1])
def test_search_finds_what_people_made_however_many_accounts_match(staff_api, monkeypatch, named_at_most):
    from tests.factories import LoadBalancerRowFactory

    monkeypatch.setattr("loadbalancers.selectors.NAMED_ACCOUNTS_MAX", named_at_most)
    made = {
        name: LoadBalancerRowFactory(name=f"of-{name}", created_by=UserFactory(username=name))
        for name in ("kim-a", "kim-b", "lee")
    }
    LoadBalancerRowFactory(name="kimono-shop", created_by=made["lee"].created_by)

    found = staff_api.get("/api/v1/load-balancers/?search=KIM&sort_by=name").json()
    nobody = staff_api.get("/api/v1/load-balancers/?search=of-lee").json()

    assert [i["name"] for i in found["items"]] == ["kimono-shop", "of-kim-a", "of-kim-b"]
    assert [i["name"] for i in nobody["items"]] == ["of-lee"]
