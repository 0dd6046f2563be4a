"""The ops dashboard on the admin's index: counts by provider and status from the
scheduler's snapshot with links into the filtered changelist, the load balancers pending
too long, the latest errors, each provider's health, the background processes'
heartbeats, the last reconcile pass and the latest audit entries; the same queries
whatever the number of load balancers."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loadbalancers import tasks
from loadbalancers.adapters.status_counts import take_snapshot
from loadbalancers.models import LoadBalancer, ProviderHealth, ReconcilePass, StatusCount
from loadbalancers.templatetags.lb_oversight import recent
from portal.runtime import SCHEDULER, WORKER, record_heartbeat
from tests.factories import LoadBalancerRowFactory, UserFactory, grant_operations

pytestmark = pytest.mark.django_db

INDEX = "/admin/"


@pytest.fixture
def providers(settings):
    settings.LBAAS_PROVIDERS = ["sandbox", "haproxy"]


def _rows(**statuses_by_count):
    """Load balancers straight into the table, as many of each kind as asked."""
    made = []
    for kind, count in statuses_by_count.items():
        provider, provisioning, operating = kind.split("__")
        made += LoadBalancerRowFactory.create_batch(
            count, provider=provider, provisioning_status=provisioning, operating_status=operating
        )
    return made


class TestStatusSnapshot:
    def test_counts_by_provider_and_statuses_and_replaces_the_last_one(self):
        _rows(sandbox__ACTIVE__ONLINE=3, sandbox__ERROR__OFFLINE=1, haproxy__ACTIVE__DEGRADED=2)
        at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

        assert take_snapshot(at) == 6
        first = {(r.provider, r.provisioning_status, r.operating_status): r.count for r in StatusCount.objects.all()}
        assert first == {
            ("sandbox", "ACTIVE", "ONLINE"): 3,
            ("sandbox", "ERROR", "OFFLINE"): 1,
            ("haproxy", "ACTIVE", "DEGRADED"): 2,
        }

        LoadBalancer.objects.filter(provider="haproxy").delete()
        assert take_snapshot(at + timedelta(seconds=30)) == 4
        assert set(StatusCount.objects.values_list("provider", flat=True)) == {"sandbox"}
        assert set(StatusCount.objects.values_list("counted_at", flat=True)) == {at + timedelta(seconds=30)}

    def test_the_scheduled_task_takes_it(self):
        _rows(sandbox__ACTIVE__ONLINE=2)
        assert tasks.count_statuses() == 2
        assert StatusCount.objects.get().count == 2


class TestRecentCalls:
    NOW = datetime(2026, 11, 27, 10, 5, 30, tzinfo=UTC)
    ROW = {"calls": 8, "failures": 2, "previous_calls": 4, "previous_failures": 1}

    def test_this_minute_and_the_one_before(self):
        assert recent({**self.ROW, "minute": datetime(2026, 11, 27, 10, 5, tzinfo=UTC)}, self.NOW) == (12, 3)

    def test_a_row_last_written_the_minute_before_counts_that_minute_only(self):
        assert recent({**self.ROW, "minute": datetime(2026, 11, 27, 10, 4, tzinfo=UTC)}, self.NOW) == (8, 2)

    def test_an_older_row_counts_nothing(self):
        assert recent({**self.ROW, "minute": datetime(2026, 11, 27, 10, 3, tzinfo=UTC)}, self.NOW) == (0, 0)
        assert recent({**self.ROW, "minute": None}, self.NOW) == (0, 0)


class TestDashboard:
    def test_shows_counts_with_links_into_the_filtered_changelist(self, ops_web, providers):
        _rows(sandbox__ACTIVE__ONLINE=3, sandbox__ERROR__OFFLINE=1, haproxy__ACTIVE__DEGRADED=2)
        take_snapshot(timezone.now())

        page = ops_web.get(INDEX).content.decode()

        link = (
            '<a href="/admin/loadbalancers/loadbalancer/?provider=sandbox&amp;provisioning_status__exact=ACTIVE">3</a>'
        )
        assert link in page
        assert '?provider=sandbox&amp;provisioning_status__exact=ERROR">1</a>' in page
        assert (
            '?provider=haproxy&amp;provisioning_status__exact=ACTIVE&amp;operating_status__exact=DEGRADED">2</a>'
            in page
        )
        assert '<a href="/admin/loadbalancers/loadbalancer/?provider=sandbox">4</a>' in page
        # The link leads to exactly those load balancers.
        listed = ops_web.get("/admin/loadbalancers/loadbalancer/?provider=sandbox&provisioning_status__exact=ERROR")
        assert listed.context["cl"].result_count == 1

    def test_says_when_nothing_was_counted_yet(self, ops_web):
        assert "Not counted yet" in ops_web.get(INDEX).content.decode()

    def test_lists_the_load_balancers_pending_too_long_and_the_latest_errors(self, ops_web, settings):
        settings.LBAAS_STUCK_AFTER = 60
        now = timezone.now()
        LoadBalancerRowFactory(
            name="stuck-one", provisioning_status="PENDING_CREATE", pending_since=now - timedelta(hours=1)
        )
        LoadBalancerRowFactory(name="just-asked", provisioning_status="PENDING_CREATE", pending_since=now)
        LoadBalancerRowFactory(name="broken", provisioning_status="ERROR", error_reason="the provider refused the port")

        page = ops_web.get(INDEX)
        stuck = [lb["name"] for lb in _context(page, "stuck")]
        errors = _context(page, "errors")

        assert stuck == ["stuck-one"]
        assert [(lb["name"], lb["error_reason"]) for lb in errors] == [("broken", "the provider refused the port")]
        assert "the provider refused the port" in page.content.decode()

    def test_provider_health_heartbeats_and_the_last_reconcile_pass(self, ops_web):
        now = timezone.now()
        ProviderHealth.objects.create(
            provider="sandbox",
            last_success_at=now - timedelta(seconds=5),
            last_failure_at=now - timedelta(seconds=20),
            last_error="connection refused",
            minute=now.replace(second=0, microsecond=0),
            calls=3,
            failures=1,
        )
        record_heartbeat(WORKER, now - timedelta(seconds=3))
        record_heartbeat(SCHEDULER, now - timedelta(hours=2))
        ReconcilePass.objects.create(
            started_at=now - timedelta(seconds=40), finished_at=now - timedelta(seconds=38), lost=2, unreachable=["aws"]
        )

        page = ops_web.get(INDEX).content.decode()

        assert "connection refused" in page
        assert "<td>3</td><td>33%</td>" in page
        assert "alive (within" in page  # the worker
        assert "the scheduler&#x27;s last heartbeat was" in page
        assert "2 lost at their provider" in page
        assert "took 2.0 s" in page
        assert "Providers it could not list: aws" in page

    def test_the_latest_audit_entries(self, ops_web, alice_api, ok_servers):
        created = alice_api.post(
            "/api/v1/load-balancers/", {"name": "audited", "servers": [ok_servers[0].id]}, format="json"
        )
        assert created.status_code == 202

        entries = _context(ops_web.get(INDEX), "entries")

        assert [entry.target_name for entry in entries][:1] == ["audited"]

    def test_costs_the_same_queries_for_few_or_many_load_balancers(self, ops_web, settings):
        settings.LBAAS_STUCK_AFTER = 60
        old = timezone.now() - timedelta(hours=1)

        def queries():
            take_snapshot(timezone.now())
            with CaptureQueriesContext(connection) as captured:
                assert ops_web.get(INDEX).status_code == 200
            return len(captured)

        _rows(sandbox__ERROR__OFFLINE=2)
        LoadBalancerRowFactory.create_batch(2, provisioning_status="PENDING_UPDATE", pending_since=old)
        few = queries()
        _rows(sandbox__ERROR__OFFLINE=20, sandbox__ACTIVE__ONLINE=20)
        LoadBalancerRowFactory.create_batch(20, provisioning_status="PENDING_UPDATE", pending_since=old)
        assert queries() == few

    def test_staff_without_the_permissions_see_no_load_balancers_nor_the_trail(self, providers):
        _rows(sandbox__ACTIVE__ONLINE=1)
        take_snapshot(timezone.now())
        helpdesk = UserFactory(username="helpdesk", is_staff=True)
        client = Client()
        client.force_login(helpdesk)

        page = client.get(INDEX).content.decode()
        assert 'id="lb-oversight"' not in page
        assert 'id="latest-audit"' not in page

        grant_operations(helpdesk, codenames=("view",))
        page = client.get(INDEX).content.decode()
        assert 'id="lb-oversight"' in page


def _context(response, name):
    """A value the dashboard's templates were given (the inclusion tags' contexts)."""
    for context in response.context:
        if name in context:
            return context[name]
    raise AssertionError(f"no {name!r} in the page's contexts")
