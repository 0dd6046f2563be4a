"""/metrics over HTTP: who may scrape it, and what a load balancer's life (create ->
ACTIVE -> delete at the sandbox, through the API and a real worker) shows there.

The tests run one process: its metrics are counted in memory for the whole session, so
each test compares a scrape after with a scrape before."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from loadbalancers import models
from loadbalancers.tasks import count_statuses
from tests.conftest import wait_until

TOKEN = "s3cr3t-metrics-token-0123456789"


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scraper(settings) -> Client:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_UNAUTHENTICATED = False
    return Client()


class TestWhoMayScrape:
    def test_without_a_token_configured_metrics_is_not_there(self, settings, client):
        settings.METRICS_TOKEN = ""
        settings.METRICS_ALLOW_UNAUTHENTICATED = False

        answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

        assert answer.status_code == 404
        assert answer.json() == {"error": "NotFound", "message": "no such endpoint: /metrics", "details": {}}

    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "Bearer",
            "Bearer ",
            f"Bearer {TOKEN}x",
            f"Token {TOKEN}",
            TOKEN,
            "Bearer wrong-token-of-any-length",
        ],
    )
    def test_a_missing_or_wrong_token_gets_401_in_the_portals_error_shape(self, scraper, header):
        extra = {} if header is None else {"HTTP_AUTHORIZATION": header}

        answer = scraper.get("/metrics", **extra)

        assert answer.status_code == 401
        assert answer["WWW-Authenticate"] == 'Bearer realm="metrics"'
        body = answer.json()
        assert body["error"] == "NotAuthenticated"
        assert "Authorization: Bearer" in body["message"]
        assert body["details"] == {}

    @pytest.mark.django_db
    def test_the_right_token_gets_the_metrics_in_the_prometheus_format(self, scraper):
        samples = scrape(scraper)

        assert value(samples, "portal_metrics_database_up") == 1
        names = {name for name, _ in samples}
        assert "portal_load_balancers" not in names  # nothing counted yet: no snapshot rows

    @pytest.mark.django_db
    def test_a_scrape_without_a_token_when_opened_to_anyone(self, settings, client):
        settings.METRICS_TOKEN = ""
        settings.METRICS_ALLOW_UNAUTHENTICATED = True

        assert client.get("/metrics").status_code == 200

    @pytest.mark.parametrize("method", ["post", "put", "delete"])
    def test_other_methods_get_405_in_the_portals_error_shape(self, scraper, method):
        answer = getattr(scraper, method)("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

        assert answer.status_code == 405
        assert answer.json()["error"] == "MethodNotAllowed"
        assert answer["Allow"] == "GET, HEAD"


@pytest.mark.django_db(transaction=True)
def test_a_load_balancers_life_shows_in_the_metrics(scraper, alice_api, ok_servers, celery_worker):
    before = scrape(scraper)

    created = alice_api.post("/api/v1/load-balancers/", {"name": "shop", "servers": [ok_servers[0].pk]}, format="json")
    assert created.status_code == 202, created.json()
    url = created["Location"]
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE")
    assert alice_api.delete(url).status_code == 202
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "DELETED")
    count_statuses()  # the scheduler's snapshot, taken now rather than in STATUS_COUNT_INTERVAL

    after = scrape(scraper)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Each request, by its URL pattern's name (never the path, which holds the id).
    assert (
        grew("portal_http_request_duration_seconds_count", view="load-balancer-list", method="POST", status="2xx") == 1
    )
    assert (
        grew("portal_http_request_duration_seconds_count", view="load-balancer-detail", method="DELETE", status="2xx")
        == 1
    )
    assert not any(name.startswith("portal_http") and "shop" in str(labels) for name, labels in after)
    # Provisioning, from the request to its outcome.
    duration = "portal_provisioning_duration_seconds_count"
    assert grew(duration, provider="sandbox", operation="create", outcome="active") == 1
    assert grew(duration, provider="sandbox", operation="delete", outcome="deleted") == 1
    assert grew(duration, provider="sandbox", operation="create", outcome="error") == 0
    # The calls to the provider, without errors.
    calls = "portal_provider_call_duration_seconds_count"
    assert grew(calls, provider="sandbox", method="create") == 1
    assert grew(calls, provider="sandbox", method="delete") == 1
    assert grew(calls, provider="sandbox", method="get") >= 2  # followed until ACTIVE, then DELETED
    # No call failed: the one error, if any, is the resource found gone once deleted.
    errors = {
        labels: grew(name, **dict(labels)) for name, labels in after if name == "portal_provider_call_errors_total"
    }
    assert {dict(labels)["error"] for labels, grown in errors.items() if grown} <= {"not_found"}
    # The snapshot of load balancers by status, and its age.
    assert (
        value(
            after,
            "portal_load_balancers",
            provider="sandbox",
            provisioning_status="DELETED",
            operating_status="OFFLINE",
        )
        == 1
    )
    assert 0 <= value(after, "portal_load_balancer_counts_age_seconds") < 3600
    # The ops dashboard's record of the provider's health, kept by the same calls.
    health = models.ProviderHealth.objects.get(provider="sandbox")
    assert health.last_success_at is not None
    assert health.failures == 0
    assert health.calls + health.previous_calls >= 4
