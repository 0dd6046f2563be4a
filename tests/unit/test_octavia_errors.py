"""The octavia adapter's errors: every openstacksdk and keystoneauth exception becomes one
of the portal's (transient, permanent or gone) with Octavia's message in it; what the
adapter refuses without asking Octavia; an Octavia nobody answers for."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions

from loadbalancers.adapters.lbaas.octavia import OctaviaLBaaS, _translate
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound, ProviderUnavailable
from loadbalancers.domain.monitors import HealthMonitor, MonitorType

SUBNET = "8f2b4d3a-7b73-4b5e-9b55-3a4c2b1f0d11"
IMMUTABLE = "Load Balancer 7d0c5b0e-3c1a-4d5e-9f6a-2b8c4d1e0f3a is immutable and cannot be updated."
PORT_IN_USE = "Another Listener on this Load Balancer is already using protocol_port 81"


def octavia_answer(status: int, faultstring: str, reason: str = "") -> sdk_exceptions.HttpException:
    """The exception openstacksdk raises for an Octavia error answer: its JSON body
    (``faultcode``, ``faultstring``, ``debuginfo``) through ``raise_from_response``, as the
    proxy does."""
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response.url = "http://octavia.example:9876/v2/lbaas/listeners"
    response.headers["content-type"] = "application/json"
    response._content = json.dumps({"faultcode": "Client", "faultstring": faultstring, "debuginfo": None}).encode()
    response.request = requests.Request("POST", response.url).prepare()
    with pytest.raises(sdk_exceptions.HttpException) as raised:
        sdk_exceptions.raise_from_response(response)
    return raised.value


@pytest.mark.parametrize(
    ("status", "faultstring", "expected"),
    [
        (404, "Load Balancer 7d0c not found.", ProviderResourceNotFound),
        (409, IMMUTABLE, ProviderUnavailable),
        (409, "Invalid state PENDING_UPDATE of loadbalancer resource 7d0c", ProviderUnavailable),
        (409, PORT_IN_USE, ProviderRejected),
        (400, "Invalid input for field/attribute protocol_port. Value: '70000'.", ProviderRejected),
        (401, "The request you have made requires authentication.", ProviderRejected),
        (403, "Policy does not allow this request to be performed.", ProviderRejected),
        (403, "Quota has been met for resources: Load Balancer", ProviderRejected),
        (429, "Too many requests", ProviderUnavailable),
        (500, "An unknown exception occurred.", ProviderUnavailable),
        (503, "Provider 'amphora' is not available.", ProviderUnavailable),
    ],
)
def test_octavia_answers_become_the_portals_errors_with_octavias_message(status, faultstring, expected):
    translated = _translate("create_listener", octavia_answer(status, faultstring))

    assert type(translated) is expected
    assert faultstring in str(translated)
    assert "create_listener" in str(translated)
    assert str(status) in str(translated)


def test_only_the_immutable_conflict_is_a_wait_and_it_says_pending():
    pending = _translate("update_pool", octavia_answer(409, IMMUTABLE))
    in_use = _translate("create_listener", octavia_answer(409, PORT_IN_USE))

    assert pending.details["code"] == "pending"
    assert in_use.details["code"] == "409"


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        pytest.param(
            sdk_exceptions.HttpException(message="Load Balancer 7d0c not found.", http_status=404),
            ProviderResourceNotFound,
            id="sdk-404",
        ),
        pytest.param(
            sdk_exceptions.NotFoundException(message="Load Balancer 7d0c not found."),
            ProviderResourceNotFound,
            id="sdk-not-found",
        ),
        pytest.param(
            sdk_exceptions.HttpException(message=IMMUTABLE, http_status=409),
            ProviderUnavailable,
            id="sdk-409-immutable",
        ),
        pytest.param(
            sdk_exceptions.ConflictException(message=IMMUTABLE, http_status=409),
            ProviderUnavailable,
            id="sdk-conflict-immutable",
        ),
        pytest.param(
            sdk_exceptions.ConflictException(message=PORT_IN_USE, http_status=409),
            ProviderRejected,
            id="sdk-conflict-port-in-use",
        ),
        pytest.param(
            sdk_exceptions.BadRequestException(message="Invalid input for field protocol.", http_status=400),
            ProviderRejected,
            id="sdk-400",
        ),
        pytest.param(
            sdk_exceptions.HttpException(message="Authentication required", http_status=401),
            ProviderRejected,
            id="sdk-401",
        ),
        pytest.param(
            sdk_exceptions.ForbiddenException(message="Policy does not allow this request.", http_status=403),
            ProviderRejected,
            id="sdk-403",
        ),
        pytest.param(
            sdk_exceptions.HttpException(message="Too many requests", http_status=429),
            ProviderUnavailable,
            id="sdk-429",
        ),
        pytest.param(
            sdk_exceptions.HttpException(message="An unknown exception occurred.", http_status=500),
            ProviderUnavailable,
            id="sdk-500",
        ),
        pytest.param(
            sdk_exceptions.HttpException(message="Service Unavailable", http_status=503),
            ProviderUnavailable,
            id="sdk-503",
        ),
        pytest.param(
            sdk_exceptions.EndpointNotFound(message="No load-balancer endpoint in the catalog"),
            ProviderRejected,
            id="sdk-endpoint-not-found",
        ),
        pytest.param(
            ks_exceptions.ConnectFailure("Unable to establish connection to http://octavia: Connection refused"),
            ProviderUnavailable,
            id="ks-connect-failure",
        ),
        pytest.param(
            ks_exceptions.ConnectTimeout("Request to http://octavia timed out"),
            ProviderUnavailable,
            id="ks-connect-timeout",
        ),
        pytest.param(
            ks_exceptions.UnknownConnectionError("Connection aborted", None),
            ProviderUnavailable,
            id="ks-unknown-connection-error",
        ),
        pytest.param(
            ks_exceptions.NotFound(message="Could not find load balancer"), ProviderResourceNotFound, id="ks-404"
        ),
        pytest.param(
            ks_exceptions.Unauthorized(message="The request you have made requires authentication."),
            ProviderRejected,
            id="ks-401",
        ),
        pytest.param(
            ks_exceptions.Forbidden(message="You are not authorized to perform the requested action."),
            ProviderRejected,
            id="ks-403",
        ),
        pytest.param(ks_exceptions.ServiceUnavailable(message="Keystone is down"), ProviderUnavailable, id="ks-503"),
        pytest.param(ks_exceptions.InternalServerError(message="Keystone failed"), ProviderUnavailable, id="ks-500"),
        pytest.param(
            ks_exceptions.EndpointNotFound("Could not find requested endpoint in Service Catalog."),
            ProviderRejected,
            id="ks-endpoint-not-found",
        ),
    ],
)
def test_sdk_and_keystoneauth_exceptions_become_the_portals_errors(exception, expected):
    translated = _translate("get_load_balancer", exception)

    assert type(translated) is expected
    assert translated.details["operation"] == "get_load_balancer"
    assert " ".join(str(exception).split())[:100] in str(translated)


# -- what the adapter refuses without asking -----------------------------------------------


def spec(monitor: HealthMonitor | None = None, protocol: str = "HTTP") -> LoadBalancerSpec:
    return LoadBalancerSpec(
        name="web",
        listener_protocol=protocol,
        listener_port=80,
        algorithm="ROUND_ROBIN",
        members=(MemberSpec("10.0.0.1", 8080), MemberSpec("10.0.0.2", 8080)),
        health_monitor=monitor,
    )


@pytest.fixture
def offline() -> OctaviaLBaaS:
    """An adapter with a connection that has no proxy: any call to Octavia fails
    (AttributeError), so an answer proves none was made."""
    return OctaviaLBaaS(vip_subnet_id=SUBNET, project_id="p1", connection=object())


@pytest.mark.parametrize("codes", ["200", "200,202", "200-299"])
def test_expected_codes_octavia_takes_are_not_refused(offline, codes):
    assert offline.refusals(spec(HealthMonitor(MonitorType.HTTP, expected_codes=codes))) == []


@pytest.mark.parametrize("codes", ["200-299,404", "200,300-399", "200-204,300-304"])
def test_expected_codes_that_mix_a_list_and_a_range_are_refused(offline, codes):
    [refusal] = offline.refusals(spec(HealthMonitor(MonitorType.HTTP, expected_codes=codes)))

    assert f"expected codes {codes!r}" in refusal
    with pytest.raises(ProviderRejected, match="not several ranges nor a list with a range"):
        offline.create(spec(HealthMonitor(MonitorType.HTTP, expected_codes=codes)), client_token="t1")


def test_a_tcp_monitor_has_no_expected_codes_to_refuse(offline):
    # The domain keeps "200" for a TCP monitor's codes; even odd ones are no HTTP check's.
    assert offline.refusals(spec(HealthMonitor(MonitorType.TCP, expected_codes="200-299,404"))) == []


def test_a_monitor_whose_timeout_exceeds_its_interval_is_refused(offline):
    # The domain refuses it first (timeout must be less than interval); built directly here.
    [refusal] = offline.refusals(spec(HealthMonitor(MonitorType.TCP, interval=3, timeout=5)))

    assert "timeout (5 s) may not exceed its interval (3 s)" in refusal
    assert offline.refusals(spec(HealthMonitor(MonitorType.TCP, interval=5, timeout=5))) == []
    with pytest.raises(ProviderRejected, match="may not exceed its interval"):
        offline.plan(None, spec(HealthMonitor(MonitorType.TCP, interval=3, timeout=5)))


@pytest.mark.parametrize("protocol", ["HTTPS", "UDP", "TERMINATED_HTTPS", "http"])
def test_a_listener_protocol_other_than_http_and_tcp_is_refused(offline, protocol):
    [refusal] = offline.refusals(spec(protocol=protocol))

    assert f"listener protocol {protocol!r}" in refusal
    with pytest.raises(ProviderRejected, match="listener protocol"):
        offline.update(str(uuid.uuid4()), spec(protocol=protocol))


@pytest.mark.parametrize("protocol", ["HTTP", "TCP"])
def test_http_and_tcp_listeners_are_not_refused(offline, protocol):
    assert offline.refusals(spec(protocol=protocol)) == []


def test_every_refusal_is_named_at_once(offline):
    refusals = offline.refusals(
        spec(HealthMonitor(MonitorType.HTTP, interval=2, timeout=4, expected_codes="200-204,404"), "UDP")
    )

    assert len(refusals) == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one of vip_subnet_id and vip_network_id"),
        ({"vip_subnet_id": "", "vip_network_id": ""}, "exactly one of vip_subnet_id and vip_network_id"),
        ({"vip_subnet_id": SUBNET, "vip_network_id": SUBNET}, "exactly one of vip_subnet_id and vip_network_id"),
        ({"vip_subnet_id": SUBNET, "project_id": "a b"}, "project_id must be 1-64 letters"),
        ({"vip_subnet_id": SUBNET, "project_id": ""}, "project_id must be 1-64 letters"),
        ({"vip_subnet_id": SUBNET, "project_id": "p" * 65}, "project_id must be 1-64 letters"),
        ({"vip_subnet_id": SUBNET, "timeout": 0}, "must be positive"),
    ],
)
def test_the_adapter_refuses_bad_settings_with_a_value_error(options, message):
    with pytest.raises(ValueError, match=message):
        OctaviaLBaaS(connection=object(), **options)


# -- an Octavia nobody answers for ---------------------------------------------------------


@pytest.fixture
def no_openstack_environment(monkeypatch, tmp_path) -> None:
    """Nothing of this machine's OpenStack set-up is read: no OS_* variable, no clouds.yaml."""
    for name in ("OS_AUTH_URL", "OS_CLOUD", "OS_AUTH_TYPE", "OS_PROJECT_ID", "OS_REGION_NAME"):
        monkeypatch.delenv(name, raising=False)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (it was just free; connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def unreachable(port: int, timeout: float) -> OctaviaLBaaS:
    return OctaviaLBaaS(
        endpoint=f"http://127.0.0.1:{port}",
        project_id="p1",
        vip_subnet_id=SUBNET,
        installation="unit-portal",
        timeout=timeout,
    )


@pytest.mark.usefixtures("no_openstack_environment")
@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.get(str(uuid.uuid4())),
        lambda client: client.create(spec(), client_token="t1"),
        lambda client: client.get_list(),
        lambda client: client.delete(str(uuid.uuid4())),
        lambda client: client.update(str(uuid.uuid4()), spec()),
    ],
    ids=["get", "create", "get_list", "delete", "update"],
)
def test_an_octavia_that_refuses_connections_is_unavailable(closed_port, call):
    # A fresh adapter: its first call is also openstacksdk's version discovery of the endpoint.
    client = unreachable(closed_port, timeout=2)

    with pytest.raises(ProviderUnavailable, match=f"127.0.0.1:{closed_port}"):
        call(client)


@pytest.mark.usefixtures("no_openstack_environment")
def test_an_octavia_that_never_answers_is_unavailable_after_the_timeout(silent_port):
    client = unreachable(silent_port, timeout=0.5)

    with pytest.raises(ProviderUnavailable, match=f"127.0.0.1:{silent_port}"):
        client.get(str(uuid.uuid4()))


# -- a load balancer being deleted ------------------------------------------------------------


class _Answers:
    """Octavia's answers for one load balancer, without an Octavia: the moment a cascade
    delete is under way, which the real one shows only now and then (its answer then
    comes without the tags).  Records the calls made of it."""

    def __init__(self, status: str, tags: list[str]) -> None:
        self.calls: list[str] = []
        self.lb = SimpleNamespace(
            id=str(uuid.uuid4()),
            name="shop",
            provisioning_status=status,
            operating_status="OFFLINE",
            vip_address="198.51.100.1",
            tags=tags,
            listeners=[],
            pools=[],
            project_id="p1",
            created_at="2026-11-26T15:00:00",
        )

    @property
    def load_balancer(self) -> _Answers:
        return self

    def get_load_balancer(self, ref: str) -> SimpleNamespace:
        self.calls.append("get_load_balancer")
        return self.lb

    def delete_load_balancer(self, ref: str, **options: object) -> None:
        self.calls.append("delete_load_balancer")


def test_a_load_balancer_being_deleted_reads_as_such_even_without_its_tags():
    answers = _Answers("PENDING_DELETE", tags=[])
    client = OctaviaLBaaS(vip_subnet_id=SUBNET, connection=answers)

    assert client.get(answers.lb.id).provisioning_status.value == "PENDING_DELETE"
    client.delete(answers.lb.id)  # already being deleted: nothing more to ask
    assert "delete_load_balancer" not in answers.calls
    with pytest.raises(ProviderRejected, match="PENDING_DELETE"):
        client.update(answers.lb.id, spec())


def test_any_other_load_balancer_without_the_portals_tags_is_refused():
    answers = _Answers("ACTIVE", tags=["someone-elses"])
    client = OctaviaLBaaS(vip_subnet_id=SUBNET, connection=answers)

    for call in (client.get, client.delete):
        with pytest.raises(ProviderRejected, match="not managed by a portal"):
            call(answers.lb.id)
    assert "delete_load_balancer" not in answers.calls


# -- an answer that is not Octavia's ----------------------------------------------------------


class _NotOctavia(http.server.BaseHTTPRequestHandler):
    """Octavia's version document at /, then a proxy's HTML page for everything else."""

    def do_GET(self) -> None:
        if self.path == "/":
            host, port = self.server.server_address[:2]
            body = json.dumps(
                {
                    "versions": [
                        {
                            "id": "v2.0",
                            "status": "CURRENT",
                            "links": [{"href": f"http://{host}:{port}/v2", "rel": "self"}],
                        }
                    ]
                }
            ).encode()
            kind = "application/json"
        else:
            body, kind = b"<html><body>Gateway says hello</body></html>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_octavia() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOctavia)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.usefixtures("no_openstack_environment")
@pytest.mark.parametrize(
    "call",
    [lambda client: client.get(str(uuid.uuid4())), lambda client: client.get_list()],
    ids=["get", "get_list"],
)
def test_an_answer_that_is_not_octavias_is_unavailable_not_a_crash(not_octavia, call):
    client = unreachable(not_octavia, timeout=5)

    with pytest.raises(ProviderUnavailable, match="octavia"):
        call(client)
