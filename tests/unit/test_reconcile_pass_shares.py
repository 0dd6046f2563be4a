"""What a reconcile pass over many load balancers saves, and what it must not change:
members a report leaves as they are kept as they are (no new ones), the spec of each
member made once for the pass, and the garbage collector restarted whatever happens."""

import gc
from uuid import uuid4

import pytest

from loadbalancers.application.lbaas import MemberSpec
from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.application.provisioning import Specs, spec_of
from loadbalancers.domain.members import REASON_MAX_LENGTH, AdminState, Member, Observed, observed
from loadbalancers.domain.model import Algorithm, ListenerProtocol, LoadBalancer
from loadbalancers.domain.statuses import OperatingStatus
from servers.domain.model import Server

ONLINE, OFFLINE, ERROR, DRAINING = (
    OperatingStatus.ONLINE,
    OperatingStatus.OFFLINE,
    OperatingStatus.ERROR,
    OperatingStatus.DRAINING,
)


class TestObserved:
    def test_a_report_that_changes_nothing_gives_back_the_same_members(self):
        members = (
            Member(1, operating_status=ONLINE),
            Member(2, admin_state=AdminState.DRAIN, operating_status=DRAINING, status_reason="down"),
            Member(3, operating_status=ERROR, status_reason="check failed"),
        )
        reported = {1: Observed(ONLINE), 2: Observed(ERROR, "down"), 3: Observed(ERROR, "check failed")}

        assert observed(members, reported) is members

    def test_only_the_members_it_changes_are_made_anew(self):
        members = (Member(1, weight=3, operating_status=ONLINE), Member(2, operating_status=ONLINE))

        found = observed(members, {1: Observed(ONLINE), 2: Observed(ERROR, "check failed")})

        assert found == (
            Member(1, weight=3, operating_status=ONLINE),
            Member(2, operating_status=ERROR, status_reason="check failed"),
        )
        assert found[0] is members[0]

    @pytest.mark.parametrize(
        ("member", "reported", "expected"),
        [
            # Not reported: OFFLINE, and why.
            (
                Member(1, operating_status=ONLINE),
                {},
                Member(1, operating_status=OFFLINE, status_reason="not reported by the provider"),
            ),
            # In drain: DRAINING whatever its checks say, with their reason.
            (
                Member(1, admin_state=AdminState.DRAIN, operating_status=ONLINE),
                {1: Observed(ERROR, "x")},
                Member(1, admin_state=AdminState.DRAIN, operating_status=DRAINING, status_reason="x"),
            ),
            # A reason gone is a change; an empty one is none.
            (
                Member(1, operating_status=ERROR, status_reason="old"),
                {1: Observed(ERROR)},
                Member(1, operating_status=ERROR),
            ),
            (
                Member(1, operating_status=ERROR, status_reason=""),
                {1: Observed(ERROR, "")},
                Member(1, operating_status=ERROR),
            ),
            # A reason is cut to what a member keeps.
            (
                Member(1, operating_status=ERROR, status_reason="r" * REASON_MAX_LENGTH),
                {1: Observed(ERROR, "r" * (REASON_MAX_LENGTH + 9))},
                Member(1, operating_status=ERROR, status_reason="r" * REASON_MAX_LENGTH),
            ),
            # A status that is only equal to the enum's (a plain string) is made the enum.
            (Member(1, operating_status="ONLINE"), {1: Observed(ONLINE)}, Member(1, operating_status=ONLINE)),  # type: ignore[arg-type]
        ],
    )
    def test_each_member_reads_as_before(self, member, reported, expected):
        (found,) = observed((member,), reported)

        assert found == expected
        assert type(found.operating_status) is OperatingStatus
        assert (found is member) == (
            member.operating_status is expected.operating_status and member.status_reason == expected.status_reason
        )

    def test_members_given_as_a_list_come_back_as_a_tuple(self):
        members = [Member(1, operating_status=ONLINE)]

        assert observed(members, {1: Observed(ONLINE)}) == tuple(members)
        assert type(observed(members, {1: Observed(ONLINE)})) is tuple


def lb_of(*members: Member, name: str = "web") -> LoadBalancer:
    return LoadBalancer(
        id=uuid4(),
        name=name,
        team_id=1,
        created_by_id=1,
        members=members,
        listener_protocol=ListenerProtocol.HTTP,
        listener_port=80,
        algorithm=Algorithm.ROUND_ROBIN,
        provider="sandbox",
        tags=("env=prod",),
    )


class TestSpecs:
    @pytest.fixture
    def servers(self):
        return {n: Server(id=n, name=f"web-{n}", address=f"10.0.0.{n}", port=8080) for n in (1, 2, 3)}

    def test_each_spec_is_the_one_spec_of_makes(self, servers):
        shared = Member(1, weight=3)
        lbs = [
            lb_of(shared, Member(2, admin_state=AdminState.DRAIN)),
            lb_of(Member(3), shared, name="api"),
            lb_of(Member(9), Member(2), name="gone-server"),  # server 9 is not among them: left out
            lb_of(name="empty"),
        ]
        specs = Specs(servers)

        for lb in lbs:
            assert specs.of(lb, project="p") == spec_of(lb, servers, project="p")
            assert specs.of(lb) == spec_of(lb, servers)
        assert specs.of(lbs[2]).members == (MemberSpec("10.0.0.2", 8080),)

    def test_a_member_shared_by_load_balancers_has_one_spec(self, servers):
        shared = Member(1, weight=3)
        specs = Specs(servers)

        first = specs.of(lb_of(shared, Member(2)))
        second = specs.of(lb_of(Member(3), shared, name="api"))

        assert first.members[0] is second.members[1]
        assert first.members[0] == MemberSpec("10.0.0.1", 8080, weight=3, admin_state="enabled")

    def test_equal_members_that_are_other_objects_get_equal_specs(self, servers):
        specs = Specs(servers)

        first = specs.of(lb_of(Member(1, weight=2)))
        second = specs.of(lb_of(Member(1, weight=2, admin_state=AdminState.DRAIN)))

        assert first.members == (MemberSpec("10.0.0.1", 8080, weight=2, admin_state="enabled"),)
        assert second.members == (MemberSpec("10.0.0.1", 8080, weight=2, admin_state="drain"),)


@pytest.fixture
def collector_on():
    """The collector on for the test, and as it was after it."""
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


class TestCollector:
    @pytest.fixture
    def active(self, portal, alice):
        servers = [portal.add_server(), portal.add_server()]
        lb_id = portal.load_balancers.create_one(alice, CreateLoadBalancer(name="shop", servers=servers)).id
        portal.settle()
        return lb_id

    def test_paused_while_comparing_with_the_provider_and_restarted_after(
        self, portal, active, collector_on, monkeypatch
    ):
        seen = []
        listing = portal.lbaas.get_list

        def get_list():
            seen.append(gc.isenabled())
            return listing()

        monkeypatch.setattr(portal.lbaas, "get_list", get_list)

        report = portal.reconciliation.reconcile()

        assert (report.failed, report.unreachable) == ([], [])
        assert seen == [False]
        assert gc.isenabled()

    def test_restarted_when_the_pass_fails(self, portal, active, collector_on, monkeypatch):
        def broken():
            raise RuntimeError("out of memory")

        monkeypatch.setattr(portal.lbaas, "get_list", broken)

        with pytest.raises(RuntimeError):
            portal.reconciliation.reconcile()

        assert gc.isenabled()

    def test_left_paused_when_something_else_paused_it(self, portal, active, collector_on):
        gc.disable()

        portal.reconciliation.reconcile()

        assert not gc.isenabled()
