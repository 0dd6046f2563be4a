"""Every bad input gets its error through HTTP, in the one error shape, and changes
nothing; one test per error class."""

import uuid

import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from loadbalancers.models import LoadBalancer
from tests.factories import ServerFactory

URL = "/api/v1/load-balancers/"


@pytest.fixture
def body(ok_servers):
    return {"name": "shop", "servers": [ok_servers[0].pk, ok_servers[1].pk]}


def assert_error(response, status, error, field=None):
    assert response.status_code == status, response.content
    data = response.json()
    assert set(data) == {"error", "message", "details"}
    assert data["error"] == error
    assert data["message"]
    if field:
        assert field in data["details"], data
    return data


BAD_BODIES = [
    ("name missing", lambda b: b.pop("name"), "name"),
    ("name empty", lambda b: b.update(name=""), "name"),
    ("name upper case", lambda b: b.update(name="Shop"), "name"),
    ("name with space", lambda b: b.update(name="my shop"), "name"),
    ("name with underscore", lambda b: b.update(name="my_shop"), "name"),
    ("name 64 characters", lambda b: b.update(name="a" * 64), "name"),
    ("name not text", lambda b: b.update(name=12), "name"),
    ("servers missing", lambda b: b.pop("servers"), "servers"),
    ("servers empty", lambda b: b.update(servers=[]), "servers"),
    ("servers not a list", lambda b: b.update(servers="1,2"), "servers"),
    ("servers duplicated", lambda b: b.update(servers=[b["servers"][0]] * 2), "servers"),
    ("servers not integers", lambda b: b.update(servers=["a", 1.5]), "servers"),
    ("servers as strings", lambda b: b.update(servers=[str(b["servers"][0])]), "servers"),
    ("servers booleans", lambda b: b.update(servers=[True]), "servers"),
    ("servers unknown id", lambda b: b.update(servers=[987654]), "servers"),
    ("servers id beyond any database", lambda b: b.update(servers=[2**70]), "servers"),
    ("port 0", lambda b: b.update(listener_port=0), "listener_port"),
    ("port 70000", lambda b: b.update(listener_port=70000), "listener_port"),
    ("port as text", lambda b: b.update(listener_port="80"), "listener_port"),
    ("unknown protocol", lambda b: b.update(listener_protocol="UDP"), "listener_protocol"),
    ("unknown algorithm", lambda b: b.update(algorithm="RANDOM"), "algorithm"),
    ("unknown provider", lambda b: b.update(provider="aws-mars-1"), "provider"),
    ("unknown field", lambda b: b.update(colour="blue"), "colour"),
    ("read-only provisioning_status", lambda b: b.update(provisioning_status="ACTIVE"), "provisioning_status"),
    ("read-only owner", lambda b: b.update(owner="bob"), "owner"),
    ("read-only created_by", lambda b: b.update(created_by="bob"), "created_by"),
    ("read-only vip_address", lambda b: b.update(vip_address="1.2.3.4"), "vip_address"),
]


@pytest.mark.parametrize(("case", "mutate", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_create_bodies_get_400_naming_the_field_and_change_nothing(alice_api, body, case, mutate, field):
    mutate(body)

    response = alice_api.post(URL, body, format="json")

    data = response.json()
    assert response.status_code == 400, data
    assert data["error"] in ("ValidationError", "ServerNotEligible")
    assert field in data["details"], data
    assert LoadBalancer.objects.count() == 0


@pytest.mark.parametrize("status", ["DOWN", "MAINTENANCE"])
def test_servers_not_ok_get_server_not_eligible_saying_which_and_why(alice_api, body, status):
    bad = ServerFactory(status=status)
    body["servers"].append(bad.pk)

    data = assert_error(alice_api.post(URL, body, format="json"), 400, "ServerNotEligible", "servers")

    assert data["details"]["servers"] == [f"server {bad.pk} ({bad.name}) is {status}; only OK servers may be used"]
    assert data["details"]["server_ids"] == [bad.pk]
    assert LoadBalancer.objects.count() == 0


def test_all_bad_fields_are_reported_at_once(alice_api, body):
    down = ServerFactory(status="DOWN")
    body.update(name="Bad_Name", servers=[down.pk], listener_port=0, algorithm="RANDOM")

    data = assert_error(alice_api.post(URL, body, format="json"), 400, "ValidationError")

    assert set(data["details"]) == {"name", "servers", "listener_port", "algorithm"}


def test_a_body_that_is_not_json_is_a_parse_error(alice_api):
    response = alice_api.post(URL, "{not json", content_type="application/json")
    assert_error(response, 400, "ParseError")
    assert LoadBalancer.objects.count() == 0


def test_a_json_body_that_is_not_an_object_is_refused(alice_api):
    assert_error(alice_api.post(URL, [1, 2], format="json"), 400, "ValidationError", "non_field_errors")


def test_json_nested_too_deeply_is_a_parse_error_not_a_crash(alice_api):
    response = alice_api.post(URL, "[" * 50000 + "]" * 50000, content_type="application/json")
    assert_error(response, 400, "ParseError")


def test_a_body_too_large_gets_413(alice_api, settings):
    response = alice_api.post(
        URL, '{"name": "' + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}', content_type="application/json"
    )
    assert_error(response, 413, "RequestTooLarge")


def test_a_form_body_gets_415(alice_api):
    assert_error(alice_api.post(URL, {"name": "x"}), 415, "UnsupportedMediaType")


def test_a_taken_name_gets_409(alice_api, bob_api, body):
    assert alice_api.post(URL, body, format="json").status_code == 202

    assert_error(bob_api.post(URL, body, format="json"), 409, "NameTaken", "name")
    assert LoadBalancer.objects.count() == 1


def test_patch_and_delete_while_pending_get_409(alice_api, body):
    url = alice_api.post(URL, body, format="json")["Location"]

    assert_error(alice_api.patch(url, {"description": "x"}, format="json"), 409, "LoadBalancerPending")
    assert_error(alice_api.delete(url), 409, "LoadBalancerPending")
    assert LoadBalancer.objects.get().provisioning_status == "PENDING_CREATE"


@pytest.fixture
def active_url(alice_api, body):
    url = alice_api.post(URL, body, format="json")["Location"]
    LoadBalancer.objects.update(provisioning_status="ACTIVE", pending_since=None)
    return url


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": "renamed"}, "name"),
        ({"listener_port": 81}, "listener_port"),
        ({"provisioning_status": "DELETED"}, "provisioning_status"),
        ({"servers": []}, "servers"),
        ({"algorithm": "RANDOM"}, "algorithm"),
        ({"nickname": "x"}, "nickname"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_patches_get_400_and_change_nothing(alice_api, active_url, patch, field):
    before = alice_api.get(active_url).json()

    assert_error(alice_api.patch(active_url, patch, format="json"), 400, "ValidationError", field)

    assert alice_api.get(active_url).json() == before


def test_a_stale_version_gets_409(alice_api, active_url):
    version = alice_api.get(active_url).json()["version"]

    data = assert_error(
        alice_api.patch(active_url, {"description": "x", "version": version - 1}, format="json"), 409, "StaleVersion"
    )
    assert data["details"] == {"version": version}


def test_no_credentials_get_401(client, active_url):
    assert_error(client.get(URL), 401, "NotAuthenticated")
    assert_error(client.get(active_url), 401, "NotAuthenticated")
    assert_error(client.post(URL, {}, content_type="application/json"), 401, "NotAuthenticated")


def test_a_wrong_token_gets_401(db, client):
    response = client.get(URL, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(response, 401, "AuthenticationFailed")
    assert response["WWW-Authenticate"] == "Token"


def test_someone_elses_load_balancer_gets_404_for_every_method(bob_api, active_url):
    for response in (
        bob_api.get(active_url),
        bob_api.patch(active_url, {"description": "x"}, format="json"),
        bob_api.delete(active_url),
    ):
        assert_error(response, 404, "LoadBalancerNotFound")
    assert LoadBalancer.objects.get().provisioning_status == "ACTIVE"


@pytest.mark.parametrize("lb_id", [str(uuid.uuid4()), "not-a-uuid", "1"])
def test_unknown_ids_get_404(alice_api, lb_id):
    assert_error(alice_api.get(f"{URL}{lb_id}/"), 404, "LoadBalancerNotFound")


def test_unknown_api_paths_get_404_in_the_error_shape(alice_api):
    assert_error(alice_api.get("/api/v1/no-such-thing/"), 404, "NotFound")


def test_put_is_not_offered(alice_api, active_url):
    assert_error(alice_api.put(active_url, {}, format="json"), 405, "MethodNotAllowed")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("sort_by=secret", "sort_by"),
        ("sort_direction=sideways", "sort_direction"),
        ("provisioning_status=RUNNING", "provisioning_status"),
        ("operating_status=FINE", "operating_status"),
    ],
)
def test_bad_list_queries_get_400(alice_api, query, field):
    assert_error(alice_api.get(f"{URL}?{query}"), 400, "ValidationError", field)


def test_throttled_clients_get_429(monkeypatch, alice_api):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/minute", "user": "2/minute"})
    cache.clear()

    assert [alice_api.get(URL).status_code for _ in range(2)] == [200, 200]
    response = alice_api.get(URL)

    assert_error(response, 429, "Throttled")
    assert int(response["Retry-After"]) > 0


def test_updating_a_load_balancer_in_error_gets_409_invalid_transition(alice_api, active_url):
    LoadBalancer.objects.update(provisioning_status="ERROR", error_reason="broken")

    data = assert_error(alice_api.patch(active_url, {"description": "x"}, format="json"), 409, "InvalidTransition")

    assert data["details"] == {"provisioning_status": "ERROR"}


def test_changing_a_load_balancer_whose_provider_is_no_longer_enabled_gets_409(alice_api, active_url):
    LoadBalancer.objects.update(provider="retired")
    before = alice_api.get(active_url).json()

    for response in (alice_api.patch(active_url, {"description": "x"}, format="json"), alice_api.delete(active_url)):
        data = assert_error(response, 409, "ProviderDisabled")
        assert "'retired', which this portal no longer has enabled" in data["message"]
        assert data["details"] == {"provider": "retired"}

    assert alice_api.get(active_url).json() == before


def test_a_database_outage_gets_503_not_500(alice_api, monkeypatch):
    from django.db import OperationalError

    from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository

    def unavailable(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(DjangoLoadBalancerRepository, "count_live", unavailable)

    response = alice_api.post(URL, {"name": "shop", "servers": [ServerFactory().pk]}, format="json")

    assert_error(response, 503, "DependencyUnavailable")


@pytest.mark.parametrize("offset", [str(2**63), str(2**53 + 1), "1e3"])
def test_offsets_beyond_any_table_get_400(alice_api, offset):
    assert_error(alice_api.get(f"{URL}?offset={offset}"), 400, "ValidationError", "offset")


def test_too_many_query_parameters_get_400_in_the_error_shape(alice_api):
    query = "&".join(f"f{i}=x" for i in range(1200))
    assert_error(alice_api.get(f"{URL}?{query}"), 400, "ValidationError", "non_field_errors")


def test_a_host_the_portal_does_not_serve_gets_400_in_the_error_shape(alice_api):
    assert_error(alice_api.get(URL, HTTP_HOST="evil.example"), 400, "BadRequest")


def test_an_integrity_error_is_a_bug_not_an_outage(alice_api, monkeypatch):
    from django.db import IntegrityError

    from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository

    def broken(*args, **kwargs):
        raise IntegrityError("a constraint the portal forgot to check")

    monkeypatch.setattr(DjangoLoadBalancerRepository, "count_live", broken)
    alice_api.raise_request_exception = False

    response = alice_api.post(URL, {"name": "shop", "servers": [ServerFactory().pk]}, format="json")

    assert response.status_code == 500
