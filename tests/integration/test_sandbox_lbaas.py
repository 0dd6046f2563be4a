"""The sandbox LBaaS against a real SQLite file, with a clock the tests move."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from loadbalancers.adapters.lbaas import sandbox, sqlite_state
from loadbalancers.adapters.lbaas.sandbox import SandboxLBaaS
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberHealth, MemberSpec
from loadbalancers.domain.errors import ProviderError, ProviderRejected, ProviderResourceNotFound, ProviderUnavailable
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType

DELAY = 2.0
PROCESSES = 6


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


HTTP_CHECK = HealthMonitor(MonitorType.HTTP, interval=10, timeout=4, retries_up=3, retries_down=2, http_path="/up")
TCP_CHECK = HealthMonitor(MonitorType.TCP, interval=7, timeout=2)


def spec(
    *members: tuple[str, int] | MemberSpec,
    name: str = "web",
    health_monitor: HealthMonitor | None = None,
    tags: tuple[str, ...] = (),
) -> LoadBalancerSpec:
    return LoadBalancerSpec(
        name=name,
        listener_protocol="HTTP",
        listener_port=80,
        algorithm="ROUND_ROBIN",
        members=tuple(m if isinstance(m, MemberSpec) else MemberSpec(*m) for m in members or [("10.0.0.1", 8080)]),
        health_monitor=health_monitor,
        tags=tags,
    )


def stored_spec(db_path: str, ref: str) -> str:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT spec FROM load_balancers WHERE ref = ?", (ref,)).fetchone()[0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "state" / "sandbox.sqlite3")


@pytest.fixture
def make(db_path: str, clock: FakeClock) -> Any:
    def make(**options: Any) -> SandboxLBaaS:
        return SandboxLBaaS(**{"path": db_path, "delay": DELAY, "clock": clock, **options})

    return make


@pytest.fixture
def lbaas(make: Any) -> SandboxLBaaS:
    return make()


# -- create -------------------------------------------------------------------------------


def test_create_is_pending_then_active_with_a_vip_from_the_range(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    created = lbaas.create(spec(("10.0.0.1", 8080), ("10.0.0.2", 8081)), client_token="tok-1")

    assert created.ref.startswith("sbx-")
    assert len(created.ref) == len("sbx-") + 32
    assert created.provisioning_status is ProvisioningStatus.PENDING_CREATE
    assert created.operating_status is OperatingStatus.OFFLINE
    assert created.vip_address == "198.51.100.1"
    assert created.client_token == "tok-1"
    assert created.error is None

    clock.advance(DELAY - 0.01)
    assert lbaas.get(created.ref).provisioning_status is ProvisioningStatus.PENDING_CREATE

    clock.advance(0.01)
    active = lbaas.get(created.ref)
    assert active.provisioning_status is ProvisioningStatus.ACTIVE
    assert active.operating_status is OperatingStatus.NO_MONITOR
    assert active.vip_address == "198.51.100.1"
    assert active.members == (
        MemberHealth("10.0.0.1", 8080, OperatingStatus.NO_MONITOR),
        MemberHealth("10.0.0.2", 8081, OperatingStatus.NO_MONITOR),
    )
    assert active.error is None
    assert active.health_monitor is None


def test_the_same_client_token_creates_one_resource(lbaas: SandboxLBaaS, make: Any, clock: FakeClock) -> None:
    first = lbaas.create(spec(), client_token="tok-1")
    clock.advance(DELAY)

    again = lbaas.create(spec(("10.9.9.9", 1)), client_token="tok-1")
    from_another_instance = make().create(spec(), client_token="tok-1")

    assert again.ref == first.ref == from_another_instance.ref
    assert again.provisioning_status is ProvisioningStatus.ACTIVE
    assert again.members == (MemberHealth("10.0.0.1", 8080, OperatingStatus.NO_MONITOR),), "returned unchanged"
    assert [lb.ref for lb in lbaas.get_list()] == [first.ref]


def _create_in_another_process(path: str, token: str, start: Any, results: Any) -> None:
    start.wait(timeout=30)
    try:
        results.put(SandboxLBaaS(path=path).create(spec(), client_token=token).ref)
    except ProviderError as exc:  # reported to the test, which fails on it
        results.put(repr(exc))


def test_processes_creating_with_one_token_at_once_make_one_resource(db_path: str) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_create_in_another_process, args=(db_path, "tok-shared", start, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    refs = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    assert all(ref.startswith("sbx-") for ref in refs), refs
    assert len(set(refs)) == 1
    assert [lb.ref for lb in SandboxLBaaS(path=db_path).get_list()] == refs[:1]


# -- VIPs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vip_range", "first_vip"),
    [
        ("198.51.100.0/24", "198.51.100.1"),
        ("192.0.2.8/30", "192.0.2.9"),
        ("192.0.2.8/31", "192.0.2.8"),
        ("192.0.2.7/32", "192.0.2.7"),
        ("2001:db8::/64", "2001:db8::1"),
    ],
)
def test_the_first_vip_is_the_lowest_host_address(make: Any, vip_range: str, first_vip: str) -> None:
    assert make(vip_range=vip_range).create(spec(), client_token="tok").vip_address == first_vip


def test_vips_are_the_lowest_free_and_a_deleted_ones_is_reused(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    a, b, c = (lbaas.create(spec(), client_token=f"tok-{n}") for n in "abc")
    assert [a.vip_address, b.vip_address, c.vip_address] == ["198.51.100.1", "198.51.100.2", "198.51.100.3"]

    lbaas.delete(b.ref)
    d = lbaas.create(spec(), client_token="tok-d")
    assert d.vip_address == "198.51.100.4", "a load balancer being deleted still holds its VIP"

    clock.advance(DELAY)
    assert lbaas.create(spec(), client_token="tok-e").vip_address == "198.51.100.2"


def test_an_exhausted_range_is_rejected_until_a_vip_is_freed(make: Any, clock: FakeClock) -> None:
    lbaas = make(vip_range="192.0.2.0/30")
    first = lbaas.create(spec(), client_token="tok-1")
    lbaas.create(spec(), client_token="tok-2")

    with pytest.raises(ProviderRejected, match=r"^no free VIP address in 192\.0\.2\.0/30$"):
        lbaas.create(spec(), client_token="tok-3")
    assert len(lbaas.get_list()) == 2
    assert lbaas.create(spec(), client_token="tok-1").ref == first.ref, "a known token needs no new VIP"

    lbaas.delete(first.ref)
    clock.advance(DELAY)
    assert lbaas.create(spec(), client_token="tok-3").vip_address == "192.0.2.1"


# -- update ---------------------------------------------------------------------------------


def test_update_is_pending_then_active_with_the_new_members(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(spec(), client_token="tok").ref
    clock.advance(DELAY)

    updating = lbaas.update(ref, spec(("10.0.0.7", 80), ("10.0.0.8", 80)))
    assert updating.provisioning_status is ProvisioningStatus.PENDING_UPDATE
    assert updating.operating_status is OperatingStatus.OFFLINE
    assert updating.vip_address == "198.51.100.1"

    clock.advance(DELAY)
    updated = lbaas.get(ref)
    assert updated.provisioning_status is ProvisioningStatus.ACTIVE
    assert updated.members == (
        MemberHealth("10.0.0.7", 80, OperatingStatus.NO_MONITOR),
        MemberHealth("10.0.0.8", 80, OperatingStatus.NO_MONITOR),
    )


def test_a_repeated_update_restarts_the_timer(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(spec(), client_token="tok").ref
    clock.advance(DELAY)
    lbaas.update(ref, spec(("10.0.0.7", 80)))
    clock.advance(DELAY / 2)

    lbaas.update(ref, spec(("10.0.0.8", 80)))
    clock.advance(DELAY / 2)
    assert lbaas.get(ref).provisioning_status is ProvisioningStatus.PENDING_UPDATE

    clock.advance(DELAY / 2)
    assert lbaas.get(ref).members == (MemberHealth("10.0.0.8", 80, OperatingStatus.NO_MONITOR),)


def test_update_is_rejected_while_creating_or_deleting(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(spec(), client_token="tok").ref
    with pytest.raises(ProviderRejected, match="PENDING_CREATE"):
        lbaas.update(ref, spec(("10.0.0.7", 80)))

    clock.advance(DELAY)
    lbaas.delete(ref)
    with pytest.raises(ProviderRejected, match="PENDING_DELETE"):
        lbaas.update(ref, spec(("10.0.0.7", 80)))
    assert lbaas.get(ref).members == (MemberHealth("10.0.0.1", 8080, OperatingStatus.OFFLINE),)


# -- health monitor, weights, drain, tags ---------------------------------------------------


def test_a_monitor_is_reported_and_its_members_are_simulated_online(
    lbaas: SandboxLBaaS, make: Any, clock: FakeClock
) -> None:
    created = lbaas.create(spec(("10.0.0.1", 8080), ("10.0.0.2", 8081), health_monitor=HTTP_CHECK), client_token="t")
    assert created.health_monitor == HTTP_CHECK
    assert created.operating_status is OperatingStatus.OFFLINE
    assert {m.operating_status for m in created.members} == {OperatingStatus.OFFLINE}, "pending: OFFLINE as before"

    clock.advance(DELAY)
    active = make().get(created.ref)

    assert active.health_monitor == HTTP_CHECK
    assert active.operating_status is OperatingStatus.ONLINE
    assert active.members == (
        MemberHealth("10.0.0.1", 8080, OperatingStatus.ONLINE),
        MemberHealth("10.0.0.2", 8081, OperatingStatus.ONLINE),
    )
    assert lbaas.get_list() == [active]


def test_an_update_changes_the_monitor_and_can_remove_it(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(spec(health_monitor=HTTP_CHECK), client_token="tok").ref
    clock.advance(DELAY)

    assert lbaas.update(ref, spec(health_monitor=TCP_CHECK)).health_monitor == TCP_CHECK
    clock.advance(DELAY)
    assert lbaas.get(ref).health_monitor == TCP_CHECK
    assert lbaas.get(ref).operating_status is OperatingStatus.ONLINE

    lbaas.update(ref, spec())
    clock.advance(DELAY)
    unchecked = lbaas.get(ref)
    assert unchecked.health_monitor is None
    assert unchecked.operating_status is OperatingStatus.NO_MONITOR
    assert unchecked.members == (MemberHealth("10.0.0.1", 8080, OperatingStatus.NO_MONITOR),)


@pytest.mark.parametrize(
    ("monitor", "enabled_status"),
    [(None, OperatingStatus.NO_MONITOR), (HTTP_CHECK, OperatingStatus.ONLINE)],
)
def test_a_drained_member_is_draining_and_the_others_decide_the_overall_status(
    lbaas: SandboxLBaaS, clock: FakeClock, monitor: HealthMonitor | None, enabled_status: OperatingStatus
) -> None:
    members = (MemberSpec("10.0.0.1", 8080), MemberSpec("10.0.0.2", 8081, weight=4, admin_state="drain"))
    ref = lbaas.create(spec(*members, health_monitor=monitor), client_token="tok").ref
    assert lbaas.get(ref).members[1].operating_status is OperatingStatus.OFFLINE, "pending: OFFLINE as before"

    clock.advance(DELAY)
    state = lbaas.get(ref)

    assert state.members == (
        MemberHealth("10.0.0.1", 8080, enabled_status),
        MemberHealth("10.0.0.2", 8081, OperatingStatus.DRAINING),
    )
    assert state.operating_status is enabled_status

    lbaas.update(ref, spec(members[1], health_monitor=monitor))
    clock.advance(DELAY)
    only_draining = lbaas.get(ref)
    assert only_draining.members == (MemberHealth("10.0.0.2", 8081, OperatingStatus.DRAINING),)
    assert only_draining.operating_status is OperatingStatus.OFFLINE, "nothing takes new connections"


def test_a_load_balancer_in_error_stays_error_with_a_monitor(make: Any, clock: FakeClock) -> None:
    lbaas = make(fail_at="activate")
    ref = lbaas.create(spec(health_monitor=HTTP_CHECK), client_token="tok").ref
    clock.advance(DELAY)

    failed = lbaas.get(ref)

    assert failed.provisioning_status is ProvisioningStatus.ERROR
    assert failed.operating_status is OperatingStatus.ERROR
    assert failed.members == (MemberHealth("10.0.0.1", 8080, OperatingStatus.OFFLINE),)
    assert failed.health_monitor == HTTP_CHECK


def test_the_whole_spec_is_stored_weights_admin_states_monitor_and_tags(
    lbaas: SandboxLBaaS, db_path: str, clock: FakeClock
) -> None:
    wanted = spec(
        MemberSpec("10.0.0.1", 8080, weight=3),
        MemberSpec("10.0.0.2", 8081, weight=0),
        MemberSpec("10.0.0.3", 8082, weight=256, admin_state="drain"),
        health_monitor=HTTP_CHECK,
        tags=("team=shop", "blue"),
    )
    ref = lbaas.create(wanted, client_token="tok").ref

    assert sandbox._load(stored_spec(db_path, ref)) == wanted
    assert [(m["weight"], m["admin_state"]) for m in json.loads(stored_spec(db_path, ref))["members"]] == [
        (3, "enabled"),
        (0, "enabled"),
        (256, "drain"),
    ]

    clock.advance(DELAY)
    changed = spec(MemberSpec("10.0.0.1", 8080, weight=7), health_monitor=TCP_CHECK, tags=("team=web",))
    lbaas.update(ref, changed)
    assert sandbox._load(stored_spec(db_path, ref)) == changed


def test_rows_written_before_weights_monitors_and_tags_still_load(
    lbaas: SandboxLBaaS, db_path: str, clock: FakeClock
) -> None:
    lbaas.get_list()  # prepares the file
    old_spec = {
        "name": "old",
        "listener_protocol": "HTTP",
        "listener_port": 80,
        "algorithm": "ROUND_ROBIN",
        "members": [{"address": "10.0.0.5", "port": 80}],
    }
    sparse_monitor = {**old_spec, "health_monitor": {"type": "TCP", "interval": 9}}
    with sqlite3.connect(db_path) as db:
        db.executemany(
            "INSERT INTO load_balancers VALUES (?, ?, ?, ?, 'create', 0, NULL, NULL)",
            [
                ("sbx-old", "tok-old", "198.51.100.1", json.dumps(old_spec)),
                ("sbx-sparse", "tok-sparse", "198.51.100.2", json.dumps(sparse_monitor)),
            ],
        )

    old, sparse = lbaas.get("sbx-old"), lbaas.get("sbx-sparse")

    assert old.provisioning_status is ProvisioningStatus.ACTIVE
    assert old.health_monitor is None
    assert old.members == (MemberHealth("10.0.0.5", 80, OperatingStatus.NO_MONITOR),)
    assert sandbox._load(json.dumps(old_spec)) == spec(("10.0.0.5", 80), name="old")
    assert sparse.health_monitor == HealthMonitor(MonitorType.TCP, interval=9)
    assert sparse.members == (MemberHealth("10.0.0.5", 80, OperatingStatus.ONLINE),)

    lbaas.update("sbx-old", spec(MemberSpec("10.0.0.5", 80, weight=2), name="old"))
    clock.advance(DELAY)
    assert lbaas.get("sbx-old").provisioning_status is ProvisioningStatus.ACTIVE
    assert json.loads(stored_spec(db_path, "sbx-old"))["members"] == [
        {"address": "10.0.0.5", "port": 80, "weight": 2, "admin_state": "enabled"}
    ]


# -- what runs, plans -----------------------------------------------------------------------

RICH = spec(
    MemberSpec("10.0.0.1", 8080, weight=3),
    MemberSpec("10.0.0.2", 8081, admin_state="drain"),
    health_monitor=HTTP_CHECK,
    tags=("team=shop",),
)


def all_rows(db_path: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT * FROM load_balancers ORDER BY ref").fetchall()


def test_every_answer_reports_the_stored_spec_as_running(make: Any, clock: FakeClock) -> None:
    lbaas, failing = make(), make(fail_at="activate")
    ref = lbaas.create(RICH, client_token="tok").ref
    failed = failing.create(spec(), client_token="tok-failed").ref
    assert lbaas.get(ref).running == RICH, "pending create"

    clock.advance(DELAY)
    assert lbaas.get(ref).running == RICH, "active"
    assert lbaas.get(failed).provisioning_status is ProvisioningStatus.ERROR
    assert lbaas.get(failed).running == spec(), "error"
    assert {lb.ref: lb.running for lb in lbaas.get_list()} == {ref: RICH, failed: spec()}

    changed = spec(("10.0.0.9", 80), tags=("team=web",))
    assert lbaas.update(ref, changed).running == changed, "pending update"
    clock.advance(DELAY)
    lbaas.delete(ref)
    assert lbaas.get(ref).running == changed, "pending delete"


def test_a_planned_create_stores_exactly_the_planned_resource(
    lbaas: SandboxLBaaS, db_path: str, clock: FakeClock
) -> None:
    (operation,) = lbaas.plan(None, RICH).operations

    ref = lbaas.create(RICH, client_token="tok").ref
    clock.advance(DELAY)

    assert operation.name == "create load balancer"
    assert operation.params["resource"] == json.loads(stored_spec(db_path, ref))
    assert operation.params["resource"] == sandbox._resource(lbaas.get(ref).running)
    assert operation.params["resource"]["members"][1] == {
        "address": "10.0.0.2",
        "port": 8081,
        "weight": 1,
        "admin_state": "drain",
    }
    assert operation.params["resource"]["health_monitor"]["http_path"] == "/up"
    assert operation.params["resource"]["tags"] == ["team=shop"]


def test_a_planned_update_names_each_change_and_stores_exactly_the_planned_resource(
    lbaas: SandboxLBaaS, db_path: str, clock: FakeClock
) -> None:
    ref = lbaas.create(RICH, client_token="tok").ref
    clock.advance(DELAY)
    changed = spec(
        MemberSpec("10.0.0.1", 8080, weight=5),
        MemberSpec("10.0.0.3", 8082),
        health_monitor=HTTP_CHECK,
        tags=("team=web",),
    )

    (operation,) = lbaas.plan(ref, changed).operations
    lbaas.update(ref, changed)
    clock.advance(DELAY)

    assert operation.name == "update load balancer"
    assert operation.params["changes"] == [
        {"field": "member 10.0.0.1:8080 weight", "before": 3, "after": 5},
        {"field": "member 10.0.0.2:8081", "before": {"weight": 1, "admin_state": "drain"}, "after": None},
        {"field": "member 10.0.0.3:8082", "before": None, "after": {"weight": 1, "admin_state": "enabled"}},
        {"field": "tags", "before": ["team=shop"], "after": ["team=web"]},
    ]
    assert operation.params["from_status"] == "ACTIVE"
    assert operation.params["resource"] == json.loads(stored_spec(db_path, ref))
    assert operation.params["resource"] == sandbox._resource(lbaas.get(ref).running)
    assert lbaas.get(ref).provisioning_status is ProvisioningStatus.ACTIVE
    assert lbaas.plan(ref, changed).operations == ()


def test_only_a_new_member_order_is_still_a_change_and_is_named(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(RICH, client_token="tok").ref
    clock.advance(DELAY)
    reordered = spec(*reversed(RICH.members), health_monitor=HTTP_CHECK, tags=("team=shop",))

    (operation,) = lbaas.plan(ref, reordered).operations

    assert operation.params["changes"] == [
        {
            "field": "member order",
            "before": [["10.0.0.1", 8080], ["10.0.0.2", 8081]],
            "after": [
                ["10.0.0.2", 8081],
                ["10.0.0.1", 8080],
            ],
        }
    ]


def test_an_unchanged_update_of_an_active_load_balancer_writes_nothing(
    lbaas: SandboxLBaaS, db_path: str, clock: FakeClock
) -> None:
    ref = lbaas.create(RICH, client_token="tok").ref
    clock.advance(DELAY)
    before = all_rows(db_path)

    answer = lbaas.update(ref, RICH)

    assert answer.provisioning_status is ProvisioningStatus.ACTIVE, "no pending period"
    assert answer == lbaas.get(ref)
    assert all_rows(db_path) == before
    assert lbaas.plan(ref, RICH).operations == ()


def test_an_unchanged_update_retries_a_load_balancer_in_error(make: Any, clock: FakeClock) -> None:
    ref = make(fail_at="activate").create(spec(), client_token="tok").ref
    clock.advance(DELAY)
    lbaas = make()

    (operation,) = lbaas.plan(ref, spec()).operations
    retried = lbaas.update(ref, spec())
    clock.advance(DELAY)

    assert operation.params["from_status"] == "ERROR"
    assert operation.params["changes"] == []
    assert retried.provisioning_status is ProvisioningStatus.PENDING_UPDATE
    assert lbaas.get(ref).provisioning_status is ProvisioningStatus.ACTIVE
    assert lbaas.plan(ref, spec()).operations == ()


def test_a_plan_writes_nothing_not_even_the_purge_of_finished_deletes(
    lbaas: SandboxLBaaS, db_path: str, clock: FakeClock
) -> None:
    kept = lbaas.create(RICH, client_token="tok-kept").ref
    gone = lbaas.create(spec(), client_token="tok-gone").ref
    clock.advance(DELAY)
    lbaas.delete(gone)
    clock.advance(DELAY)
    before = all_rows(db_path)

    assert lbaas.plan(None, RICH).operations
    assert lbaas.plan(kept, spec(("10.0.0.9", 80))).operations
    assert lbaas.plan(kept, RICH).operations == ()

    assert all_rows(db_path) == before
    assert len(before) == 2, "the finished delete is still in the file: nothing wrote"


def test_plan_of_an_unknown_or_deleted_ref_is_not_found(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(spec(), client_token="tok").ref
    clock.advance(DELAY)
    lbaas.delete(ref)
    clock.advance(DELAY)

    for missing in ("sbx-nope", ref):
        with pytest.raises(ProviderResourceNotFound, match=missing):
            lbaas.plan(missing, spec())


def test_plan_refuses_what_update_refuses_while_creating_or_deleting(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(spec(), client_token="tok").ref
    with pytest.raises(ProviderRejected, match="PENDING_CREATE"):
        lbaas.plan(ref, spec(("10.0.0.7", 80)))

    clock.advance(DELAY)
    lbaas.delete(ref)
    with pytest.raises(ProviderRejected, match="PENDING_DELETE"):
        lbaas.plan(ref, spec())


def test_a_plan_is_a_read_that_fail_at_update_leaves_alone(make: Any, clock: FakeClock) -> None:
    lbaas = make(fail_at="update")
    ref = lbaas.create(spec(), client_token="tok").ref
    clock.advance(DELAY)

    assert lbaas.plan(ref, spec(("10.0.0.7", 80))).operations
    with pytest.raises(ProviderRejected, match="update"):
        lbaas.update(ref, spec(("10.0.0.7", 80)))


# -- delete, unknown refs, listing ----------------------------------------------------------


def test_delete_is_pending_then_gone(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    ref = lbaas.create(spec(), client_token="tok").ref
    clock.advance(DELAY)

    assert lbaas.delete(ref) is None
    deleting = lbaas.get(ref)
    assert deleting.provisioning_status is ProvisioningStatus.PENDING_DELETE
    assert deleting.operating_status is OperatingStatus.OFFLINE

    clock.advance(DELAY / 2)
    lbaas.delete(ref)  # does not restart the timer
    clock.advance(DELAY / 2)
    with pytest.raises(ProviderResourceNotFound):
        lbaas.get(ref)
    assert lbaas.get_list() == []

    assert lbaas.delete(ref) is None
    with pytest.raises(ProviderResourceNotFound):
        lbaas.get(ref)


def test_a_token_can_be_used_again_once_its_resource_is_gone(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    old = lbaas.create(spec(), client_token="tok").ref
    lbaas.delete(old)
    assert lbaas.create(spec(), client_token="tok").ref == old, "still there while being deleted"

    clock.advance(DELAY)
    new = lbaas.create(spec(), client_token="tok")
    assert new.ref != old
    assert new.provisioning_status is ProvisioningStatus.PENDING_CREATE


def test_unknown_refs(lbaas: SandboxLBaaS) -> None:
    with pytest.raises(ProviderResourceNotFound, match="sbx-nope"):
        lbaas.get("sbx-nope")
    with pytest.raises(ProviderResourceNotFound, match="sbx-nope"):
        lbaas.update("sbx-nope", spec())
    assert lbaas.delete("sbx-nope") is None
    assert lbaas.get_list() == []


def test_get_list_returns_exactly_the_live_ones(lbaas: SandboxLBaaS, clock: FakeClock) -> None:
    gone, active, deleting = (lbaas.create(spec(), client_token=f"tok-{n}").ref for n in range(3))
    lbaas.delete(gone)
    clock.advance(DELAY)
    lbaas.delete(deleting)
    creating = lbaas.create(spec(), client_token="tok-3").ref

    listed = {lb.ref: lb.provisioning_status for lb in lbaas.get_list()}

    assert listed == {
        active: ProvisioningStatus.ACTIVE,
        deleting: ProvisioningStatus.PENDING_DELETE,
        creating: ProvisioningStatus.PENDING_CREATE,
    }
    assert lbaas.get(active) in lbaas.get_list()


def test_state_survives_a_restart(make: Any, clock: FakeClock) -> None:
    created = make().create(spec(), client_token="tok")
    clock.advance(DELAY)

    restarted = make()

    assert restarted.get(created.ref).provisioning_status is ProvisioningStatus.ACTIVE
    assert [lb.ref for lb in restarted.get_list()] == [created.ref]
    assert restarted.create(spec(), client_token="tok-2").vip_address == "198.51.100.2"


# -- simulated trouble ----------------------------------------------------------------------


def test_every_call_fails_transiently_at_error_rate_one_and_nothing_is_stored(make: Any) -> None:
    flaky = make(error_rate=1.0)
    calls = [
        lambda: flaky.create(spec(), client_token="tok"),
        lambda: flaky.get("sbx-x"),
        lambda: flaky.update("sbx-x", spec()),
        lambda: flaky.delete("sbx-x"),
        flaky.get_list,
        lambda: flaky.plan(None, spec()),
        lambda: flaky.plan("sbx-x", spec()),
    ]
    for call in calls:
        with pytest.raises(ProviderUnavailable, match=r"^sandbox: simulated transient failure$"):
            call()
    assert make().get_list() == []


def test_the_seed_makes_transient_failures_repeatable(make: Any) -> None:
    def outcomes(lbaas: SandboxLBaaS) -> list[bool]:
        results = []
        for _ in range(30):
            try:
                lbaas.get_list()
            except ProviderUnavailable:
                results.append(False)
            else:
                results.append(True)
        return results

    first = outcomes(make(error_rate=0.5, seed=7))
    assert first == outcomes(make(error_rate=0.5, seed=7))
    assert True in first
    assert False in first


def test_latency_is_spent_before_each_call(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(sandbox.time, "sleep", slept.append)

    slow = make(latency=0.25)
    slow.get_list()
    slow.plan(None, spec())

    assert slept == [0.25, 0.25]


def test_fail_at_create(make: Any) -> None:
    with pytest.raises(ProviderRejected):
        make(fail_at="create").create(spec(), client_token="tok")
    assert make().get_list() == []


def test_fail_at_activate(make: Any, clock: FakeClock) -> None:
    lbaas = make(fail_at="activate")
    created = lbaas.create(spec(), client_token="tok")
    assert created.provisioning_status is ProvisioningStatus.PENDING_CREATE
    assert created.error is None

    clock.advance(DELAY)
    failed = make().get(created.ref)

    assert failed.provisioning_status is ProvisioningStatus.ERROR
    assert failed.operating_status is OperatingStatus.ERROR
    assert failed.error == "sandbox: simulated failure while activating"
    assert [lb.ref for lb in lbaas.get_list()] == [created.ref]
    lbaas.delete(created.ref)
    clock.advance(DELAY)
    assert lbaas.get_list() == []


def test_an_update_repairs_a_load_balancer_in_error(make: Any, clock: FakeClock) -> None:
    ref = make(fail_at="activate").create(spec(), client_token="tok").ref
    clock.advance(DELAY)
    lbaas = make()
    assert lbaas.get(ref).provisioning_status is ProvisioningStatus.ERROR

    lbaas.update(ref, spec(("10.0.0.7", 80)))
    clock.advance(DELAY)

    repaired = lbaas.get(ref)
    assert repaired.provisioning_status is ProvisioningStatus.ACTIVE
    assert repaired.error is None


def test_fail_at_update(make: Any, clock: FakeClock) -> None:
    lbaas = make(fail_at="update")
    ref = lbaas.create(spec(), client_token="tok").ref
    clock.advance(DELAY)

    with pytest.raises(ProviderRejected):
        lbaas.update(ref, spec(("10.0.0.7", 80)))

    unchanged = lbaas.get(ref)
    assert unchanged.provisioning_status is ProvisioningStatus.ACTIVE
    assert unchanged.members == (MemberHealth("10.0.0.1", 8080, OperatingStatus.NO_MONITOR),)


def test_fail_at_delete(make: Any, clock: FakeClock) -> None:
    lbaas = make(fail_at="delete")
    ref = lbaas.create(spec(), client_token="tok").ref
    clock.advance(DELAY)

    with pytest.raises(ProviderRejected):
        lbaas.delete(ref)

    clock.advance(DELAY)
    assert lbaas.get(ref).provisioning_status is ProvisioningStatus.ACTIVE


def test_storage_trouble_is_a_transient_provider_error(
    make: Any, db_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lbaas = make()
    lbaas.get_list()  # prepares the file
    monkeypatch.setattr(sqlite_state, "BUSY_TIMEOUT", 0.05)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ProviderUnavailable, match="locked"):
            lbaas.create(spec(), client_token="tok")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert lbaas.create(spec(), client_token="tok").provisioning_status is ProvisioningStatus.PENDING_CREATE


def test_an_unusable_path_is_a_transient_provider_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailable, match="state store unavailable"):
        SandboxLBaaS(path=str(tmp_path)).get_list()  # a directory, not a file


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vip_range": "not-a-cidr"}, "vip_range"),
        ({"vip_range": "198.51.100.1/24"}, "vip_range"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"error_rate": 1.5}, "error_rate"),
        ({"fail_at": "reboot"}, "fail_at"),
        ({"delay": -1.0}, "delay"),
        ({"latency": -1.0}, "latency"),
    ],
)
def test_invalid_options_are_refused(make: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**options)


def test_a_state_file_from_before_installations_gets_the_column_and_keeps_its_rows(db_path: str) -> None:
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(db_path)
    old.executescript(
        """CREATE TABLE load_balancers (ref TEXT PRIMARY KEY, client_token TEXT NOT NULL UNIQUE,
        vip_address TEXT NOT NULL UNIQUE, spec TEXT NOT NULL, action TEXT NOT NULL, ready_at REAL NOT NULL,
        error TEXT);
        INSERT INTO load_balancers VALUES ('sbx-old', 'tok-old', '198.51.100.1',
        '{"name": "old", "listener_protocol": "HTTP", "listener_port": 80, "algorithm": "ROUND_ROBIN",
          "members": []}', 'create', 0, NULL);"""
    )
    old.close()

    client = SandboxLBaaS(path=db_path, delay=0, installation="this-portal")
    new = client.create(spec(), client_token="tok-new")

    assert {(lb.ref, lb.installation) for lb in client.get_list()} == {("sbx-old", None), (new.ref, "this-portal")}
