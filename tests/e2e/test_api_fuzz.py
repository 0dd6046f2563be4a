"""Property-based requests generated from the portal's own OpenAPI schema
(schemathesis): whatever a client sends, the answer is never a 500, and every error
has the one error shape."""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from loadbalancers.models import LoadBalancer
from servers.models import Server
from tests.conftest import client_for
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory


@pytest.fixture
def auth_header(db):
    user = UserFactory(username="fuzzer", is_staff=True)
    ServerFactory.create_batch(2)
    ServerFactory(status="DOWN")
    token = client_for(user)._credentials["HTTP_AUTHORIZATION"]
    return {"Authorization": token}


def test_no_request_gets_a_server_error(api_schema, auth_header):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")),
            deadline=None,
            database=None,
            # The same cases on every run, so that a release is never blocked by luck;
            # FUZZ_RANDOM=1 explores new ones (and FUZZ_EXAMPLES more of them) locally.
            derandomize=not os.environ.get("FUZZ_RANDOM"),
            suppress_health_check=list(HealthCheck),
        )
        def never_a_server_error(case):
            response = case.call(headers=auth_header)

            case.validate_response(response, checks=[not_a_server_error])
            if response.status_code >= 400:
                assert set(response.json()) == {"error", "message", "details"}, (case.method, case.path, response.text)

        never_a_server_error()


# -- hostile input the generator does not reach -------------------------------------------
# Fixed cases, the same on every run: text a JSON decoder accepts but no encoder can write
# back (lone surrogates), NUL characters (which PostgreSQL refuses), empty parameters.

LISTS = ["/api/v1/servers/", "/api/v1/load-balancers/"]
HOSTILE_QUERIES = [
    "sort_by=",
    "sort_by=&sort_direction=",
    "sort_direction=&limit=&offset=",
    "sort_by=%00",
    "sort_direction=%00",
    "limit=%00",
    "offset=-1",
    f"offset={'9' * 400}",
    "search=%00",
    "search=a%00b",
    "search=%ED%A0%80",
    "search=%FF%FE",
    "search=%27%3B%20DROP%20TABLE%20servers_server%3B%20--",
    "search=%25_%5C",
    f"search={'x' * 5000}",
    "status=%00",
    "provisioning_status=%00",
    "operating_status=%ED%A0%80",
    "provisioning_status=",
]
HOSTILE_BODIES = [
    '{"\\ud800": 1, "name": "x", "servers": [1]}',
    '{"\\udfff\\ud800": 1}',
    '{"\\u0000": 1, "name": "x"}',
    '{"name": "\\ud800", "servers": [1], "address": "\\ud800", "port": 1}',
    '{"name": "x\\u0000y", "description": "\\u0000", "servers": [1], "address": "10.0.0.1\\u0000", "port": 1}',
    '{"description": "\\ud800\\u0000", "provider": "\\ud800", "algorithm": "\\udc00", "status": "\\ud800"}',
    '{"servers": ["\\ud800"], "version": "\\ud800"}',
]


def assert_error_shape(response):
    body = json.loads(response.content.decode("utf-8"))  # strict UTF-8: every byte encodable
    assert set(body) == {"error", "message", "details"}, body
    return body


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_list_queries_get_an_answer_or_a_400(staff_api, ok_servers, path, query):
    response = staff_api.get(f"{path}?{query}")

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert_error_shape(response)


@pytest.mark.parametrize("path", LISTS)
def test_an_empty_sort_means_the_default_order(staff_api, staff, path):
    ServerFactory(name="b-server")
    ServerFactory(name="a-server")
    LoadBalancerRowFactory(name="older", created_by=staff)
    LoadBalancerRowFactory(name="newer", created_by=staff)

    def names(query):
        response = staff_api.get(f"{path}?{query}")
        assert response.status_code == 200, response.content
        return [item["name"] for item in response.json()["items"]]

    assert names("sort_by=") == names("sort_by=&sort_direction=") == names("")
    assert names("sort_by=&sort_direction=desc") == names("sort_direction=desc")


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_bodies_get_a_400_that_names_what_was_sent(staff_api, staff, ok_servers, body):
    server = ok_servers[0]
    lb = LoadBalancerRowFactory(created_by=staff)
    for method, path in [
        ("post", "/api/v1/servers/"),
        ("patch", f"/api/v1/servers/{server.pk}/"),
        ("post", "/api/v1/load-balancers/"),
        ("patch", f"/api/v1/load-balancers/{lb.pk}/"),
    ]:
        for accept in ("application/json", "text/html"):
            response = getattr(staff_api, method)(path, body, content_type="application/json", HTTP_ACCEPT=accept)

            assert response.status_code == 400, (method, path, response.content)
            if accept == "application/json":
                details = assert_error_shape(response)["details"]
                if body.startswith('{"\\ud800"'):
                    assert details["\\ud800"] == ["unknown field"]  # named, escaped
    assert Server.objects.get(pk=server.pk).name == server.name
    assert LoadBalancer.objects.get().version == lb.version


@pytest.mark.parametrize("segment", ["%00", "%ED%A0%80", "%FF", "a%00b", "9" * 400, "-1"])
def test_hostile_ids_are_not_found(staff_api, segment):
    for path in (f"/api/v1/servers/{segment}/", f"/api/v1/load-balancers/{segment}/"):
        response = staff_api.get(path)
        assert response.status_code == 404, (path, response.content)
        assert_error_shape(response)


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_bodies_for_a_token_get_a_400(client, alice, body):
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert_error_shape(response)
