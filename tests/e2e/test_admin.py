"""The operations admin through Django's test client: every write goes through a
service, each action reports per load balancer, and changelists stay cheap."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loadbalancers.models import LoadBalancer
from servers.models import Server
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory

pytestmark = pytest.mark.django_db

LB_ADMIN = "/admin/loadbalancers/loadbalancer/"
SERVER_ADMIN = "/admin/servers/server/"


def act(client, url, action, *objects):
    response = client.post(url, {"action": action, "_selected_action": [str(o.pk) for o in objects]}, follow=True)
    return [str(m) for m in get_messages(response.wsgi_request)]


class TestLoadBalancerAdmin:
    def test_the_changelist_costs_the_same_queries_for_10_or_60_rows(self, ops_web):
        def queries():
            with CaptureQueriesContext(connection) as captured:
                assert ops_web.get(LB_ADMIN).status_code == 200
            return len(captured)

        LoadBalancerRowFactory.create_batch(10)
        few = queries()
        LoadBalancerRowFactory.create_batch(50)
        assert queries() == few

    def test_filters_and_search(self, ops_web):
        alice = UserFactory(username="alice")
        LoadBalancerRowFactory(name="shop", created_by=alice, vip_address="198.51.100.7")
        LoadBalancerRowFactory(name="blog", provisioning_status="ERROR")

        def names(query):
            return [lb.name for lb in ops_web.get(f"{LB_ADMIN}?{query}").context["cl"].result_list]

        assert names("provisioning_status__exact=ERROR") == ["blog"]
        assert names("q=198.51.100.7") == ["shop"]
        assert names("q=alice") == ["shop"]
        assert names("team=alice") == ["shop"]
        assert sorted(names("provider=sandbox")) == ["blog", "shop"]

    def test_the_change_page_is_read_only_and_shows_members_and_the_error(self, ops_web):
        lb = LoadBalancerRowFactory(provisioning_status="ERROR", error_reason="no capacity in zone")
        lb.members.create(server=ServerFactory(name="web-x"))

        page = ops_web.get(f"{LB_ADMIN}{lb.pk}/change/")

        html = page.content.decode()
        assert "no capacity in zone" in html
        assert "web-x" in html
        assert 'name="_save"' not in html
        ops_web.post(f"{LB_ADMIN}{lb.pk}/change/", {"name": "renamed"})
        lb.refresh_from_db()
        assert lb.name != "renamed"
        assert ops_web.get(f"{LB_ADMIN}add/").status_code == 403
        assert ops_web.get(f"{LB_ADMIN}{lb.pk}/delete/").status_code == 403

    def test_the_row_deleting_bulk_action_is_not_offered(self, ops_web):
        LoadBalancerRowFactory()
        actions = [value for value, _ in ops_web.get(LB_ADMIN).context["action_form"].fields["action"].choices]
        assert "delete_selected" not in actions
        assert "retry_provisioning" in actions

    def test_retry_reports_per_load_balancer(self, ops_web):
        failed = LoadBalancerRowFactory(name="failed", provisioning_status="ERROR", error_reason="x")
        fine = LoadBalancerRowFactory(name="fine")
        failed.members.create(server=ServerFactory())

        reports = act(ops_web, LB_ADMIN, "retry_provisioning", failed, fine)

        assert "Load balancer failed: provisioning again: PENDING_CREATE" in reports
        assert any(r.startswith("Load balancer fine: cannot retry a load balancer that is ACTIVE") for r in reports)
        failed.refresh_from_db()
        assert (failed.provisioning_status, failed.error_reason) == ("PENDING_CREATE", None)

    def test_delete_goes_through_the_provider_flow(self, ops_web):
        lb = LoadBalancerRowFactory(name="old")
        pending = LoadBalancerRowFactory(name="busy", provisioning_status="PENDING_UPDATE")

        reports = act(ops_web, LB_ADMIN, "delete_through_provider", lb, pending)

        assert "Load balancer old: deleting: PENDING_DELETE" in reports
        assert any(r.startswith("Load balancer busy: load balancer") and "PENDING_UPDATE" in r for r in reports)
        assert LoadBalancer.objects.get(pk=lb.pk).provisioning_status == "PENDING_DELETE"

    def test_actions_on_a_provider_no_longer_enabled_are_refused_naming_it(self, ops_web):
        lb = LoadBalancerRowFactory(name="orphaned", provider="retired", provisioning_status="ERROR")

        for action in ("delete_through_provider", "retry_provisioning"):
            [report] = act(ops_web, LB_ADMIN, action, lb)
            assert report.startswith("Load balancer orphaned: ")
            assert "'retired'" in report
            assert "enabled" in report
        lb.refresh_from_db()
        assert lb.provisioning_status == "ERROR"

    def test_refresh_reports_what_the_provider_says(self, ops_web):
        lb = LoadBalancerRowFactory(name="lost", provider_ref="sbx-nothing-there")

        reports = act(ops_web, LB_ADMIN, "refresh_from_provider", lb)

        assert reports == ["Load balancer lost: the provider no longer has it: now ERROR"]

    def test_mark_stuck_leaves_recent_ones_alone(self, ops_web, settings):
        settings.ADMIN_STUCK_AFTER = 600
        stuck = LoadBalancerRowFactory(
            name="stuck", provisioning_status="PENDING_CREATE", pending_since=timezone.now() - timedelta(hours=1)
        )
        recent = LoadBalancerRowFactory(
            name="recent", provisioning_status="PENDING_CREATE", pending_since=timezone.now()
        )

        reports = act(ops_web, LB_ADMIN, "mark_stuck_as_error", stuck, recent)

        assert "Load balancer stuck: marked ERROR" in reports
        assert "Load balancer recent: left alone: not PENDING_* for more than 10 minutes" in reports
        stuck.refresh_from_db()
        assert stuck.provisioning_status == "ERROR"
        assert stuck.error_reason == "marked ERROR by operations: PENDING_CREATE for 60 minutes"

    def test_only_staff_get_in(self, alice):
        client = Client()
        client.force_login(alice)
        assert client.get(LB_ADMIN).status_code == 302


class TestServerAdmin:
    def test_create_and_edit_through_the_service(self, ops_web):
        response = ops_web.post(
            f"{SERVER_ADMIN}add/", {"name": "web-9", "address": "10.9.9.9", "port": 80, "status": "OK"}
        )
        assert response.status_code == 302
        server = Server.objects.get(name="web-9")

        ops_web.post(
            f"{SERVER_ADMIN}{server.pk}/change/",
            {"name": "web-9", "address": "10.9.9.9", "port": 8080, "status": "DOWN"},
        )
        server.refresh_from_db()
        assert (server.port, server.status) == (8080, "DOWN")

    def test_the_domain_rules_show_on_the_form_and_nothing_is_stored(self, ops_web):
        response = ops_web.post(
            f"{SERVER_ADMIN}add/", {"name": "Web 9", "address": "10.9.9.9", "port": 0, "status": "OK"}
        )

        errors = response.context["adminform"].form.errors
        assert "lowercase" in errors["name"][0]
        assert "port" in errors
        assert Server.objects.count() == 0

    def test_bulk_status_changes(self, ops_web):
        a, b = ServerFactory.create_batch(2)

        reports = act(ops_web, SERVER_ADMIN, "mark_maintenance", a, b)

        assert sorted(reports) == sorted(
            [f"Server {a.name} is now MAINTENANCE.", f"Server {b.name} is now MAINTENANCE."]
        )
        assert set(Server.objects.values_list("status", flat=True)) == {"MAINTENANCE"}

    def test_deleting_a_server_in_use_is_refused_naming_the_load_balancers(self, ops_web):
        used = ServerFactory(name="web-used")
        LoadBalancerRowFactory(name="shop").members.create(server=used)
        free = ServerFactory(name="web-free")

        page = ops_web.get(f"{SERVER_ADMIN}{used.pk}/delete/").content.decode()
        assert "server web-used: used by load balancer(s) shop" in page
        ops_web.post(f"{SERVER_ADMIN}{used.pk}/delete/", {"post": "yes"})
        bulk = ops_web.post(SERVER_ADMIN, {"action": "delete_selected", "_selected_action": [used.pk], "post": "yes"})
        assert "used by load balancer(s) shop" in bulk.content.decode()
        assert Server.objects.filter(pk=used.pk).exists()

        ops_web.post(f"{SERVER_ADMIN}{free.pk}/delete/", {"post": "yes"})
        assert not Server.objects.filter(pk=free.pk).exists()

    def test_the_changelist_filters_and_searches(self, ops_web):
        ServerFactory(name="web-1", status="DOWN")
        ServerFactory(name="db-1", address="10.7.7.7")

        down = ops_web.get(f"{SERVER_ADMIN}?status__exact=DOWN").context["cl"].result_list
        assert [s.name for s in down] == ["web-1"]
        found = ops_web.get(f"{SERVER_ADMIN}?q=10.7.7").context["cl"].result_list
        assert [s.name for s in found] == ["db-1"]


def test_moving_a_server_in_use_in_the_admin_is_refused_with_a_message(ops_web):
    used = ServerFactory(name="web-used", address="10.0.0.5", port=8080)
    LoadBalancerRowFactory(name="shop").members.create(server=used)

    response = ops_web.post(
        f"{SERVER_ADMIN}{used.pk}/change/",
        {"name": "web-used", "address": "10.0.0.99", "port": 9999, "status": "OK"},
        follow=True,
    )

    assert "cannot change its address or port while in use" in response.content.decode()
    used.refresh_from_db()
    assert (used.address, used.port) == ("10.0.0.5", 8080)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (LB_ADMIN, {"action": "retry_provisioning", "_selected_action": ["not-a-uuid"]}),
        (SERVER_ADMIN, {"action": "mark_down", "_selected_action": ["abc"]}),
        (SERVER_ADMIN, {"action": "mark_down", "_selected_action": [str(2**70)]}),
        (SERVER_ADMIN, {"action": "delete_selected", "_selected_action": ["abc"]}),
    ],
)
def test_a_tampered_selection_is_refused_with_a_message(ops_web, url, data):
    response = ops_web.post(url, data, follow=True)
    assert response.status_code == 200
    assert "is not a valid selection" in response.content.decode()


@pytest.mark.parametrize("query", ["name__regex=(", "name__iregex=[", "created_at__year=99999999999", "port__gt=1"])
def test_free_form_lookups_in_the_query_string_get_400_not_500(ops_web, query):
    ServerFactory()
    assert ops_web.get(f"{SERVER_ADMIN}?{query}").status_code == 400


@pytest.mark.parametrize(
    ("url", "query"),
    [
        (LB_ADMIN, "provider__exact=%00"),
        (LB_ADMIN, "provider=%00"),
        (LB_ADMIN, "provisioning_status__exact=%00"),
        (LB_ADMIN, "operating_status__exact=ONLINE%00"),
        (LB_ADMIN, "team=%00"),
        (LB_ADMIN, "team=a%00b"),
        (SERVER_ADMIN, "status__exact=%00"),
        (SERVER_ADMIN, "status=OK%00"),
        (SERVER_ADMIN, "status__exact=OK&q=web&status=%00"),
    ],
)
def test_a_filter_value_no_database_can_compare_gets_400_not_500(ops_web, url, query):
    """PostgreSQL refuses text with a NUL character: such a filter is refused up front."""
    LoadBalancerRowFactory()
    assert ops_web.get(f"{url}?{query}").status_code == 400


@pytest.mark.parametrize("url", [LB_ADMIN, SERVER_ADMIN])
def test_a_search_with_a_nul_says_so_and_shows_the_list(ops_web, url):
    LoadBalancerRowFactory(name="shop")
    ServerFactory(name="web-1")

    response = ops_web.get(f"{url}?q=we%00b")

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1
    assert "Null characters are not allowed." in response.content.decode()


@pytest.mark.parametrize("url", [LB_ADMIN, SERVER_ADMIN])
def test_a_search_longer_than_the_api_allows_says_so_and_shows_the_list(ops_web, url):
    """SQLite refuses a LIKE pattern over 50,000 bytes: the search is bounded (as the API's)."""
    LoadBalancerRowFactory()
    ServerFactory()

    response = ops_web.get(f"{url}?q={'x' * 60_000}")

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1
    assert "Ensure this value has at most 200 characters" in response.content.decode()
    assert len(ops_web.get(f"{url}?q={'x' * 200}").context["cl"].result_list) == 0  # the longest one searched
