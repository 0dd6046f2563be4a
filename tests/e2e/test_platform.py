"""Everything around the resources: health, schema and docs, providers, tokens,
the browsable API."""

import html
import json
import re

import pytest

from tests.e2e.test_load_balancer_errors import assert_error

pytestmark = pytest.mark.django_db


def test_healthz_needs_nothing(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.fixture
def heartbeats():
    """The worker and the scheduler alive, as far as /readyz can tell."""
    from portal.runtime import SCHEDULER, WORKER, record_heartbeat

    for component in (WORKER, SCHEDULER):
        record_heartbeat(component)


def test_readyz_checks_database_broker_worker_and_scheduler(client, heartbeats):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "worker": "ok", "scheduler": "ok"}


def test_readyz_is_503_when_the_broker_is_down(client, monkeypatch, heartbeats):
    from celery import Celery

    from portal import health

    monkeypatch.setattr(health, "app", Celery(broker="redis://127.0.0.1:1/0"))
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["error"] == "DependencyUnavailable"
    assert list(response.json()["details"]) == ["broker"]


def test_readyz_names_a_worker_and_a_scheduler_that_sent_no_heartbeat(client):
    details = client.get("/readyz").json()["details"]

    assert set(details) == {"worker", "scheduler"}
    assert details["scheduler"] == "no heartbeat from the scheduler yet"
    assert "cannot arrive while the scheduler is down" in details["worker"]


def test_readyz_names_a_dead_worker_when_the_scheduler_is_alive(client, settings, heartbeats):
    from datetime import timedelta

    from django.utils import timezone

    from portal.models import Heartbeat

    Heartbeat.objects.filter(component="worker").update(seen_at=timezone.now() - timedelta(seconds=120))
    settings.HEARTBEAT_MAX_AGE = 60

    response = client.get("/readyz")

    assert response.status_code == 503
    assert list(response.json()["details"]) == ["worker"]
    assert response.json()["details"]["worker"].startswith("the worker's last heartbeat was 120 s ago")
    assert "the worker is down, stuck, or the broker does not deliver" in response.json()["details"]["worker"]


def test_the_heartbeat_task_records_the_worker(db):
    from portal.models import Heartbeat
    from portal.tasks import heartbeat

    heartbeat.apply()

    assert Heartbeat.objects.filter(component="worker").exists()


def test_the_openapi_schema_and_docs_are_served_without_credentials(client):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    expected = {"/api/v1/load-balancers/", "/api/v1/load-balancers/{id}/", "/api/v1/servers/", "/api/v1/providers/"}
    assert expected <= set(paths)

    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_the_swagger_assets_are_served_by_the_portal(client):
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_providers_lists_the_enabled_ones_with_the_default(alice_api):
    data = alice_api.get("/api/v1/providers/").json()
    assert data["total"] == 1
    assert data["items"] == [{"name": "sandbox", "description": data["items"][0]["description"], "is_default": True}]


def test_a_token_for_a_username_and_password(client, alice):
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "secret-password"}, content_type="application/json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    assert client.get("/api/v1/load-balancers/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_a_token_with_a_wrong_password_is_refused(client, alice):
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, content_type="application/json"
    )
    assert_error(response, 400, "ValidationError")


def test_the_browsable_api_works_with_a_session(client, alice):
    client.force_login(alice)
    response = client.get("/api/v1/load-balancers/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "Load Balancer" in response.content.decode()


def test_the_browsable_api_renders_every_page_of_a_load_balancer_and_a_server(client, alice):
    from tests.factories import ServerFactory

    client.force_login(alice)
    server = ServerFactory()
    created = client.post(
        "/api/v1/load-balancers/", {"name": "shop", "servers": [server.pk]}, content_type="application/json"
    )
    url = created["Location"]
    from loadbalancers.models import LoadBalancer

    LoadBalancer.objects.update(provisioning_status="ACTIVE", pending_since=None)

    for path in (url, f"/api/v1/servers/{server.pk}/", "/api/v1/servers/", "/api/v1/providers/", "/api/v1/"):
        page = client.get(path, HTTP_ACCEPT="text/html")
        assert page.status_code == 200, path
    detail = client.get(url, HTTP_ACCEPT="text/html").content.decode()
    raw_form = re.search(r"<textarea[^>]*>(.*?)</textarea>", detail, re.S).group(1)
    # the PATCH form starts from the current editable values
    assert json.loads(html.unescape(raw_form)) == {
        "servers": [{"server": server.pk, "weight": 1, "admin_state": "enabled"}],
        "algorithm": "ROUND_ROBIN",
        "description": "",
        "health_monitor": None,
        "tags": [],
        "deletion_protection": False,
        "version": 1,
    }

    deleted = client.delete(url, HTTP_ACCEPT="text/html")
    assert deleted.status_code == 202
    assert LoadBalancer.objects.get().provisioning_status == "PENDING_DELETE"


def test_the_token_endpoint_takes_only_bounded_json(client, alice):
    nested = client.post("/api/v1/auth/token/", "[" * 50000 + "]" * 50000, content_type="application/json")
    assert_error(nested, 400, "ParseError")
    form = client.post("/api/v1/auth/token/", {"username": "alice", "password": "secret-password"})
    assert_error(form, 415, "UnsupportedMediaType")


def test_password_guessing_is_throttled(client, alice, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth-token": "3/minute"})
    cache.clear()
    guesses = [
        client.post(
            "/api/v1/auth/token/", {"username": "alice", "password": f"guess-{i}"}, content_type="application/json"
        ).status_code
        for i in range(3)
    ]
    assert guesses == [400, 400, 400]

    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "secret-password"}, content_type="application/json"
    )
    assert_error(response, 429, "Throttled")
    cache.clear()


def test_the_token_endpoint_limit_cannot_be_dodged_with_a_forged_forwarded_for(client, alice, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth-token": "3/minute"})
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"username": f"user-{i}", "password": "guess"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


def test_readyz_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError

    from portal import health

    class Unreachable:
        def cursor(self):
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(health, "connection", Unreachable())

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["error"] == "DependencyUnavailable"
    assert "database unreachable" in response.json()["details"]["database"]
    assert client.get("/healthz").status_code == 200  # alive all the same
