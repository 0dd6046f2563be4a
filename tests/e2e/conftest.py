import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client

from tests.factories import UserFactory


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
