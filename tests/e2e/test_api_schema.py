"""The OpenAPI schema tells the truth: real answers of every kind (lists, details,
creates, changes, deletes and errors) are validated against the schema the portal
serves, status code, content type and body."""

import pytest
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loadbalancers.models import LoadBalancer
from tests.conftest import client_for
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def call(api_schema):
    """Calls an operation of the schema with the given input and checks the answer
    against what the schema documents for its status code."""

    def call(method, path, *, auth=None, expect, **parts):
        case = api_schema[path][method].Case(**parts)
        headers = {"Authorization": auth} if auth else {}
        response = case.call(headers=headers)
        assert response.status_code == expect, (method, path, response.text)
        case.validate_response(response, checks=CHECKS, headers=headers)
        return response.json() if response.content else None

    return call


@pytest.fixture
def ops(staff):
    return client_for(staff)._credentials["HTTP_AUTHORIZATION"]


@pytest.fixture
def user(alice):
    return client_for(alice)._credentials["HTTP_AUTHORIZATION"]


def test_server_answers_match_the_schema(call, ops, user):
    servers, server = "/api/v1/servers/", "/api/v1/servers/{id}/"
    created = call("POST", servers, auth=ops, body={"name": "web-1", "address": "10.0.0.1", "port": 80}, expect=201)
    one = {"id": created["id"]}

    page = call("GET", servers, auth=user, query={"limit": 10, "sort_by": ""}, expect=200)
    assert [item["name"] for item in page["items"]] == ["web-1"]
    call("GET", server, auth=user, path_parameters=one, expect=200)
    call("PATCH", server, auth=ops, path_parameters=one, body={"status": "MAINTENANCE"}, expect=200)

    call("GET", servers, query={"limit": 10}, expect=401)
    call("GET", servers, auth=user, query={"sort_by": "secret"}, expect=400)
    call("GET", server, auth=user, path_parameters={"id": 999999}, expect=404)
    call("POST", servers, auth=user, body={"name": "web-2", "address": "10.0.0.2", "port": 80}, expect=403)
    call("POST", servers, auth=ops, body={"name": "web-1", "address": "10.0.0.9", "port": 80}, expect=409)
    call("POST", servers, auth=ops, body={"name": "web-2", "address": "10.0.0.2", "port": 0}, expect=400)
    call("DELETE", server, auth=ops, path_parameters=one, expect=204)


def test_load_balancer_answers_match_the_schema(call, user):
    lbs, lb = "/api/v1/load-balancers/", "/api/v1/load-balancers/{id}/"
    server = ServerFactory()
    body = {"name": "shop", "servers": [server.pk]}
    created = call("POST", lbs, auth=user, body=body, expect=202)
    one = {"id": created["id"]}

    page = call("GET", lbs, auth=user, query={"sort_by": "", "sort_direction": "desc"}, expect=200)
    assert [item["name"] for item in page["items"]] == ["shop"]
    call("GET", lb, auth=user, path_parameters=one, expect=200)
    call("PATCH", lb, auth=user, path_parameters=one, body={"description": "x"}, expect=409)  # still pending
    LoadBalancer.objects.update(provisioning_status="ACTIVE", pending_since=None)
    call("PATCH", lb, auth=user, path_parameters=one, body={"description": "x"}, expect=202)
    LoadBalancer.objects.update(provisioning_status="ERROR", pending_since=None)
    call("DELETE", lb, auth=user, path_parameters=one, expect=202)

    call("POST", lbs, auth=user, body={**body, "servers": [], "listener_port": 0}, expect=400)
    call("POST", lbs, auth=user, body={"name": "shop", "servers": [server.pk], "\ud800": 1}, expect=400)
    call("GET", lbs, auth=user, query={"provisioning_status": "BOGUS"}, expect=400)
    call("GET", lb, auth=user, path_parameters={"id": str(LoadBalancerRowFactory().pk)}, expect=404)  # not hers
    call("GET", lbs, expect=401)


def test_provider_answers_match_the_schema(call, user):
    page = call("GET", "/api/v1/providers/", auth=user, expect=200)
    assert page["total"] == len(page["items"]) == 1
    call("GET", "/api/v1/providers/", expect=401)


def test_token_answers_match_the_schema(call, settings, db):
    settings.LOGIN_FAILURE_LIMIT = 1
    UserFactory(username="carol")
    token = "/api/v1/auth/token/"

    assert call("POST", token, body={"username": "carol", "password": "secret-password"}, expect=200)["token"]
    call("POST", token, body={"username": "carol"}, expect=400)
    call("POST", token, body={"username": "carol", "password": "wrong"}, expect=400)
    throttled = call("POST", token, body={"username": "carol", "password": "secret-password"}, expect=429)
    assert throttled["error"] == "Throttled"


def test_every_list_is_documented_as_one_page_object(api_schema):
    schema = api_schema.raw_schema
    components = schema["components"]["schemas"]
    for path in ("/api/v1/servers/", "/api/v1/load-balancers/", "/api/v1/providers/"):
        page = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        name = page["$ref"].rsplit("/", 1)[-1]
        assert set(components[name]["properties"]) == {
            "items",
            "total",
            "limit",
            "offset",
            "next_cursor",
            "total_is_estimate",
        }, path
        assert components[name]["properties"]["items"]["type"] == "array"
