"""The promises every LBaaS adapter keeps, stated once and checked against each."""

from uuid import uuid4

import pytest

from loadbalancers.application.lbaas import ProviderLoadBalancer, spec_changes
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType
from tests.integration.lbaas.harness import INSTALLATION, Harness

ADAPTERS = ["sandbox", "haproxy", "elbv2", "octavia"]

# Providers whose load balancers have no per-member weight: they refuse a spec that
# gives an enabled member a weight other than 1.
REFUSE_WEIGHTS = {"elbv2"}
# Providers that health-check members whatever the spec says (AWS cannot turn the checks
# of an ``ip`` target group off): without a monitor they report real health, not NO_MONITOR.
ALWAYS_CHECK = {"elbv2": "AWS always health-checks ip targets: without a monitor the adapter's defaults apply"}

# Within every provider's limits (AWS: interval 5-300 s, timeout 2-120 s, thresholds 2-10).
# HAProxy's members are ports nothing listens on: with a monitor they fail their checks, so
# no contract here says anything of ONLINE members under a monitor.
MONITOR = HealthMonitor(
    MonitorType.HTTP,
    interval=10,
    timeout=5,
    retries_up=3,
    retries_down=2,
    http_path="/healthz",
    expected_codes="200-299",
)
CHANGED_MONITOR = HealthMonitor(
    MonitorType.HTTP,
    interval=6,
    timeout=4,
    retries_up=2,
    retries_down=4,
    http_path="/ping",
    expected_codes="200,204",
)
TAGS = ("team=shop", "blue")
# Providers that compute a load balancer's operating status themselves rather than from its
# members': Octavia's health manager does, from its amphorae's heartbeats (none with its
# no-op drivers, so load balancers read OFFLINE there whatever their members say).
OWN_OPERATING_STATUS = {"octavia"}


@pytest.fixture(params=ADAPTERS)
def lbaas(request) -> Harness:
    return request.getfixturevalue(f"{request.param}_lbaas")


def test_the_same_client_token_never_creates_twice(lbaas):
    token = str(uuid4())
    first = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=token)
    again = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=token)

    assert again.ref == first.ref
    assert [r.ref for r in lbaas.client.get_list()] == [first.ref]
    assert first.client_token == token


def test_every_resource_carries_the_installation_that_made_it(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0), client_token=str(uuid4())).ref
    lbaas.settle()

    assert lbaas.client.get(ref).installation == INSTALLATION
    assert [(r.ref, r.installation) for r in lbaas.client.get_list()] == [(ref, INSTALLATION)]


def test_a_created_load_balancer_ends_active_with_a_vip_and_its_members(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=str(uuid4())).ref
    lbaas.settle()

    state = lbaas.client.get(ref)

    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert state.vip_address
    assert {(m.address, m.port) for m in state.members} == {
        (lbaas.members[i].address, lbaas.members[i].port) for i in (0, 1)
    }


def test_member_changes_show_up(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=str(uuid4())).ref
    lbaas.settle()

    lbaas.client.update(ref, lbaas.spec("shop", 1, 2, algorithm="LEAST_CONNECTIONS"))
    lbaas.settle()

    state = lbaas.client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert {(m.address, m.port) for m in state.members} == {
        (lbaas.members[i].address, lbaas.members[i].port) for i in (1, 2)
    }


def test_delete_removes_it_and_a_second_delete_is_harmless(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0), client_token=str(uuid4())).ref
    lbaas.settle()

    lbaas.client.delete(ref)
    lbaas.settle()
    lbaas.client.delete(ref)

    with pytest.raises(ProviderResourceNotFound):
        lbaas.client.get(ref)
    assert lbaas.client.get_list() == []


def test_an_unknown_reference_reads_as_gone(lbaas):
    with pytest.raises(ProviderResourceNotFound):
        lbaas.client.get("no-such-load-balancer")
    lbaas.client.delete("no-such-load-balancer")


def test_the_list_is_exactly_what_exists(lbaas):
    kept = lbaas.client.create(lbaas.spec("kept", 0), client_token=str(uuid4())).ref
    gone = lbaas.client.create(lbaas.spec("gone", 1), client_token=str(uuid4())).ref
    lbaas.settle()
    lbaas.client.delete(gone)
    lbaas.settle()

    assert [r.ref for r in lbaas.client.get_list()] == [kept]


# -- issue 11: health monitors, drain, weights ----------------------------------------------


def statuses(state: ProviderLoadBalancer) -> dict[tuple[str, int], OperatingStatus]:
    return {(m.address, m.port): m.operating_status for m in state.members}


def test_the_monitor_in_force_is_reported_and_follows_updates(lbaas):
    spec = lbaas.spec("shop", 0, 1, health_monitor=MONITOR, tags=TAGS)
    ref = lbaas.client.create(spec, client_token=str(uuid4())).ref
    lbaas.settle()
    assert lbaas.client.get(ref).health_monitor == MONITOR

    lbaas.client.update(ref, lbaas.spec("shop", 0, 1, health_monitor=CHANGED_MONITOR, tags=TAGS))
    lbaas.settle()
    assert lbaas.client.get(ref).health_monitor == CHANGED_MONITOR

    lbaas.client.update(ref, lbaas.spec("shop", 0, 1, tags=TAGS))
    lbaas.settle()
    assert lbaas.client.get(ref).health_monitor is None


def test_without_a_monitor_members_are_no_monitor(lbaas):
    if lbaas.client.name in ALWAYS_CHECK:
        pytest.skip(ALWAYS_CHECK[lbaas.client.name])
    unchecked = lbaas.client.create(lbaas.spec("plain", 0, 1), client_token=str(uuid4())).ref
    checked = lbaas.client.create(lbaas.spec("checked", 2, health_monitor=MONITOR), client_token=str(uuid4())).ref
    lbaas.settle()
    lbaas.client.update(checked, lbaas.spec("checked", 2))  # the monitor taken away
    lbaas.settle()

    for ref, members in ((unchecked, (0, 1)), (checked, (2,))):
        state = lbaas.client.get(ref)
        assert state.health_monitor is None
        assert statuses(state) == {lbaas.address(i): OperatingStatus.NO_MONITOR for i in members}
        if lbaas.client.name not in OWN_OPERATING_STATUS:
            assert state.operating_status is OperatingStatus.NO_MONITOR


@pytest.mark.parametrize("monitor", [None, MONITOR], ids=["no-monitor", "monitor"])
@pytest.mark.parametrize("when", ["at-create", "by-update"])
def test_a_drained_member_is_reported_draining_and_never_online(lbaas, monitor, when):
    """DRAINING while the provider drains it; ELBv2 stops listing a target once its
    deregistration is over (the portal reads a drained member as DRAINING then)."""
    drained = lbaas.spec("shop", 0, 1, drain=(1,), health_monitor=monitor)
    if when == "at-create":
        ref = lbaas.client.create(drained, client_token=str(uuid4())).ref
        answers = [lbaas.client.get(ref)]
    else:
        ref = lbaas.client.create(lbaas.spec("shop", 0, 1, health_monitor=monitor), client_token=str(uuid4())).ref
        lbaas.settle()
        answers = [lbaas.client.update(ref, drained), lbaas.client.get(ref)]
    lbaas.settle()
    state = lbaas.client.get(ref)
    answers.append(state)

    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    status = statuses(state).get(lbaas.address(1))
    assert status is OperatingStatus.DRAINING or (lbaas.client.name == "elbv2" and status is None), status
    assert statuses(state)[lbaas.address(0)] is not OperatingStatus.DRAINING, "only the drained member drains"
    assert [statuses(a).get(lbaas.address(1)) for a in answers].count(OperatingStatus.ONLINE) == 0


def test_weights_are_applied_or_the_spec_refused_before_anything_is_created(lbaas):
    """A provider either applies the weights or refuses the spec, saying why, before it
    creates anything (ELBv2 target groups have no per-target weight)."""
    weighted = lbaas.spec("shop", 0, 1, weights={0: 3, 1: 1})

    if lbaas.client.name in REFUSE_WEIGHTS:
        with pytest.raises(ProviderRejected, match="weight"):
            lbaas.client.create(weighted, client_token=str(uuid4()))
        lbaas.settle()
        assert lbaas.client.get_list() == []
        return

    ref = lbaas.client.create(weighted, client_token=str(uuid4())).ref
    lbaas.settle()
    assert lbaas.client.get(ref).provisioning_status is ProvisioningStatus.ACTIVE

    lbaas.client.update(ref, lbaas.spec("shop", 1, 2, weights={1: 1, 2: 3}))
    lbaas.settle()
    state = lbaas.client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert set(statuses(state)) == {lbaas.address(1), lbaas.address(2)}


def test_weights_are_applied_or_the_update_refused_before_anything_changes(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=str(uuid4())).ref
    lbaas.settle()
    weighted = lbaas.spec("shop", 1, 2, weights={1: 3, 2: 1})

    if lbaas.client.name in REFUSE_WEIGHTS:
        with pytest.raises(ProviderRejected, match="weight"):
            lbaas.client.update(ref, weighted)
        lbaas.settle()
        expected = {lbaas.address(0), lbaas.address(1)}
    else:
        lbaas.client.update(ref, weighted)
        lbaas.settle()
        expected = {lbaas.address(1), lbaas.address(2)}

    state = lbaas.client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert set(statuses(state)) == expected


def test_a_drained_members_weight_is_no_reason_to_refuse(lbaas):
    """The portal keeps a drained member's weight for when it is enabled again; no
    provider uses it meanwhile, so none refuses it."""
    ref = lbaas.client.create(lbaas.spec("shop", 0, 1, weights={1: 3}, drain=(1,)), client_token=str(uuid4())).ref
    lbaas.settle()

    state = lbaas.client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert lbaas.address(0) in statuses(state)


@pytest.mark.parametrize("monitor", [None, MONITOR], ids=["no-monitor", "monitor"])
def test_an_unchanged_update_leaves_the_answer_the_same(lbaas, monitor):
    same = lbaas.spec("shop", 0, 1, 2, drain=(2,), health_monitor=monitor, tags=TAGS)
    ref = lbaas.client.create(same, client_token=str(uuid4())).ref
    lbaas.settle()
    # With a monitor, members' health moves with the checks whatever the update does.
    before = _answer(lbaas.client.get(ref), with_health=monitor is None)

    lbaas.client.update(ref, same)
    lbaas.settle()

    assert _answer(lbaas.client.get(ref), with_health=monitor is None) == before
    assert before["provisioning_status"] is ProvisioningStatus.ACTIVE


def _answer(state: ProviderLoadBalancer, *, with_health: bool) -> dict[str, object]:
    answer = {
        "ref": state.ref,
        "provisioning_status": state.provisioning_status,
        "vip_address": state.vip_address,
        "client_token": state.client_token,
        "installation": state.installation,
        "health_monitor": state.health_monitor,
        "members": sorted((m.address, m.port, m.operating_status if with_health else None) for m in state.members),
    }
    if with_health:
        answer["operating_status"] = state.operating_status
    return answer


# -- issue 12: what runs, plans and drift -------------------------------------------------------


def _rich_spec(lbaas: Harness, *indexes: int, algorithm: str = "ROUND_ROBIN", monitor=MONITOR):
    """A spec with every setting the provider can carry: weights where it has them, a
    drained member, a monitor."""
    weights = {} if lbaas.client.name in REFUSE_WEIGHTS else {indexes[0]: 3}
    return lbaas.spec(
        "shop", *indexes, algorithm=algorithm, weights=weights, drain=indexes[-1:], health_monitor=monitor
    )


def _drift(lbaas: Harness, ref: str, spec) -> list[str]:
    running = lbaas.client.get(ref).running
    assert running is not None, "an adapter reports what it runs"
    return [change.field for change in spec_changes(lbaas.client.as_running(spec), running)]


def test_what_runs_is_what_was_applied(lbaas):
    first = _rich_spec(lbaas, 0, 1)
    ref = lbaas.client.create(first, client_token=str(uuid4())).ref
    lbaas.settle()
    assert _drift(lbaas, ref, first) == []

    second = _rich_spec(lbaas, 1, 2, algorithm="LEAST_CONNECTIONS", monitor=None)
    lbaas.client.update(ref, second)
    lbaas.settle()
    assert _drift(lbaas, ref, second) == []
    assert _drift(lbaas, ref, first) != [], "the comparison sees a different spec"


def test_a_plan_writes_nothing(lbaas):
    spec = _rich_spec(lbaas, 0, 1)
    planned = lbaas.client.plan(None, spec)
    assert planned.operations, "a create has something to do"
    lbaas.settle()
    assert lbaas.client.get_list() == []

    ref = lbaas.client.create(spec, client_token=str(uuid4())).ref
    lbaas.settle()
    before = _answer(lbaas.client.get(ref), with_health=False)
    changed = _rich_spec(lbaas, 1, 2, algorithm="LEAST_CONNECTIONS", monitor=CHANGED_MONITOR)
    assert lbaas.client.plan(ref, changed).operations, "a change has something to do"
    lbaas.settle()

    assert _answer(lbaas.client.get(ref), with_health=False) == before
    assert _drift(lbaas, ref, spec) == []


def test_a_plan_then_an_apply_gives_the_planned_state(lbaas):
    spec = _rich_spec(lbaas, 0, 1)
    ref = lbaas.client.create(spec, client_token=str(uuid4())).ref
    lbaas.settle()
    assert lbaas.client.plan(ref, spec).operations == (), "the spec in force plans nothing"

    changed = _rich_spec(lbaas, 1, 2, algorithm="LEAST_CONNECTIONS", monitor=CHANGED_MONITOR)
    assert lbaas.client.plan(ref, changed).operations
    lbaas.client.update(ref, changed)
    lbaas.settle()

    assert _drift(lbaas, ref, changed) == []
    assert lbaas.client.plan(ref, changed).operations == (), "once applied, nothing is left to do"


def test_drift_made_at_the_provider_is_seen_and_an_update_repairs_it(lbaas):
    spec = _rich_spec(lbaas, 0, 1, 2)
    ref = lbaas.client.create(spec, client_token=str(uuid4())).ref
    lbaas.settle()
    assert lbaas.tamper is not None, "every adapter's harness can change a load balancer out of band"

    changed = lbaas.tamper(ref)

    assert changed
    assert set(_drift(lbaas, ref, spec)) == changed
    assert lbaas.client.plan(ref, spec).operations, "the repair has something to do"
    lbaas.client.update(ref, spec)
    lbaas.settle()
    assert _drift(lbaas, ref, spec) == []
