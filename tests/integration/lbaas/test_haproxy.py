"""What the HAProxy adapter promises beyond the contract."""

from __future__ import annotations

import threading
import urllib.request
from uuid import uuid4

import pytest

from loadbalancers.adapters.lbaas.haproxy import HAProxyLBaaS
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec
from loadbalancers.domain.errors import ProviderRejected
from loadbalancers.domain.model import OperatingStatus
from tests.conftest import wait_until
from tests.integration.lbaas.haproxy_fixtures import Backend, free_port


def spec(*members: MemberSpec, port: int, protocol: str = "HTTP", algorithm: str = "ROUND_ROBIN") -> LoadBalancerSpec:
    return LoadBalancerSpec("lb", protocol, port, algorithm, tuple(members))


def fetch(vip: str, port: int, headers: dict[str, str] | None = None) -> str:
    request = urllib.request.Request(f"http://{vip}:{port}/", headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


@pytest.mark.parametrize(
    ("protocol", "algorithm", "expected"),
    [
        ("HTTP", "ROUND_ROBIN", ["mode http", "balance roundrobin", "option httpchk GET /"]),
        ("HTTP", "LEAST_CONNECTIONS", ["mode http", "balance leastconn"]),
        ("TCP", "SOURCE_IP", ["mode tcp", "balance source"]),
    ],
)
def test_the_configuration_maps_protocol_algorithm_and_health_checks(haproxy_client, protocol, algorithm, expected):
    member = MemberSpec("127.0.0.1", free_port())
    port = free_port()
    created = haproxy_client.create(spec(member, port=port, protocol=protocol, algorithm=algorithm), client_token="t")

    installed = haproxy_client.config_path.read_text()

    for line in [*expected, f"bind {created.vip_address}:{port}", f"server m0 127.0.0.1:{member.port}"]:
        assert line in installed
    assert "default-server check inter 300ms" in installed
    if protocol == "TCP":
        assert "httpchk" not in installed


def test_a_configuration_haproxy_refuses_is_never_applied(haproxy_client):
    web = Backend("web")
    port = free_port()
    good = haproxy_client.create(spec(MemberSpec("127.0.0.1", web.port), port=port), client_token="good")
    before = haproxy_client.config_path.read_text()

    with pytest.raises(ProviderRejected, match="haproxy refused the configuration"):
        haproxy_client.create(spec(MemberSpec("127.0.0.1", 70000), port=free_port()), client_token="bad")

    assert [lb.ref for lb in haproxy_client.get_list()] == [good.ref]
    assert haproxy_client.config_path.read_text() == before
    assert fetch(good.vip_address, port) == "web"
    web.stop()


def test_operating_status_follows_the_health_of_the_members(haproxy_client):
    one, two = Backend("one"), Backend("two")
    ref = haproxy_client.create(
        spec(MemberSpec("127.0.0.1", one.port), MemberSpec("127.0.0.1", two.port), port=free_port()),
        client_token=str(uuid4()),
    ).ref

    def status() -> OperatingStatus:
        return haproxy_client.get(ref).operating_status

    wait_until(lambda: status() is OperatingStatus.ONLINE)
    one.stop()
    wait_until(lambda: status() is OperatingStatus.DEGRADED)
    members = {m.port: m.operating_status for m in haproxy_client.get(ref).members}
    assert members == {one.port: OperatingStatus.ERROR, two.port: OperatingStatus.ONLINE}
    two.stop()
    wait_until(lambda: status() is OperatingStatus.OFFLINE)


def test_a_reload_drops_no_established_connection(haproxy_client):
    slow, other = Backend("slow", delay=1.5), Backend("other")
    port = free_port()
    created = haproxy_client.create(spec(MemberSpec("127.0.0.1", slow.port), port=port), client_token="t")
    answers: list[str] = []
    request = threading.Thread(target=lambda: answers.append(fetch(created.vip_address, port, {"X-Slow": "1"})))
    request.start()
    assert slow.holding.wait(timeout=5)

    haproxy_client.update(created.ref, spec(MemberSpec("127.0.0.1", other.port), port=port))  # reloads meanwhile

    request.join(timeout=10)
    assert answers == ["slow"]  # the connection the old worker held was finished, not cut
    assert fetch(created.vip_address, port) == "other"
    slow.stop()
    other.stop()


def test_state_is_shared_by_every_process_of_the_portal(haproxy_client):
    ref = haproxy_client.create(spec(MemberSpec("127.0.0.1", free_port()), port=free_port()), client_token="t").ref
    elsewhere = HAProxyLBaaS(state_dir=str(haproxy_client.config_path.parent), vip_network="127.77.0.0/24")

    assert [lb.ref for lb in elsewhere.get_list()] == [ref]


@pytest.mark.parametrize(
    ("options", "fragment"), [({"vip_network": "nope"}, "not a network"), ({"check_interval": 0}, "positive")]
)
def test_bad_options_are_refused(tmp_path, options, fragment):
    with pytest.raises(ValueError, match=fragment):
        HAProxyLBaaS(state_dir=str(tmp_path), **options)
