"""The aggregate: its state machine, every status against every action, and the one
place that judges a new load balancer."""

import copy
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from loadbalancers.domain import events
from loadbalancers.domain.errors import InvalidTransition, LoadBalancerPending, NameTaken, ServerNotEligible
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, ProvisioningStatus, ServerProblem
from portal.kernel.errors import ValidationFailed

NOW = datetime(2026, 1, 1, tzinfo=UTC)
S = ProvisioningStatus

ACTIONS = {
    "update": lambda lb: lb.request_update(now=NOW, description="x"),
    "delete": lambda lb: lb.request_delete(now=NOW),
    "activate": lambda lb: lb.mark_active(vip_address="192.0.2.1", reported={}),
    "fail": lambda lb: lb.mark_error("broken"),
    "finish_delete": lambda lb: lb.mark_deleted(),
    "record_ref": lambda lb: lb.record_provider_ref("ref-1", now=NOW),
    "submit": lambda lb: lb.mark_submitted(NOW),
    "check": lambda lb: lb.mark_checked(NOW),
    "refresh": lambda lb: lb.observe({}),
    "lose": lambda lb: lb.mark_lost("gone"),
    "retry": lambda lb: lb.request_retry(now=NOW),
}

P, N = LoadBalancerPending, InvalidTransition  # pending: wait; not allowed in this state
# status before -> action -> status after (or the error it raises)
TABLE = {
    S.PENDING_CREATE: {
        "update": P,
        "delete": P,
        "activate": S.ACTIVE,
        "fail": S.ERROR,
        "finish_delete": P,
        "record_ref": S.PENDING_CREATE,
        "submit": S.PENDING_CREATE,
        "check": S.PENDING_CREATE,
        "refresh": P,
        "lose": P,
        "retry": P,
    },
    S.ACTIVE: {
        "update": S.PENDING_UPDATE,
        "delete": S.PENDING_DELETE,
        "activate": N,
        "fail": N,
        "finish_delete": N,
        "record_ref": N,
        "submit": N,
        "check": N,
        "refresh": S.ACTIVE,
        "lose": S.ERROR,
        "retry": N,
    },
    S.PENDING_UPDATE: {
        "update": P,
        "delete": P,
        "activate": S.ACTIVE,
        "fail": S.ERROR,
        "finish_delete": P,
        "record_ref": P,
        "submit": S.PENDING_UPDATE,
        "check": S.PENDING_UPDATE,
        "refresh": P,
        "lose": P,
        "retry": P,
    },
    S.PENDING_DELETE: {
        "update": P,
        "delete": P,
        "activate": P,
        "fail": S.ERROR,
        "finish_delete": S.DELETED,
        "record_ref": S.PENDING_DELETE,
        "submit": S.PENDING_DELETE,
        "check": S.PENDING_DELETE,
        "refresh": P,
        "lose": P,
        "retry": P,
    },
    S.ERROR: {
        "update": N,
        "delete": S.PENDING_DELETE,
        "activate": N,
        "fail": N,
        "finish_delete": N,
        "record_ref": N,
        "submit": N,
        "check": N,
        "refresh": N,
        "lose": N,
        "retry": S.PENDING_CREATE,
    },
    S.DELETED: dict.fromkeys(ACTIONS, N),
}


def new_lb() -> LoadBalancer:
    return LoadBalancer.new(
        id=uuid4(),
        name="shop",
        team_id=1,
        created_by_id=1,
        members=[1, 2],
        listener_protocol="HTTP",
        listener_port=80,
        algorithm="ROUND_ROBIN",
        provider="fake",
        description="",
        now=NOW,
    )


def lb_in(status: ProvisioningStatus) -> LoadBalancer:
    lb = new_lb()
    lb.provisioning_status = status
    lb.pull_events()
    return lb


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [(before, action, after) for before, row in TABLE.items() for action, after in row.items()],
)
def test_transition(before, action, after):
    lb = lb_in(before)

    if isinstance(after, type):
        snapshot = copy.deepcopy(lb)
        with pytest.raises(after) as refused:
            ACTIONS[action](lb)
        assert refused.value.status_code == 409
        assert lb == snapshot  # a refused action changes nothing
    else:
        ACTIONS[action](lb)
        assert lb.provisioning_status is after


def test_every_status_and_action_is_in_the_table():
    assert set(TABLE) == set(ProvisioningStatus)
    assert all(set(row) == set(ACTIONS) for row in TABLE.values())


def test_each_request_and_outcome_records_its_event():
    lb = new_lb()
    lb.mark_active(vip_address="192.0.2.9", reported={})
    lb.request_update(now=NOW, members=[2])
    lb.mark_error("no capacity")
    lb.request_delete(now=NOW)
    lb.mark_deleted()

    assert [type(e) for e in lb.pull_events()] == [
        events.CreationRequested,
        events.BecameActive,
        events.UpdateRequested,
        events.ProvisioningFailed,
        events.DeletionRequested,
        events.Deleted,
    ]
    assert lb.pull_events() == []


def test_entering_and_leaving_pending_keeps_the_bookkeeping_right():
    lb = lb_in(S.ACTIVE)
    lb.request_update(now=NOW, algorithm="LEAST_CONNECTIONS")
    assert (lb.pending_since, lb.checked_at) == (NOW, None)
    lb.mark_checked(NOW)
    lb.mark_error("x" * 5000)

    assert (lb.pending_since, lb.checked_at) == (None, None)
    assert lb.operating_status is OperatingStatus.ERROR
    assert len(lb.error_reason) == 1000


def test_a_deleted_load_balancer_releases_its_members_and_vip():
    lb = lb_in(S.PENDING_DELETE)
    lb.vip_address = "192.0.2.1"

    lb.mark_deleted()

    assert (lb.server_ids, lb.vip_address, lb.operating_status) == ((), None, OperatingStatus.OFFLINE)


def _new(**changes):  # type: ignore[no-untyped-def]
    fields = {
        "id": uuid4(),
        "name": "shop",
        "team_id": 1,
        "created_by_id": 1,
        "members": [1, 2],
        "listener_protocol": "HTTP",
        "listener_port": 80,
        "algorithm": "ROUND_ROBIN",
        "provider": "fake",
        "description": "",
        "now": NOW,
    }
    return LoadBalancer.new(**{**fields, **changes})


def test_the_facts_are_looked_up_only_for_input_they_can_concern():
    asked: list[str] = []

    def name_taken(name: str) -> bool:
        asked.append("name")
        return True

    def server_problems(server_ids):  # type: ignore[no-untyped-def]
        asked.append("servers")
        return []

    with pytest.raises(ValidationFailed) as failed:
        _new(name="Not\x00a name", members=[1, 1], name_taken=name_taken, server_problems=server_problems)

    assert asked == []
    assert set(failed.value.details) == {"name", "servers"}


def test_every_problem_comes_back_at_once_and_each_alone_keeps_its_own_error():
    def taken(name: str) -> bool:
        return True

    def problems(server_ids):  # type: ignore[no-untyped-def]
        return [ServerProblem(2, "server 2 (web-2) is DOWN; only OK servers may be used")]

    with pytest.raises(NameTaken):
        _new(name_taken=taken)
    with pytest.raises(ServerNotEligible) as not_eligible:
        _new(server_problems=problems)
    assert not_eligible.value.details["server_ids"] == [2]

    with pytest.raises(ValidationFailed) as failed:
        _new(listener_port=0, provider="other", providers=["fake"], name_taken=taken, server_problems=problems)
    assert set(failed.value.details) == {"listener_port", "provider", "name", "servers"}
    assert failed.value.name == "ValidationError"


def test_an_update_judges_new_members_with_the_facts_too():
    lb = lb_in(ProvisioningStatus.ACTIVE)

    with pytest.raises(ServerNotEligible):
        lb.request_update(
            now=NOW, members=[3], server_problems=lambda ids: [ServerProblem(3, "server 3 does not exist")]
        )
    assert (lb.server_ids, lb.provisioning_status) == ((1, 2), ProvisioningStatus.ACTIVE)
