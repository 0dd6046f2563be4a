"""The API as a new user meets it: the root lists every endpoint, each load balancer
carries its own absolute address, the browsable API's create form starts from values
that work, and the list filters by provider and team."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.test import Client

from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory, personal_team

pytestmark = pytest.mark.django_db

LIST = "/api/v1/load-balancers/"


def test_the_root_lists_every_endpoint(alice_api):
    answer = alice_api.get("/api/v1/")

    assert answer.status_code == 200
    assert answer.json() == {
        "servers": "http://testserver/api/v1/servers/",
        "load-balancers": "http://testserver/api/v1/load-balancers/",
        "teams": "http://testserver/api/v1/teams/",
        "tokens": "http://testserver/api/v1/tokens/",
        "audit": "http://testserver/api/v1/audit/",
        "providers": "http://testserver/api/v1/providers/",
        "auth/token": "http://testserver/api/v1/auth/token/",
        "schema": "http://testserver/api/v1/schema/",
        "docs": "http://testserver/api/v1/docs/",
        "redoc": "http://testserver/api/v1/redoc/",
    }
    for name, url in answer.json().items():
        if name != "auth/token":  # POST only
            assert alice_api.get(url.removeprefix("http://testserver")).status_code == 200, name


def test_the_root_still_needs_credentials(client):
    answer = client.get("/api/v1/")
    assert answer.status_code == 401
    assert answer.json()["error"] == "NotAuthenticated"


def test_each_record_links_to_itself(alice, alice_api):
    lb = LoadBalancerRowFactory(name="shop", created_by=alice)
    own = f"http://testserver{LIST}{lb.pk}/"

    listed = alice_api.get(LIST).json()["items"]
    assert [item["url"] for item in listed] == [own]
    assert alice_api.get(own).json()["url"] == own
    assert list(listed[0])[:2] == ["id", "url"]


def test_a_created_record_links_where_its_location_says(alice_api):
    server = ServerFactory()
    answer = alice_api.post(LIST, {"name": "shop", "servers": [server.pk]}, format="json")

    assert answer.status_code == 202
    assert answer.json()["url"] == answer["Location"]


def test_the_schema_documents_the_link(alice_api):
    schema = alice_api.get("/api/v1/schema/?format=json").json()
    url = schema["components"]["schemas"]["LoadBalancerOutput"]["properties"]["url"]
    assert (url["type"], url["format"]) == ("string", "uri")


def test_the_browsable_create_form_starts_from_values_that_work(alice):
    server = ServerFactory()
    web = Client()
    web.force_login(alice)
    page = web.get(LIST, HTTP_ACCEPT="text/html").content.decode()
    raw = re.search(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', page, re.S)
    assert raw, "no raw data form"
    start = json.loads(html.unescape(raw.group(1)))

    assert "" not in [start[name] for name in start if name not in ("name", "description")]
    assert None not in start.values()
    assert {"provider", "team", "health_monitor"}.isdisjoint(start)
    # Filled in with a name and a server, as the form invites, it creates.
    created = web.post(
        LIST,
        json.dumps({**start, "name": "from-the-form", "servers": [server.pk]}),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    assert created.status_code == 202, created.content


def test_the_list_filters_by_provider(alice, alice_api):
    LoadBalancerRowFactory(name="on-sandbox", created_by=alice)
    LoadBalancerRowFactory(name="on-haproxy", created_by=alice, provider="haproxy")

    names = [item["name"] for item in alice_api.get(f"{LIST}?provider=haproxy").json()["items"]]
    assert names == ["on-haproxy"]
    assert alice_api.get(f"{LIST}?provider=nowhere").json()["total"] == 0
    refused = alice_api.get(f"{LIST}?provider={'x' * 64}")
    assert refused.status_code == 400
    assert "provider" in refused.json()["details"]


def test_the_list_filters_by_team(alice, alice_api):
    from accounts.models import Team

    LoadBalancerRowFactory(name="mine", created_by=alice)
    other = Team.objects.create(slug="other", name="Other")
    other.memberships.create(user=alice, role="member")
    LoadBalancerRowFactory(name="theirs", created_by=UserFactory(), team=other)

    assert [item["name"] for item in alice_api.get(f"{LIST}?team=other").json()["items"]] == ["theirs"]
    mine = personal_team(alice).slug
    assert [item["name"] for item in alice_api.get(f"{LIST}?team={mine}").json()["items"]] == ["mine"]
