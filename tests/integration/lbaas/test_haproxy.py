"""What the HAProxy adapter promises beyond the contract."""

from __future__ import annotations

import itertools
import json
import re
import socket
import sqlite3
import threading
import urllib.request
from collections import Counter
from uuid import uuid4

import pytest

from loadbalancers.adapters.lbaas.haproxy import (
    MAINT,
    NEW_REF,
    RELOAD,
    RUNTIME,
    START,
    WRITE,
    HAProxyLBaaS,
    codes_text,
    legacy_monitor,
    status_regex,
)
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec, ProviderPlan, spec_changes
from loadbalancers.domain.errors import ProviderRejected
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.model import OperatingStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType
from tests.conftest import wait_until
from tests.integration.lbaas.haproxy_fixtures import Backend, free_port, reloads, runtime_command

# Quick checks for the tests: every 2 s, one check in a row to go up or down.
QUICK_HTTP = HealthMonitor(
    MonitorType.HTTP, interval=2, timeout=1, retries_up=1, retries_down=1, http_path="/health", expected_codes="200"
)
QUICK_TCP = HealthMonitor(MonitorType.TCP, interval=2, timeout=1, retries_up=1, retries_down=1)
# The machine may be busy: waits are generous, they end as soon as the state is reached.
PATIENCE = 60


def spec(
    *members: MemberSpec,
    port: int,
    protocol: str = "HTTP",
    algorithm: str = "ROUND_ROBIN",
    monitor: HealthMonitor | None = None,
    name: str = "lb",
    tags: tuple[str, ...] = (),
) -> LoadBalancerSpec:
    return LoadBalancerSpec(name, protocol, port, algorithm, tuple(members), health_monitor=monitor, tags=tags)


def member(backend: Backend | int, weight: int = 1, *, drain: bool = False) -> MemberSpec:
    port = backend if isinstance(backend, int) else backend.port
    return MemberSpec("127.0.0.1", port, weight, AdminState.DRAIN if drain else AdminState.ENABLED)


def fetch(vip: str, port: int, headers: dict[str, str] | None = None, path: str = "/") -> str:
    request = urllib.request.Request(f"http://{vip}:{port}{path}", headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def answers(vip: str, port: int, count: int) -> Counter[str]:
    """Which backend answered each of ``count`` requests, one connection each."""
    return Counter(fetch(vip, port) for _ in range(count))


def backend_lines(client: HAProxyLBaaS, ref: str) -> list[str]:
    """The installed configuration's backend section of one load balancer."""
    lines = client.config_path.read_text().splitlines()
    start = lines.index(f"backend be-{ref}")
    section = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        section.append(line.strip())
    return section


def health(client: HAProxyLBaaS, ref: str) -> dict[int, tuple[OperatingStatus, str | None]]:
    return {m.port: (m.operating_status, m.reason) for m in client.get(ref).members}


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "algorithm", "expected"),
    [
        ("HTTP", "ROUND_ROBIN", ["mode http", "balance roundrobin"]),
        ("HTTP", "LEAST_CONNECTIONS", ["mode http", "balance leastconn"]),
        ("TCP", "SOURCE_IP", ["mode tcp", "balance source"]),
    ],
)
def test_the_configuration_maps_protocol_and_algorithm(haproxy_client, protocol, algorithm, expected):
    one = member(free_port())
    port = free_port()
    created = haproxy_client.create(spec(one, port=port, protocol=protocol, algorithm=algorithm), client_token="t")

    installed = haproxy_client.config_path.read_text()

    for line in [*expected, f"bind {created.vip_address}:{port}", f"server m0 127.0.0.1:{one.port} weight 1"]:
        assert line in installed


@pytest.mark.parametrize("protocol", ["HTTP", "TCP"])
def test_an_http_monitor_is_an_http_check_expecting_exactly_its_codes(haproxy_client, protocol):
    monitor = HealthMonitor(
        MonitorType.HTTP,
        interval=7,
        timeout=3,
        retries_up=2,
        retries_down=4,
        http_path="/health?full=1",
        expected_codes="200,202-204",
    )
    one, two = member(free_port()), member(free_port())
    ref = haproxy_client.create(
        spec(one, two, port=free_port(), protocol=protocol, monitor=monitor), client_token="t"
    ).ref

    assert backend_lines(haproxy_client, ref) == [
        f"mode {protocol.lower()}",
        "balance roundrobin",
        "option httpchk GET /health?full=1",
        "http-check expect rstatus ^20[02-4]$",
        "timeout check 3s",
        "default-server check inter 7s rise 2 fall 4",
        f"server m0 127.0.0.1:{one.port} weight 1",
        f"server m1 127.0.0.1:{two.port} weight 1",
    ]
    assert haproxy_client.get(ref).health_monitor == monitor


def test_a_tcp_monitor_is_a_connection_check(haproxy_client):
    monitor = HealthMonitor(MonitorType.TCP, interval=5, timeout=2, retries_up=3, retries_down=2)
    one = member(free_port())
    ref = haproxy_client.create(spec(one, port=free_port(), monitor=monitor), client_token="t").ref

    assert backend_lines(haproxy_client, ref) == [
        "mode http",
        "balance roundrobin",
        "timeout check 2s",
        "default-server check inter 5s rise 3 fall 2",
        f"server m0 127.0.0.1:{one.port} weight 1",
    ]
    assert haproxy_client.get(ref).health_monitor == monitor


def test_without_a_monitor_no_server_is_checked(haproxy_client):
    ref = haproxy_client.create(spec(member(free_port()), port=free_port()), client_token="t").ref

    lines = backend_lines(haproxy_client, ref)

    assert not [line for line in lines if "check" in line.split() or "httpchk" in line or "timeout check" in line]
    assert haproxy_client.get(ref).health_monitor is None


def test_weights_are_rendered_and_a_drained_member_weighs_nothing(haproxy_client):
    heavy, light, drained = member(free_port(), 5), member(free_port(), 1), member(free_port(), 7, drain=True)
    ref = haproxy_client.create(spec(heavy, light, drained, port=free_port()), client_token="t").ref

    servers = [line for line in backend_lines(haproxy_client, ref) if line.startswith("server ")]

    assert servers == [
        f"server m0 127.0.0.1:{heavy.port} weight 5",
        f"server m1 127.0.0.1:{light.port} weight 1",
        f"server m2 127.0.0.1:{drained.port} weight 0",
    ]


@pytest.mark.parametrize(
    ("codes", "compact"),
    [
        ("200", "^200$"),
        ("200,202", "^20[02]$"),
        ("200-399", "^[23][0-9][0-9]$"),
        ("200-299,404", "^(2[0-9][0-9]|404)$"),
        ("100-599", "^[1-5][0-9][0-9]$"),
        ("200-204,301,302,500-599", None),
        ("101,199,201,215,298,303-307,410-429,599", None),
    ],
)
def test_the_expected_status_regex_matches_exactly_the_codes(codes, compact):
    expected = set(HealthMonitor(MonitorType.HTTP, expected_codes=codes).codes())

    regex = status_regex(sorted(expected))

    assert regex.startswith("^")
    assert regex.endswith("$")
    assert {code for code in range(100, 600) if re.fullmatch(regex, str(code))} == expected
    assert not any(re.fullmatch(regex, other) for other in ("", "20", "2000", "0200", "200 ", "abc"))
    if compact:
        assert regex == compact


# -- health -----------------------------------------------------------------------------


def test_an_http_monitor_marks_a_member_whose_path_fails_down(haproxy_client):
    sick, well = Backend("sick", failing={"/health"}), Backend("well")
    port = free_port()
    created = haproxy_client.create(spec(member(sick), member(well), port=port, monitor=QUICK_HTTP), client_token="t")
    ref, vip = created.ref, created.vip_address
    assert fetch("127.0.0.1", sick.port) == "sick"  # its / answers 200: only the monitor's path fails

    wait_until(lambda: health(haproxy_client, ref)[sick.port][0] is OperatingStatus.ERROR, timeout=PATIENCE)
    # Before its first check HAProxy takes a server for up ("INI: Initializing").
    wait_until(lambda: (health(haproxy_client, ref)[well.port][1] or "").startswith("L7OK"), timeout=PATIENCE)

    reason = health(haproxy_client, ref)[sick.port][1] or ""
    assert "L7STS/500" in reason, reason
    assert health(haproxy_client, ref)[well.port][0] is OperatingStatus.ONLINE
    assert haproxy_client.get(ref).operating_status is OperatingStatus.DEGRADED
    assert answers(vip, port, 10) == Counter(well=10)

    sick.failing.clear()  # well again: back in rotation
    wait_until(lambda: health(haproxy_client, ref)[sick.port][0] is OperatingStatus.ONLINE, timeout=PATIENCE)
    assert haproxy_client.get(ref).operating_status is OperatingStatus.ONLINE
    assert answers(vip, port, 10) == Counter(sick=5, well=5)
    sick.stop()
    well.stop()


def test_operating_status_follows_the_health_of_the_members(haproxy_client):
    one, two = Backend("one"), Backend("two")
    ref = haproxy_client.create(
        spec(member(one), member(two), port=free_port(), monitor=QUICK_TCP), client_token=str(uuid4())
    ).ref

    def status() -> OperatingStatus:
        return haproxy_client.get(ref).operating_status

    wait_until(lambda: status() is OperatingStatus.ONLINE, timeout=PATIENCE)
    one.stop()
    wait_until(lambda: status() is OperatingStatus.DEGRADED, timeout=PATIENCE)
    members = health(haproxy_client, ref)
    assert members[one.port][0] is OperatingStatus.ERROR
    assert "L4CON" in (members[one.port][1] or "")
    assert members[two.port][0] is OperatingStatus.ONLINE
    two.stop()
    wait_until(lambda: status() is OperatingStatus.OFFLINE, timeout=PATIENCE)


def test_without_a_monitor_members_read_no_monitor_and_take_traffic(haproxy_client):
    one, two = Backend("one"), Backend("two")
    port = free_port()
    created = haproxy_client.create(spec(member(one), member(two), port=port), client_token="t")

    state = haproxy_client.get(created.ref)

    assert {(m.port, m.operating_status, m.reason) for m in state.members} == {
        (one.port, OperatingStatus.NO_MONITOR, None),
        (two.port, OperatingStatus.NO_MONITOR, None),
    }
    assert state.operating_status is OperatingStatus.NO_MONITOR
    assert answers(created.vip_address, port, 10) == Counter(one=5, two=5)
    one.stop()
    two.stop()


# -- weights and drain ------------------------------------------------------------------


def test_a_drained_member_gets_no_new_requests(haproxy_client):
    one, two, drained = Backend("one"), Backend("two"), Backend("drained")
    port = free_port()
    created = haproxy_client.create(
        spec(member(one), member(two), member(drained, 3, drain=True), port=port), client_token="t"
    )

    assert answers(created.vip_address, port, 20) == Counter(one=10, two=10)
    assert health(haproxy_client, created.ref)[drained.port] == (OperatingStatus.DRAINING, None)
    assert haproxy_client.get(created.ref).operating_status is OperatingStatus.NO_MONITOR  # the drained one left out
    for backend in (one, two, drained):
        backend.stop()


def test_weights_share_the_requests(haproxy_client):
    heavy, light = Backend("heavy"), Backend("light")
    port = free_port()
    created = haproxy_client.create(spec(member(heavy, 3), member(light, 1), port=port), client_token="t")

    got = answers(created.vip_address, port, 40)

    # HAProxy's weighted round robin is deterministic: 30 and 10 (2 either way allowed).
    assert got["heavy"] + got["light"] == 40, got
    assert abs(got["heavy"] - 30) <= 2, got
    heavy.stop()
    light.stop()


def test_weight_and_drain_changes_apply_without_a_reload(haproxy_client):
    one, two = Backend("one"), Backend("two")
    port = free_port()
    created = haproxy_client.create(spec(member(one), member(two), port=port), client_token="t")
    ref, vip = created.ref, created.vip_address
    assert answers(vip, port, 10) == Counter(one=5, two=5)
    before = reloads(haproxy_client)

    haproxy_client.update(ref, spec(member(one, 3), member(two, 1), port=port))

    assert reloads(haproxy_client) == before
    assert f"server m0 127.0.0.1:{one.port} weight 3" in backend_lines(haproxy_client, ref)  # installed for later
    got = answers(vip, port, 40)
    assert got["one"] + got["two"] == 40, got
    assert abs(got["one"] - 30) <= 2, got

    haproxy_client.update(ref, spec(member(one, 3, drain=True), member(two, 1), port=port))

    assert reloads(haproxy_client) == before
    assert f"server m0 127.0.0.1:{one.port} weight 0" in backend_lines(haproxy_client, ref)
    assert answers(vip, port, 20) == Counter(two=20)
    assert health(haproxy_client, ref)[one.port][0] is OperatingStatus.DRAINING

    three = Backend("three")
    haproxy_client.update(ref, spec(member(one, 3, drain=True), member(two, 1), member(three), port=port))

    assert reloads(haproxy_client)[0] == before[0] + 1  # a member added: that takes a reload
    wait_until(lambda: set(answers(vip, port, 4)) == {"two", "three"}, timeout=PATIENCE)
    for backend in (one, two, three):
        backend.stop()


def test_a_weight_haproxy_will_not_change_at_runtime_is_applied_by_a_reload(haproxy_client):
    """``balance source`` is a static map: HAProxy refuses to give a server that started
    at weight 0 any other weight at runtime."""
    one, two = Backend("one"), Backend("two")
    port = free_port()
    created = haproxy_client.create(
        spec(member(one, drain=True), member(two), port=port, algorithm="SOURCE_IP"), client_token="t"
    )
    ref, vip = created.ref, created.vip_address
    assert answers(vip, port, 5) == Counter(two=5)
    before = reloads(haproxy_client)
    swapped = spec(member(one), member(two, drain=True), port=port, algorithm="SOURCE_IP")
    assert steps(haproxy_client.plan(ref, swapped)) == [WRITE, RELOAD]

    haproxy_client.update(ref, swapped)

    assert reloads(haproxy_client)[0] == before[0] + 1
    wait_until(lambda: answers(vip, port, 5) == Counter(one=5), timeout=PATIENCE)
    one.stop()
    two.stop()


def test_an_update_that_changes_nothing_haproxy_runs_does_not_reload(haproxy_client):
    same = spec(member(free_port(), 2), member(free_port(), drain=True), port=free_port(), monitor=QUICK_TCP)
    ref = haproxy_client.create(same, client_token="t").ref
    installed = haproxy_client.config_path.read_text()
    before = reloads(haproxy_client)

    haproxy_client.update(ref, same)
    haproxy_client.update(ref, spec(*same.members, port=same.listener_port, monitor=QUICK_TCP, name="new", tags=("a",)))

    assert reloads(haproxy_client) == before
    assert haproxy_client.config_path.read_text() == installed


def test_an_haproxy_that_is_not_running_reads_offline_and_an_unchanged_update_starts_it(haproxy_client):
    web = Backend("web")
    port = free_port()
    same = spec(member(web), port=port)
    created = haproxy_client.create(same, client_token="t")
    haproxy_client.stop()
    wait_until(lambda: not _answers(haproxy_client.config_path.parent / "master.sock"), timeout=PATIENCE)

    stopped = haproxy_client.get(created.ref)
    assert stopped.operating_status is OperatingStatus.OFFLINE
    assert health(haproxy_client, created.ref) == {
        web.port: (OperatingStatus.OFFLINE, "haproxy does not report this member")
    }

    haproxy_client.update(created.ref, same)

    assert fetch(created.vip_address, port) == "web"
    assert haproxy_client.get(created.ref).operating_status is OperatingStatus.NO_MONITOR
    web.stop()


def _answers(path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as cli:
            cli.settimeout(1)
            cli.connect(str(path))
    except OSError:
        return False
    return True


# -- changes ----------------------------------------------------------------------------


def test_a_configuration_haproxy_refuses_is_never_applied(haproxy_client):
    web = Backend("web")
    port = free_port()
    good = haproxy_client.create(spec(member(web), port=port), client_token="good")
    before = haproxy_client.config_path.read_text()

    with pytest.raises(ProviderRejected, match="haproxy refused the configuration"):
        haproxy_client.create(spec(member(70000), port=free_port()), client_token="bad")

    assert [lb.ref for lb in haproxy_client.get_list()] == [good.ref]
    assert haproxy_client.config_path.read_text() == before
    assert fetch(good.vip_address, port) == "web"
    web.stop()


def test_a_reload_drops_no_established_connection(haproxy_client):
    slow, other = Backend("slow", delay=1.5), Backend("other")
    port = free_port()
    created = haproxy_client.create(spec(member(slow), port=port), client_token="t")
    got: list[str] = []
    request = threading.Thread(target=lambda: got.append(fetch(created.vip_address, port, {"X-Slow": "1"})))
    request.start()
    assert slow.holding.wait(timeout=5)

    haproxy_client.update(created.ref, spec(member(other), port=port))  # reloads meanwhile

    request.join(timeout=10)
    assert got == ["slow"]  # the connection the old worker held was finished, not cut
    assert fetch(created.vip_address, port) == "other"
    slow.stop()
    other.stop()


def test_state_is_shared_by_every_process_of_the_portal(haproxy_client):
    monitor = HealthMonitor(MonitorType.HTTP, http_path="/ping", expected_codes="200-299,304")
    created = haproxy_client.create(
        spec(member(free_port(), 4), member(free_port(), drain=True), port=free_port(), monitor=monitor, tags=("a",)),
        client_token="t",
    )
    elsewhere = HAProxyLBaaS(state_dir=str(haproxy_client.config_path.parent), vip_network="127.77.0.0/24")

    (seen,) = elsewhere.get_list()
    assert seen.ref == created.ref
    assert seen.health_monitor == monitor
    assert [m.operating_status for m in seen.members][1] is OperatingStatus.DRAINING


def test_a_bad_vip_network_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a network"):
        HAProxyLBaaS(state_dir=str(tmp_path), vip_network="nope")


def test_a_load_balancer_stored_before_monitors_existed_keeps_the_checks_it_had(haproxy_client):
    port = free_port()
    created = haproxy_client.create(spec(member(free_port()), port=port), client_token="old")
    state = sqlite3.connect(haproxy_client.config_path.parent / "state.sqlite3")
    with state:  # as the adapter stored it before: no health_monitor key at all (not even null), no tags
        stored = json.loads(state.execute("SELECT spec FROM load_balancers").fetchone()[0])
        del stored["health_monitor"], stored["tags"]
        for m in stored["members"]:
            del m["weight"], m["admin_state"]
        state.execute("UPDATE load_balancers SET spec = ?", (json.dumps(stored),))
    state.close()

    assert haproxy_client.get(created.ref).health_monitor == legacy_monitor("HTTP")
    # Another load balancer's change renders the whole configuration: the old one keeps its checks.
    haproxy_client.create(spec(member(free_port()), port=free_port()), client_token="new")
    installed = haproxy_client.config_path.read_text()
    old_backend = installed.split(f"\nbackend be-{created.ref}\n")[1].split("\nfrontend ")[0]
    assert "option httpchk GET /" in old_backend
    assert "default-server check inter 2s rise 1 fall 2" in old_backend


# -- what runs, plans and repairs ---------------------------------------------------------


def steps(plan: ProviderPlan) -> list[str]:
    return [step.name for step in plan.operations]


def patched(text: str, diff: str) -> str:
    """``text`` with a unified diff applied: each hunk's context and "-" lines must be
    there, its context and "+" lines take their place."""
    old, new, position = text.splitlines(keepends=True), [], 0
    lines = diff.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if hunk := re.match(r"@@ -(\d+)(?:,(\d+))? ", line):
            start = int(hunk[1]) if hunk[2] == "0" else int(hunk[1]) - 1  # an empty range names the line before
            new += old[position:start]
            position = start
            for body in itertools.takewhile(lambda body: not body.startswith("@@"), lines[i + 1 :]):
                if body[0] in " -":
                    assert old[position] == body[1:], (old[position], body)
                    position += 1
                if body[0] in " +":
                    new.append(body[1:])
    return "".join(new + old[position:])


def test_the_planned_configuration_is_the_one_an_update_installs(haproxy_client):
    one, two, three = member(free_port(), 3), member(free_port()), member(free_port(), drain=True)
    port = free_port()
    ref = haproxy_client.create(spec(one, two, port=port), client_token="t").ref
    installed = haproxy_client.config_path.read_text()
    changed = spec(two, three, port=port, algorithm="LEAST_CONNECTIONS", monitor=QUICK_HTTP)

    plan = haproxy_client.plan(ref, changed)

    assert steps(plan) == [WRITE, RELOAD]
    assert plan.operations[0].params == {"path": str(haproxy_client.config_path)}
    assert f"-    server m0 127.0.0.1:{one.port} weight 3\n" in plan.diff
    assert "+    balance leastconn\n" in plan.diff
    haproxy_client.update(ref, changed)
    assert haproxy_client.config_path.read_text() == patched(installed, plan.diff)
    assert haproxy_client.plan(ref, changed) == ProviderPlan()


def test_a_weight_change_is_planned_as_runtime_commands_and_installed_as_planned(haproxy_client):
    one, two = member(free_port()), member(free_port())
    port = free_port()
    ref = haproxy_client.create(spec(one, two, port=port), client_token="t").ref
    installed = haproxy_client.config_path.read_text()
    weighted = spec(member(one.port, 4), member(two.port, drain=True), port=port)
    before = reloads(haproxy_client)

    plan = haproxy_client.plan(ref, weighted)

    assert [(step.name, dict(step.params)) for step in plan.operations] == [
        (WRITE, {"path": str(haproxy_client.config_path)}),
        (RUNTIME, {"command": f"set server be-{ref}/m0 weight 4"}),
        (RUNTIME, {"command": f"set server be-{ref}/m1 weight 0"}),
    ]
    haproxy_client.update(ref, weighted)
    assert reloads(haproxy_client) == before
    assert haproxy_client.config_path.read_text() == patched(installed, plan.diff)
    running = haproxy_client.get(ref).running
    assert running is not None
    assert spec_changes(haproxy_client.as_running(weighted), running) == []


def test_a_plan_writes_nothing_and_reloads_nothing(haproxy_client):
    port = free_port()
    ref = haproxy_client.create(spec(member(free_port()), member(free_port()), port=port), client_token="t").ref
    folder = haproxy_client.config_path.parent
    files = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.glob("haproxy.cfg*")}
    before, answer = reloads(haproxy_client), haproxy_client.get(ref)

    changed = haproxy_client.plan(ref, spec(member(free_port()), port=port, monitor=QUICK_TCP))
    weights = haproxy_client.plan(ref, spec(member(answer.members[0].port, 9), *answer.running.members[1:], port=port))
    another = haproxy_client.plan(None, spec(member(free_port()), port=free_port()))

    assert (steps(changed), steps(weights)[1:], steps(another)) == ([WRITE, RELOAD], [RUNTIME], [WRITE, RELOAD])
    assert {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.glob("haproxy.cfg*")} == files
    assert reloads(haproxy_client) == before
    assert haproxy_client.get(ref) == answer
    assert [lb.ref for lb in haproxy_client.get_list()] == [ref]


def test_a_create_plans_the_new_sections_and_a_start(haproxy_client):
    one = member(free_port())
    port = free_port()
    first = spec(one, port=port)

    plan = haproxy_client.plan(None, first)  # nothing runs yet

    assert steps(plan) == [WRITE, START]
    assert plan.diff.startswith(f"--- /dev/null\n+++ {haproxy_client.config_path} (planned)\n")
    assert f"+frontend fe-{NEW_REF}\n" in plan.diff
    assert f"+    server m0 127.0.0.1:{one.port} weight 1\n" in plan.diff
    assert not haproxy_client.config_path.exists()
    created = haproxy_client.create(first, client_token="t")
    assert haproxy_client.config_path.read_text() == patched("", plan.diff).replace(NEW_REF, created.ref)


def test_an_out_of_band_change_is_seen_and_repaired_at_runtime_without_a_reload(haproxy_client):
    one, two = Backend("one"), Backend("two")
    port = free_port()
    applied = spec(member(one), member(two), port=port)
    created = haproxy_client.create(applied, client_token="t")
    ref, vip = created.ref, created.vip_address
    installed, before = haproxy_client.config_path.read_bytes(), reloads(haproxy_client)

    runtime_command(haproxy_client, f"set server be-{ref}/m0 weight 3")
    assert answers(vip, port, 40)["one"] in range(28, 33)  # HAProxy runs it: 30 of 40 (2 either way)
    runtime_command(haproxy_client, f"set server be-{ref}/m1 state maint")

    running = haproxy_client.get(ref).running
    assert running is not None
    assert {(c.field, c.before, c.after) for c in spec_changes(applied, running)} == {
        (f"member 127.0.0.1:{one.port} weight", 1, 3),
        (f"member 127.0.0.1:{two.port} admin_state", "enabled", MAINT),
    }
    assert health(haproxy_client, ref)[two.port][0] is OperatingStatus.OFFLINE
    plan = haproxy_client.plan(ref, applied)
    assert plan.diff == ""  # the file never changed
    assert [dict(step.params) for step in plan.operations] == [
        {"command": f"set server be-{ref}/m0 weight 1"},
        {"command": f"set server be-{ref}/m1 state ready"},
    ]

    haproxy_client.update(ref, applied)

    assert reloads(haproxy_client) == before
    assert haproxy_client.config_path.read_bytes() == installed
    assert spec_changes(applied, haproxy_client.get(ref).running) == []
    assert haproxy_client.plan(ref, applied) == ProviderPlan()
    assert answers(vip, port, 10) == Counter(one=5, two=5)
    one.stop()
    two.stop()


def test_a_member_drained_on_the_admin_socket_reads_draining_and_drifted(haproxy_client):
    one, two = member(free_port()), member(free_port(), 5)
    applied = spec(one, two, port=free_port())
    ref = haproxy_client.create(applied, client_token="t").ref

    runtime_command(haproxy_client, f"set server be-{ref}/m1 state drain")

    assert health(haproxy_client, ref)[two.port] == (OperatingStatus.DRAINING, None)
    running = haproxy_client.get(ref).running
    assert running is not None
    assert running.members[1] == MemberSpec("127.0.0.1", two.port, 5, AdminState.DRAIN)
    assert [c.field for c in spec_changes(applied, running)] == [f"member 127.0.0.1:{two.port} admin_state"]


def test_a_weight_a_static_map_refuses_at_runtime_is_applied_by_a_reload(haproxy_client):
    """``balance source`` takes only 0 or the starting weight at runtime: a member set to 0
    out of band goes back to its 2 through the runtime API, but a new weight of 3 in the
    file is neither, so that change plans a reload."""
    one, two = member(free_port(), 2), member(free_port())
    applied = spec(one, two, port=free_port(), algorithm="SOURCE_IP")
    ref = haproxy_client.create(applied, client_token="t").ref
    runtime_command(haproxy_client, f"set server be-{ref}/m0 weight 0")
    before = reloads(haproxy_client)

    assert steps(haproxy_client.plan(ref, applied)) == [RUNTIME]
    haproxy_client.update(ref, applied)
    assert reloads(haproxy_client) == before
    assert spec_changes(applied, haproxy_client.get(ref).running) == []

    heavier = spec(member(one.port, 3), two, port=applied.listener_port, algorithm="SOURCE_IP")
    assert steps(haproxy_client.plan(ref, heavier)) == [WRITE, RELOAD]
    haproxy_client.update(ref, heavier)
    assert reloads(haproxy_client)[0] == before[0] + 1
    assert spec_changes(heavier, haproxy_client.get(ref).running) == []


def test_what_runs_is_read_back_from_the_configuration_in_force(haproxy_client):
    timings = {"interval": 7, "timeout": 3, "retries_up": 2, "retries_down": 4}
    monitor = HealthMonitor(MonitorType.HTTP, **timings, http_path="/h?x=1", expected_codes="200,201,202,404")
    drained = member(free_port(), 6, drain=True)
    applied = spec(
        member(free_port(), 2), drained, port=free_port(), protocol="TCP", algorithm="SOURCE_IP", monitor=monitor
    )
    ref = haproxy_client.create(applied, client_token="t").ref

    running = haproxy_client.get(ref).running

    assert running is not None
    assert (running.listener_protocol, running.listener_port) == ("TCP", applied.listener_port)
    assert running.algorithm == "SOURCE_IP"
    assert running.health_monitor == HealthMonitor(
        MonitorType.HTTP, **timings, http_path="/h?x=1", expected_codes="200-202,404"
    )
    assert running.members[1] == MemberSpec("127.0.0.1", drained.port, 0, AdminState.DRAIN)  # HAProxy keeps no weight
    assert running == haproxy_client.as_running(applied)
    assert haproxy_client.get(ref).health_monitor == monitor  # what was asked, as before


def test_nothing_is_said_to_run_while_haproxy_is_stopped_and_a_change_plans_a_start(haproxy_client):
    ref = haproxy_client.create(spec(member(free_port()), port=free_port()), client_token="t").ref
    haproxy_client.stop()
    wait_until(lambda: haproxy_client.get(ref).running is None, timeout=PATIENCE)
    moved = spec(member(free_port()), port=free_port())

    assert steps(haproxy_client.plan(ref, moved)) == [WRITE, START]
    haproxy_client.update(ref, moved)  # started again
    assert spec_changes(moved, haproxy_client.get(ref).running) == []


@pytest.mark.parametrize(
    ("codes", "text"),
    [([200], "200"), ([200, 201, 202, 404], "200-202,404"), ([200, 202, 204], "200,202,204"), ([], "")],
)
def test_codes_are_written_in_the_fewest_ranges(codes, text):
    assert codes_text(codes) == text


def test_a_plan_says_no_to_a_configuration_haproxy_refuses_and_writes_nothing(tmp_path):
    """The plan runs HAProxy's own check of the planned file, as an update does before
    installing it: here an haproxy that refuses every configuration."""
    refusing = tmp_path / "haproxy"
    refusing.write_text("#!/bin/sh\necho '[ALERT] (1) : config : parsing [x:3]: unknown keyword' >&2\nexit 1\n")
    refusing.chmod(0o755)
    state = tmp_path / "state"
    client = HAProxyLBaaS(state_dir=str(state), vip_network="127.76.1.0/24", haproxy_bin=str(refusing))

    with pytest.raises(ProviderRejected, match=r"haproxy refused the configuration: .*unknown keyword"):
        client.plan(None, spec(member(free_port()), port=80))

    assert not client.config_path.exists()
    assert client.get_list() == []
