"""What the portal measures, against in-memory fakes: provisioning durations where the
outcome is stored, the observing wrapper around every LBaaS client, the webhook
deliveries, the metrics settings, and the names requests are counted under."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from config import env
from loadbalancers.adapters.observed_lbaas import ObservedLBaaSClient
from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound, ProviderUnavailable
from loadbalancers.domain.model import ProvisioningStatus
from notifications.application.payloads import CreateWebhook
from notifications.domain.errors import DeliveryFailed
from notifications.domain.model import DeliveryStatus
from portal import metrics
from portal.request_metrics import UNMATCHED, view_name
from tests.fakes import FakeLBaaS, FakeObservations, Portal
from tests.unit.test_settings_env import _run, _settings, _start

# -- provisioning: from the request to its outcome -------------------------------------------


def create_shop(portal: Portal, actor) -> object:  # type: ignore[no-untyped-def]
    return portal.load_balancers.create_one(actor, CreateLoadBalancer(name="shop", servers=[portal.add_server()])).id


class TestProvisioningDuration:
    def test_a_create_that_ends_active_is_timed_from_the_request(self, portal, alice):
        lb_id = create_shop(portal, alice)
        portal.run_tasks()  # asked at the provider
        portal.clock.advance(42)
        portal.lbaas.finish()
        portal.run_tasks()  # ACTIVE

        assert portal.stored(lb_id).provisioning_status is ProvisioningStatus.ACTIVE
        assert portal.observations.of("provisioning_finished") == [
            {"provider": "fake", "operation": "create", "outcome": "active", "seconds": 42.0}
        ]

    def test_a_create_that_fails_and_its_delete_are_each_timed(self, portal, alice):
        lb_id = create_shop(portal, alice)
        portal.run_tasks()
        portal.clock.advance(5)
        portal.lbaas.finish(error="no capacity")
        portal.run_tasks()
        portal.load_balancers.delete_one(alice, lb_id)
        portal.clock.advance(7)
        portal.run_tasks()  # asked to delete
        portal.lbaas.finish()
        portal.clock.advance(3)
        portal.run_tasks()  # gone at the provider: DELETED

        assert portal.stored(lb_id).provisioning_status is ProvisioningStatus.DELETED
        assert portal.observations.of("provisioning_finished") == [
            {"provider": "fake", "operation": "create", "outcome": "error", "seconds": 5.0},
            {"provider": "fake", "operation": "delete", "outcome": "deleted", "seconds": 10.0},
        ]

    def test_looks_that_find_the_work_still_under_way_observe_nothing(self, portal, alice):
        create_shop(portal, alice)
        portal.run_tasks()
        portal.run_tasks()
        portal.run_tasks()

        assert portal.observations.of("provisioning_finished") == []


# -- the observing wrapper around every LBaaS client -----------------------------------------


class Ticks:
    """A timer that moves 0.25 s each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


class Health:
    def __init__(self, fails: bool = False) -> None:
        self.recorded: list[tuple[str, str | None]] = []
        self.fails = fails

    def __call__(self, provider: str, *, at, error: str | None) -> None:  # type: ignore[no-untyped-def]
        if self.fails:
            raise RuntimeError("the database went away")
        self.recorded.append((provider, error))


def observed(client: FakeLBaaS, health: Health | None = None) -> tuple[ObservedLBaaSClient, FakeObservations, Health]:
    observations, health = FakeObservations(), health or Health()
    wrapper = ObservedLBaaSClient(
        client, observations=observations, record_health=health, now=lambda: None, timer=Ticks()
    )
    return wrapper, observations, health


def spec():  # type: ignore[no-untyped-def]
    from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec

    return LoadBalancerSpec("shop", "HTTP", 80, "ROUND_ROBIN", (MemberSpec("10.0.0.2", 8080),))


class TestObservedClient:
    def test_each_call_is_timed_by_provider_and_method_and_counts_as_a_success(self):
        wrapper, observations, health = observed(FakeLBaaS(name="fake"))

        created = wrapper.create(spec(), client_token="t-1")
        wrapper.get(created.ref)
        wrapper.get_list()

        assert wrapper.name == "fake"
        assert observations.of("provider_called") == [
            {"provider": "fake", "method": "create", "seconds": 0.25, "error": None},
            {"provider": "fake", "method": "get", "seconds": 0.25, "error": None},
            {"provider": "fake", "method": "get_list", "seconds": 0.25, "error": None},
        ]
        assert health.recorded == [("fake", None)] * 3

    @pytest.mark.parametrize(
        ("failure", "kind"),
        [
            (ProviderUnavailable("the API timed out"), "unavailable"),
            (ProviderRejected("quota exceeded"), "rejected"),
            (RuntimeError("a bug in the adapter"), "unexpected"),
        ],
    )
    def test_a_failed_call_is_counted_by_kind_and_raised_as_it_was(self, failure, kind):
        client = FakeLBaaS(name="fake")
        client.fail_next.append(failure)
        wrapper, observations, health = observed(client)

        with pytest.raises(type(failure)) as raised:
            wrapper.get_list()

        assert raised.value is failure
        assert observations.of("provider_called") == [
            {"provider": "fake", "method": "get_list", "seconds": 0.25, "error": kind}
        ]
        ((provider, error),) = health.recorded
        assert provider == "fake"
        assert type(failure).__name__ in error
        assert str(failure.args[0]) in error

    def test_a_resource_not_found_is_an_answer_for_the_providers_health(self):
        wrapper, observations, health = observed(FakeLBaaS(name="fake"))

        with pytest.raises(ProviderResourceNotFound):
            wrapper.get("fake-404")

        assert observations.of("provider_called")[0]["error"] == "not_found"
        assert health.recorded == [("fake", None)]

    def test_a_failure_to_record_never_fails_the_call(self):
        wrapper, _observations, _health = observed(FakeLBaaS(name="fake"), Health(fails=True))

        created = wrapper.create(spec(), client_token="t-1")

        assert wrapper.get(created.ref).ref == created.ref

    def test_what_needs_no_call_passes_through_unmeasured_and_so_does_the_rest(self):
        client = FakeLBaaS(name="fake", refuse=["weights"])
        wrapper, observations, _health = observed(client)

        assert wrapper.as_running(spec()) == spec()
        assert wrapper.refusals(spec()) == []
        wrapper.tamper  # noqa: B018 - an adapter's own method, reached through the wrapper
        assert wrapper.resources is client.resources
        assert observations.seen == []


# -- webhook deliveries -----------------------------------------------------------------------


@pytest.fixture
def delivery(portal):  # type: ignore[no-untyped-def]
    """One PENDING delivery to a webhook of alice's team."""
    alice = portal.actor(1)
    portal.notifications.webhooks.create_one(
        alice,
        "alice",
        CreateWebhook(
            url="https://hooks.example.com/in",
            secret="s3cret-of-the-hook-0123456789",
            event_types=["load_balancer.create_requested"],
        ),
    )
    create_shop(portal, alice)
    (made,) = portal.uow.deliveries.rows.values()
    return made


class TestDeliveries:
    def test_each_attempt_and_how_the_delivery_ended_are_counted(self, portal, delivery):
        portal.sender.answers = [500, DeliveryFailed("could not deliver: connection refused"), 503]

        for _ in range(3):
            portal.notifications.deliveries.deliver(delivery.id)

        assert portal.uow.deliveries.rows[delivery.id].status is DeliveryStatus.FAILED
        assert portal.observations.of("delivery_attempted") == [{"succeeded": False}] * 3
        assert portal.observations.of("delivery_finished") == [{"status": "failed"}]

    def test_a_success(self, portal, delivery):
        portal.notifications.deliveries.deliver(delivery.id)
        portal.notifications.deliveries.deliver(delivery.id)  # the message came twice: not counted again

        assert portal.observations.of("delivery_attempted") == [{"succeeded": True}]
        assert portal.observations.of("delivery_finished") == [{"status": "succeeded"}]

    def test_a_delivery_skipped_because_its_webhook_was_disabled(self, portal, delivery):
        hook = portal.uow.webhooks.rows[delivery.webhook_id]
        hook.enabled = False

        portal.notifications.deliveries.deliver(delivery.id)

        assert portal.observations.of("delivery_attempted") == []
        assert portal.observations.of("delivery_finished") == [{"status": "skipped"}]


# -- settings ---------------------------------------------------------------------------------


class TestSettings:
    @pytest.mark.parametrize(
        ("raw", "fragment"),
        [
            ("short-token", "METRICS_TOKEN must be at least 16 characters long"),
            ("a token with spaces in it", "METRICS_TOKEN may hold only letters"),
            ("tøken-with-non-ascii-letters", "METRICS_TOKEN may hold only letters"),
        ],
    )
    def test_a_bad_token_is_refused_naming_the_variable(self, monkeypatch, raw, fragment):
        monkeypatch.setenv("METRICS_TOKEN", raw)
        with pytest.raises(ImproperlyConfigured, match=fragment):
            env.bearer_token("METRICS_TOKEN")

    def test_a_good_token_and_none(self, monkeypatch):
        monkeypatch.setenv("METRICS_TOKEN", " q8Zt3mW-vN1rX6pLc0Hs_Ky4Jb9Df2Ge= ")
        assert env.bearer_token("METRICS_TOKEN") == "q8Zt3mW-vN1rX6pLc0Hs_Ky4Jb9Df2Ge="
        monkeypatch.setenv("METRICS_TOKEN", "")
        assert env.bearer_token("METRICS_TOKEN") == ""

    def test_a_token_and_an_open_endpoint_contradict_each_other(self, tmp_path):
        started = _start(
            "config.settings.dev",
            PORTAL_VAR_DIR=str(tmp_path),
            METRICS_TOKEN="q8Zt3mW-vN1rX6pLc0Hs_Ky4Jb9Df2Ge",
            METRICS_ALLOW_UNAUTHENTICATED="true",
        )
        assert started.returncode != 0
        assert "METRICS_TOKEN and METRICS_ALLOW_UNAUTHENTICATED=true contradict each other" in started.stderr

    def test_a_bad_flag_names_the_variable(self, tmp_path):
        started = _start("config.settings.dev", PORTAL_VAR_DIR=str(tmp_path), METRICS_ALLOW_UNAUTHENTICATED="yes!")
        assert started.returncode != 0
        assert "METRICS_ALLOW_UNAUTHENTICATED must be one of" in started.stderr

    def test_by_default_metrics_is_closed_and_its_folder_is_under_the_var_dir(self, tmp_path):
        values = _settings(
            "config.settings.dev",
            ["METRICS_TOKEN", "METRICS_ALLOW_UNAUTHENTICATED"],
            PORTAL_VAR_DIR=str(tmp_path),
        )
        assert values == {"METRICS_TOKEN": "", "METRICS_ALLOW_UNAUTHENTICATED": False}
        started = _run(
            ["-c", "import django; django.setup(); from django.conf import settings; print(settings.METRICS_DIR)"],
            "config.settings.dev",
            PORTAL_VAR_DIR=str(tmp_path),
        )
        assert started.stdout.strip() == str(tmp_path / "metrics")


# -- requests are counted by the name of their URL pattern -------------------------------------


class TestViewNames:
    @pytest.mark.parametrize(
        ("path", "name"),
        [
            ("/api/v1/load-balancers/", "load-balancer-list"),
            ("/api/v1/load-balancers/0b6f4a4e-8d7c-4a8e-9b49-1f1e2d3c4b5a/", "load-balancer-detail"),
            ("/healthz", "healthz"),
            ("/metrics", "metrics"),
            ("/no/such/page/12345", UNMATCHED),
        ],
    )
    def test_a_request_is_named_by_its_pattern_never_its_path(self, path, name):
        assert view_name(RequestFactory().get(path)) == name

    def test_metric_names_carry_the_portals_prefix(self):
        with pytest.raises(ValueError, match="portal_"):
            metrics.counter("requests_total", "no prefix")
