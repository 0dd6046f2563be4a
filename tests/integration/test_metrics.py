"""The metrics against the real database: each provider's health record (one upsert a
call, the minute rolling over), the reconcile passes recorded and measured, task
retries and give-ups, and what /metrics reads from the database at a scrape."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from uuid import uuid4

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from loadbalancers import bootstrap, models
from loadbalancers import metrics as scrape_time
from loadbalancers import tasks as lb_tasks
from loadbalancers.adapters import provider_health, reconcile_passes
from loadbalancers.domain.errors import ProviderUnavailable
from notifications import tasks as notification_tasks
from portal.kernel.errors import DependencyUnavailable
from tests.fakes import FakeLBaaS

T0 = datetime(2026, 11, 27, 10, 0, 5, tzinfo=UTC)


def health(provider: str = "sandbox") -> models.ProviderHealth:
    return models.ProviderHealth.objects.get(provider=provider)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def counts(row: models.ProviderHealth) -> tuple[int, int, int, int]:
    return row.calls, row.failures, row.previous_calls, row.previous_failures


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
class TestProviderHealth:
    def test_a_success_then_a_failure_in_the_same_minute(self):
        assert provider_health.record_call("sandbox", at=at(0), error=None)
        row = health()
        assert (row.last_success_at, row.last_failure_at, row.last_error) == (at(0), None, "")
        assert (row.minute, counts(row)) == (T0.replace(second=0), (1, 0, 0, 0))

        assert provider_health.record_call("sandbox", at=at(25), error="ProviderUnavailable: timed out")
        row = health()
        assert (row.last_success_at, row.last_failure_at, row.last_error) == (
            at(0),
            at(25),
            "ProviderUnavailable: timed out",
        )
        assert counts(row) == (2, 1, 0, 0)

    def test_the_minute_rolls_into_the_previous_one_and_a_gap_leaves_it_empty(self):
        provider_health.record_call("sandbox", at=at(0), error=None)
        provider_health.record_call("sandbox", at=at(10), error="boom")
        provider_health.record_call("sandbox", at=at(20), error=None)

        provider_health.record_call("sandbox", at=at(60), error=None)  # 10:01:05
        row = health()
        assert (row.minute, counts(row)) == (datetime(2026, 11, 27, 10, 1, tzinfo=UTC), (1, 0, 3, 1))
        assert row.last_error == "boom"  # the last failure's, until the next one

        provider_health.record_call("sandbox", at=at(180), error="later")  # 10:03:05: 10:02 had no calls
        row = health()
        assert (row.minute, counts(row)) == (datetime(2026, 11, 27, 10, 3, tzinfo=UTC), (1, 1, 0, 0))

    def test_a_call_from_a_process_whose_clock_is_behind_counts_in_the_current_minute(self):
        provider_health.record_call("sandbox", at=at(60), error=None)
        provider_health.record_call("sandbox", at=at(50), error="late")  # 10:00:55, the minute before

        row = health()
        assert (row.minute, counts(row)) == (datetime(2026, 11, 27, 10, 1, tzinfo=UTC), (2, 1, 0, 0))

    def test_providers_are_kept_apart(self):
        provider_health.record_call("sandbox", at=at(0), error=None)
        provider_health.record_call("haproxy", at=at(1), error="down")

        assert counts(health("sandbox")) == (1, 0, 0, 0)
        assert counts(health("haproxy")) == (1, 1, 0, 0)

    def test_nothing_is_recorded_inside_a_transaction(self):
        with transaction.atomic():
            assert not provider_health.record_call("sandbox", at=at(0), error=None)
        assert not models.ProviderHealth.objects.exists()

    def test_the_wrapper_production_builds_keeps_the_record_and_a_database_failure_never_fails_the_call(
        self, monkeypatch
    ):
        client = FakeLBaaS(name="fake")
        observed = bootstrap.observed(client)
        client.fail_next.append(ProviderUnavailable("the API timed out"))
        before = sample("portal_provider_call_errors_total", provider="fake", method="get_list", error="unavailable")

        with pytest.raises(ProviderUnavailable):
            observed.get_list()
        observed.get_list()

        row = health("fake")
        assert (row.calls, row.failures) == (2, 1)
        assert "the API timed out" in row.last_error
        assert (
            sample("portal_provider_call_errors_total", provider="fake", method="get_list", error="unavailable")
            == before + 1
        )

        def broken(*args, **kwargs):
            raise DatabaseError("the database went away")

        monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", broken)
        assert observed.get_list() == []


@pytest.mark.django_db(transaction=True)
class TestReconcilePasses:
    def test_each_pass_is_recorded_and_measured(self):
        passes = sample("portal_reconcile_passes_total", result="completed")
        timed = sample("portal_reconcile_pass_duration_seconds_count")

        lb_tasks.reconcile()
        lb_tasks.reconcile()

        assert models.ReconcilePass.objects.count() == 2
        last = models.ReconcilePass.objects.first()
        assert last.finished_at >= last.started_at
        assert (last.resumed, last.timed_out, last.lost, last.drifted, last.unreachable, last.failed) == (
            0,
            0,
            0,
            0,
            [],
            [],
        )
        assert sample("portal_reconcile_passes_total", result="completed") == passes + 2
        assert sample("portal_reconcile_pass_duration_seconds_count") == timed + 2

    def test_what_a_pass_found_is_counted_and_stored(self, monkeypatch):
        found = SimpleNamespace(
            resumed=[uuid4(), uuid4()],
            timed_out=[uuid4()],
            lost=[],
            drifted=[uuid4()],
            repaired=[],
            orphans_found=["ref-1", "ref-2", "ref-3"],
            orphans_deleted=[],
            unreachable=["haproxy"],
            failed=["lb x: boom"],
        )
        service = SimpleNamespace(reconciliation=SimpleNamespace(reconcile=lambda: found))
        monkeypatch.setattr(lb_tasks.bootstrap, "build", lambda: service)
        before = {kind: sample("portal_reconcile_findings_total", finding=kind) for kind in vars(found)}

        assert lb_tasks.reconcile()["orphans_found"] == 3

        stored = models.ReconcilePass.objects.get()
        assert (stored.resumed, stored.timed_out, stored.drifted, stored.orphans_found) == (2, 1, 1, 3)
        assert (stored.unreachable, stored.failed) == (["haproxy"], ["lb x: boom"])
        grown = {kind: sample("portal_reconcile_findings_total", finding=kind) - before[kind] for kind in vars(found)}
        assert grown == {
            "resumed": 2,
            "timed_out": 1,
            "lost": 0,
            "drifted": 1,
            "repaired": 0,
            "orphans_found": 3,
            "orphans_deleted": 0,
            "unreachable": 1,
            "failed": 1,
        }

    def test_a_pass_that_stops_on_an_error_is_recorded_as_failed(self, monkeypatch):
        def stop():
            raise RuntimeError("the provider registry is broken")

        monkeypatch.setattr(
            lb_tasks.bootstrap, "build", lambda: SimpleNamespace(reconciliation=SimpleNamespace(reconcile=stop))
        )
        failed = sample("portal_reconcile_passes_total", result="failed")

        with pytest.raises(RuntimeError):
            lb_tasks.reconcile()

        assert models.ReconcilePass.objects.get().failed == ["the pass stopped: the provider registry is broken"]
        assert sample("portal_reconcile_passes_total", result="failed") == failed + 1

    def test_only_the_newest_are_kept(self):
        now = timezone.now()
        for minutes in range(6):
            reconcile_passes.create_one(
                started_at=now + timedelta(minutes=minutes),
                finished_at=now + timedelta(minutes=minutes, seconds=1),
                counts={"resumed": minutes},
                unreachable=[],
                failed=[],
            )

        assert reconcile_passes.prune(keep=4) == 2

        assert list(models.ReconcilePass.objects.values_list("resumed", flat=True)) == [5, 4, 3, 2]
        assert reconcile_passes.KEEP == 1000


@pytest.mark.django_db
class TestTaskRetries:
    def test_a_step_retried_until_it_gives_up(self, settings, monkeypatch):
        settings.LBAAS_RETRY_MAX = 2
        failed = []

        def unavailable(lb_id):
            raise DependencyUnavailable("the provider is down")

        steps = SimpleNamespace(provision=unavailable, fail=lambda lb_id, reason: failed.append(reason))
        monkeypatch.setattr(lb_tasks.bootstrap, "build", lambda: SimpleNamespace(provisioning=steps))
        retries = sample("portal_task_retries_total", task="loadbalancers.provision")
        give_ups = sample("portal_task_give_ups_total", task="loadbalancers.provision")

        lb_tasks.provision.apply(args=[str(uuid4())])

        assert len(failed) == 1
        assert "gave up after 3 attempts" in failed[0]
        assert sample("portal_task_retries_total", task="loadbalancers.provision") == retries + 2
        assert sample("portal_task_give_ups_total", task="loadbalancers.provision") == give_ups + 1

    def test_an_email_retried_until_it_gives_up(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise smtplib.SMTPServerDisconnected("the server went away")

        monkeypatch.setattr("notifications.adapters.outbox.send_mail", refuse)
        retries = sample("portal_task_retries_total", task="notifications.email")
        give_ups = sample("portal_task_give_ups_total", task="notifications.email")

        assert notification_tasks.email.apply(args=[["alice@example.com"], "subject", "body"]).failed()

        assert sample("portal_task_retries_total", task="notifications.email") == retries + 3
        assert sample("portal_task_give_ups_total", task="notifications.email") == give_ups + 1


@pytest.mark.django_db
class TestScrapeTime:
    def collected(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in scrape_time.ScrapeTimeCollector().collect()
            for s in family.samples
        }

    def test_the_snapshot_its_age_and_the_last_pass(self):
        counted_at = timezone.now() - timedelta(seconds=90)
        for status, operating, count in (("ACTIVE", "ONLINE", 7), ("ERROR", "ERROR", 2)):
            models.StatusCount.objects.create(
                provider="sandbox",
                provisioning_status=status,
                operating_status=operating,
                count=count,
                counted_at=counted_at,
            )
        finished = timezone.now() - timedelta(seconds=5)
        models.ReconcilePass.objects.create(
            started_at=finished - timedelta(seconds=2), finished_at=finished, lost=1, failed=["a", "b"]
        )

        found = self.collected()

        assert found[("portal_metrics_database_up", ())] == 1
        lbs = "portal_load_balancers"
        assert (
            found[(lbs, (("operating_status", "ONLINE"), ("provider", "sandbox"), ("provisioning_status", "ACTIVE")))]
            == 7
        )
        assert (
            found[(lbs, (("operating_status", "ERROR"), ("provider", "sandbox"), ("provisioning_status", "ERROR")))]
            == 2
        )
        assert 90 <= found[("portal_load_balancer_counts_age_seconds", ())] < 3600
        assert found[("portal_reconcile_last_pass_finished_timestamp_seconds", ())] == finished.timestamp()
        assert found[("portal_reconcile_last_pass_findings", (("finding", "lost"),))] == 1
        assert found[("portal_reconcile_last_pass_findings", (("finding", "failed"),))] == 2

    def test_never_counted_shows_no_age(self):
        found = self.collected()

        assert found[("portal_metrics_database_up", ())] == 1
        assert not any(name == "portal_load_balancer_counts_age_seconds" for name, _ in found)

    def test_a_database_that_fails_leaves_them_out_instead_of_failing_the_scrape(self, monkeypatch):
        def down():
            raise DatabaseError("the database went away")

        monkeypatch.setattr(scrape_time.selectors, "status_counts", down)

        assert self.collected() == {("portal_metrics_database_up", ()): 0}
