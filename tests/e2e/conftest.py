import random
import shutil
import tempfile
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client

from loadbalancers.bootstrap import providers
from tests.e2e.chromium import launched, watched_for_csp
from tests.factories import UserFactory
from tests.integration.lbaas.haproxy_fixtures import HAPROXY, haproxy_or_skip


@pytest.fixture
def api_schema(db):
    """The portal's own OpenAPI schema, with the portal as a WSGI app to call."""
    # As Django's test client does: keep the test's connection (and transaction) open
    # across requests instead of closing it when each one finishes.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def ops_web(db):  # type: ignore[no-untyped-def]
    """A superuser signed in to the pages and the admin."""
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def haproxy_provider(settings) -> Iterator[None]:
    """A real HAProxy next to the sandbox, with its own state folder and a loopback
    network of its own (so no two runs share VIPs)."""
    haproxy_or_skip()
    state_dir = tempfile.mkdtemp(prefix="hap-", dir="/tmp")
    settings.LBAAS_PROVIDERS = ["sandbox", "haproxy"]
    settings.HAPROXY_LBAAS = {
        "state_dir": state_dir,
        "vip_network": f"127.78.{random.randrange(1, 255)}.0/24",
        "haproxy_bin": HAPROXY,
    }
    yield
    providers().get("haproxy").stop()  # type: ignore[attr-defined]
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Chromium, once per module (a module may bring its own, to keep screenshots)."""
    yield from launched()


@pytest.fixture
def portal(browser, live_server, celery_worker, monkeypatch):  # type: ignore[no-untyped-def]
    """The live server's address, with a worker; every page is watched for
    Content-Security-Policy violations."""
    yield from watched_for_csp(browser, live_server.url, monkeypatch)
