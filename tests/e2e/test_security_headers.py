"""Every response carries a Content-Security-Policy and a Referrer-Policy, in every
environment; only the pages drawn by third-party templates get a looser policy."""

import base64
import hashlib
import html
import re

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory

from portal.security import ContentSecurityPolicyMiddleware
from tests.factories import UserFactory

STRICT = "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

pytestmark = pytest.mark.django_db


def test_the_portals_policy_allows_only_its_own_files():
    assert settings.CONTENT_SECURITY_POLICY == STRICT
    assert "unsafe" not in settings.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/healthz", "/load-balancers/", "/nowhere/"])
def test_pages_get_the_strict_policy_and_a_referrer_policy(client, path):
    response = client.get(path)

    assert response["Content-Security-Policy"] == STRICT
    assert response["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_and_the_json_api_get_the_strict_policy(alice, alice_api):
    web = Client()
    web.force_login(alice)

    assert web.get("/load-balancers/")["Content-Security-Policy"] == STRICT
    assert web.get("/servers/")["Content-Security-Policy"] == STRICT
    assert alice_api.get("/api/v1/servers/", HTTP_ACCEPT="application/json")["Content-Security-Policy"] == STRICT


def test_the_browsable_api_and_its_sign_in_page_may_use_inline_styles_only(client, alice):
    client.force_login(alice)
    browsable = client.get("/api/v1/servers/", HTTP_ACCEPT="text/html")
    sign_in = Client().get("/api-auth/login/")

    for response in (browsable, sign_in):
        policy = response["Content-Security-Policy"]
        assert policy == settings.CONTENT_SECURITY_POLICY_BROWSABLE_API
        assert policy.startswith(STRICT)
        assert "style-src 'self' 'unsafe-inline'" in policy
        assert policy.count("'unsafe-inline'") == 1  # script elements stay the strict default-src 'self'


def test_every_inline_handler_of_the_browsable_api_is_allowed_by_its_hash(client, alice):
    """DRF's "Log out" link has an onclick: the policy names its hash, so a DRF upgrade
    that changes it shows up here rather than as a link that does nothing."""
    client.force_login(alice)
    response = client.get("/api/v1/servers/", HTTP_ACCEPT="text/html")
    handlers = re.findall(r"""\son[a-z]+=(?:'([^']*)'|"([^"]*)")""", response.content.decode())

    assert handlers
    for handler in handlers:
        code = html.unescape("".join(handler))
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in response["Content-Security-Policy"], code


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_api_docs_get_their_own_looser_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]

    assert policy == settings.CONTENT_SECURITY_POLICY_API_DOCS
    assert policy.startswith(STRICT)  # still no plug-ins, no framing, no other origin


def test_a_response_that_brings_its_own_policy_keeps_it():
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse(headers={"Content-Security-Policy": "x"}))

    assert middleware(RequestFactory().get("/"))["Content-Security-Policy"] == "x"


def test_the_policy_is_a_setting(client, settings):
    settings.CONTENT_SECURITY_POLICY = "default-src 'none'"

    assert client.get("/accounts/login/")["Content-Security-Policy"] == "default-src 'none'"


def test_the_referrer_policy_holds_for_staff_pages_too():
    ops = Client()
    ops.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = ops.get("/admin/servers/server/")

    assert response["Referrer-Policy"] == "same-origin"
    assert response["Content-Security-Policy"] == STRICT


def test_djangos_debug_pages_keep_their_inline_script_when_debug_is_on(client, settings):
    settings.DEBUG = True

    assert "Content-Security-Policy" not in client.get("/nowhere/")
    assert client.get("/accounts/login/")["Content-Security-Policy"] == STRICT
