"""Load balancers belong to teams: who may create them where, within which quotas,
and who sees and changes them, against in-memory fakes."""

import copy
from uuid import uuid4

import pytest

from accounts.application.payloads import UpdateTeam
from accounts.domain.errors import NotAllowed, QuotaExceeded
from accounts.domain.model import Role
from loadbalancers.application.payloads import CreateLoadBalancer, LoadBalancerQuery, UpdateLoadBalancer
from loadbalancers.domain.errors import LoadBalancerNotFound, NameTaken
from loadbalancers.domain.model import ProvisioningStatus
from portal.kernel.actors import Actor
from portal.kernel.errors import PermissionDenied, ValidationFailed


def create(portal, actor, name="shop", servers=None, **fields):
    if servers is None:
        servers = [portal.add_server()]
    return portal.load_balancers.create_one(actor, CreateLoadBalancer(name=name, servers=servers, **fields))


def live(portal, team_id):
    return sorted(
        lb.name
        for lb in portal.uow.load_balancers.rows.values()
        if lb.team_id == team_id and lb.provisioning_status is not ProvisioningStatus.DELETED
    )


@pytest.fixture
def web(portal):
    """Team "web": alice owns it, carol is a member, dave a viewer."""
    portal.usernames[6] = "dave"
    return portal.add_team("web", {1: Role.OWNER, 5: Role.MEMBER, 6: Role.VIEWER})


@pytest.fixture
def people(portal, web, ops, auditor):
    return {
        "owner": portal.actor(1),
        "member": portal.actor(5),
        "viewer": portal.actor(6),
        "outsider": portal.actor(2),  # bob, in his own team only
        "ops": ops,
        "auditor": auditor,
    }


class TestWhichTeam:
    def test_the_only_team_where_one_may_create_is_the_default(self, portal, alice):
        view = create(portal, alice)

        assert (view.team, view.team_id, view.created_by) == ("alice", 1, "alice")

    def test_teams_where_one_only_views_do_not_count(self, portal):
        portal.add_team("web", {1: Role.VIEWER, 2: Role.OWNER})
        alice = portal.actor(1)

        assert create(portal, alice).team == "alice"

    def test_with_several_teams_the_team_must_be_named(self, portal, web):
        alice = portal.actor(1)

        with pytest.raises(ValidationFailed) as failed:
            create(portal, alice)

        assert failed.value.status_code == 400
        assert set(failed.value.details) == {"team"}
        assert "alice, web" in failed.value.details["team"][0]
        assert portal.uow.load_balancers.rows == {}

    def test_the_team_named_is_used(self, portal, web):
        alice, carol = portal.actor(1), portal.actor(5)

        assert create(portal, alice, "a", team="web").team == "web"
        assert create(portal, alice, "b", team="alice").team == "alice"
        view = create(portal, carol, "c", team="web")
        assert (view.team, view.team_id, view.created_by) == ("web", web, "carol")
        assert portal.stored(view.id).created_by_id == 5

    def test_a_viewer_in_one_team_is_told_the_role_needed(self, portal, web):
        dave = portal.actor(6)

        for team in (None, "web"):
            with pytest.raises(NotAllowed) as denied:
                create(portal, dave, team=team)
            assert denied.value.status_code == 403
            assert denied.value.details == {"team": "web", "role": "viewer", "needed": "member"}
        assert portal.uow.load_balancers.rows == {}

    def test_a_viewer_in_several_teams_is_told_none_allows_it(self, portal, web):
        portal.add_team("api", {6: Role.VIEWER, 2: Role.OWNER})
        dave = portal.actor(6)

        with pytest.raises(ValidationFailed) as failed:
            create(portal, dave)

        assert "no team where you may create" in failed.value.details["team"][0]

    @pytest.mark.parametrize("who", ["nobody", "ops"])
    def test_someone_in_no_team_must_name_one(self, portal, request, who):
        actor = Actor(user_id=7, username="nobody") if who == "nobody" else request.getfixturevalue(who)

        with pytest.raises(ValidationFailed) as failed:
            create(portal, actor)

        assert "no team where you may create" in failed.value.details["team"][0]

    def test_a_team_one_is_not_in_is_unknown_whether_it_exists_or_not(self, portal, bob, web):
        failures = {}
        for team in ("web", "alice", "nope"):
            with pytest.raises(ValidationFailed) as failed:
                create(portal, bob, team=team)
            failures[team] = failed.value

        for team, failure in failures.items():
            assert failure.details == {"team": [f"you are in no team named {team!r}"]}
            assert failure.message == f"team: you are in no team named {team!r}"
        assert portal.uow.load_balancers.rows == {}

    def test_operations_create_in_any_team_they_name(self, portal, ops, web):
        view = create(portal, ops, team="web")

        assert (view.team, view.created_by) == ("web", "ops")

    def test_read_only_operations_staff_create_nowhere(self, portal, auditor, web):
        with pytest.raises(PermissionDenied) as denied:
            create(portal, auditor, team="web")
        assert not isinstance(denied.value, NotAllowed)

        with pytest.raises(ValidationFailed):
            create(portal, auditor, team="nope")
        assert portal.uow.load_balancers.rows == {}


class TestLoadBalancerQuota:
    @pytest.fixture
    def small(self, portal):
        """Team "small": carol owns it; two live load balancers at most."""
        return portal.add_team("small", {5: Role.OWNER}, quota_load_balancers=2)

    @pytest.fixture
    def carol(self, portal, small):
        return portal.actor(5)

    def test_one_more_than_the_quota_is_refused_with_the_numbers(self, portal, carol, small):
        create(portal, carol, "one")
        create(portal, carol, "two")
        sent = list(portal.scheduler.sent)

        with pytest.raises(QuotaExceeded) as exceeded:
            create(portal, carol, "three")

        assert exceeded.value.status_code == 403
        assert exceeded.value.details == {
            "team": "small",
            "limit": "load_balancers",
            "quota": 2,
            "usage": 2,
            "requested": 1,
        }
        assert live(portal, small) == ["one", "two"]
        assert portal.scheduler.sent == sent

    def test_a_taken_name_is_still_the_answer_when_the_quota_is_also_full(self, portal, carol, small):
        create(portal, carol, "one")
        create(portal, carol, "two")

        with pytest.raises(NameTaken):
            create(portal, carol, "two")

        with pytest.raises(QuotaExceeded):
            create(portal, carol, "three")

    def test_a_create_that_goes_through_does_not_look_its_name_up_first(self, portal, carol, small, monkeypatch):
        asked = []
        taken = portal.uow.load_balancers.name_taken
        monkeypatch.setattr(portal.uow.load_balancers, "name_taken", lambda name: asked.append(name) or taken(name))

        create(portal, carol, "one")
        with pytest.raises(ValidationFailed) as failed:
            create(portal, carol, "one", listener_port=0)

        assert asked == ["one"]  # only for the refused one, to report the name with the port
        assert set(failed.value.details) == {"name", "listener_port"}

    def test_deleted_load_balancers_do_not_count(self, portal, carol, small):
        create(portal, carol, "one")
        two = create(portal, carol, "two")
        portal.settle()
        portal.load_balancers.delete_one(carol, two.id)
        portal.settle()
        assert portal.stored(two.id).provisioning_status is ProvisioningStatus.DELETED

        create(portal, carol, "three")

        assert live(portal, small) == ["one", "three"]

    def test_load_balancers_being_deleted_still_count(self, portal, carol, small):
        create(portal, carol, "one")
        two = create(portal, carol, "two")
        portal.settle()
        portal.load_balancers.delete_one(carol, two.id)

        with pytest.raises(QuotaExceeded):
            create(portal, carol, "three")

    def test_failed_load_balancers_count(self, portal, carol, small):
        one, two = create(portal, carol, "one"), create(portal, carol, "two")
        portal.settle(error="boom")
        assert {portal.stored(lb.id).provisioning_status for lb in (one, two)} == {ProvisioningStatus.ERROR}

        with pytest.raises(QuotaExceeded) as exceeded:
            create(portal, carol, "three")

        assert exceeded.value.details["usage"] == 2

    def test_a_quota_of_zero_allows_none(self, portal, ops):
        portal.add_team("frozen", {5: Role.OWNER}, quota_load_balancers=0)

        with pytest.raises(QuotaExceeded) as exceeded:
            create(portal, portal.actor(5), team="frozen")

        assert (exceeded.value.details["quota"], exceeded.value.details["usage"]) == (0, 0)

    def test_without_a_quota_of_its_own_a_team_has_the_default(self, portal, alice):
        server = portal.add_server()
        limit = portal.quota_defaults.load_balancers
        for n in range(limit):
            create(portal, alice, f"lb-{n}", servers=[server])

        with pytest.raises(QuotaExceeded) as exceeded:
            create(portal, alice, "one-more", servers=[server])

        assert exceeded.value.details["quota"] == limit

    def test_each_team_has_its_own_count(self, portal, small):
        portal.add_team("other", {5: Role.OWNER}, quota_load_balancers=1)
        carol = portal.actor(5)
        create(portal, carol, "one", team="small")
        create(portal, carol, "two", team="small")

        view = create(portal, carol, "three", team="other")

        assert view.team == "other"

    def test_operations_raise_the_quota(self, portal, carol, small, ops):
        create(portal, carol, "one")
        create(portal, carol, "two")

        portal.teams.update_one(ops, "small", UpdateTeam(quota_load_balancers=3))

        assert create(portal, carol, "three").team == "small"

    def test_operations_are_bound_by_the_quota_too(self, portal, carol, small, ops):
        create(portal, carol, "one")
        create(portal, carol, "two")

        with pytest.raises(QuotaExceeded):
            create(portal, ops, "three", team="small")


class TestMembersQuota:
    @pytest.fixture
    def pair(self, portal):
        """Team "pair": carol owns it; two members per load balancer at most."""
        portal.add_team("pair", {5: Role.OWNER}, quota_members=2)
        return portal.actor(5)

    def test_a_load_balancer_with_more_servers_than_the_quota_is_refused(self, portal, pair):
        servers = [portal.add_server() for _ in range(3)]

        with pytest.raises(QuotaExceeded) as exceeded:
            create(portal, pair, servers=servers)

        assert exceeded.value.details == {"team": "pair", "limit": "members", "quota": 2, "usage": 0, "requested": 3}
        assert portal.uow.load_balancers.rows == {}

        assert len(create(portal, pair, servers=servers[:2]).servers) == 2

    def test_an_update_to_more_servers_than_the_quota_is_refused_and_changes_nothing(self, portal, pair):
        servers = [portal.add_server() for _ in range(3)]
        view = create(portal, pair, servers=servers[:2])
        portal.settle()
        before = copy.deepcopy(portal.stored(view.id))

        with pytest.raises(QuotaExceeded) as exceeded:
            portal.load_balancers.update_one(pair, view.id, UpdateLoadBalancer(servers=servers))

        assert exceeded.value.details["limit"] == "members"
        assert exceeded.value.details["requested"] == 3
        assert portal.stored(view.id) == before
        assert portal.scheduler.sent == []

        updated = portal.load_balancers.update_one(pair, view.id, UpdateLoadBalancer(servers=servers[1:]))
        assert [s.id for s in updated.servers] == servers[1:]

    def test_a_quota_lowered_later_stops_adding_but_not_other_changes(self, portal, pair, ops):
        servers = [portal.add_server() for _ in range(2)]
        view = create(portal, pair, servers=servers)
        portal.settle()
        portal.teams.update_one(ops, "pair", UpdateTeam(quota_members=1))

        updated = portal.load_balancers.update_one(pair, view.id, UpdateLoadBalancer(description="kept"))
        assert updated.description == "kept"
        portal.settle()

        with pytest.raises(QuotaExceeded):
            portal.load_balancers.update_one(pair, view.id, UpdateLoadBalancer(servers=list(reversed(servers))))
        assert portal.load_balancers.update_one(pair, view.id, UpdateLoadBalancer(servers=servers[:1])).servers

    def test_the_default_members_quota_applies(self, portal, alice):
        servers = [portal.add_server() for _ in range(portal.quota_defaults.members + 1)]

        with pytest.raises(QuotaExceeded) as exceeded:
            create(portal, alice, servers=servers)

        assert exceeded.value.details["quota"] == portal.quota_defaults.members
        assert len(create(portal, alice, servers=servers[:-1]).servers) == portal.quota_defaults.members


class TestVisibility:
    """One load balancer of team "web", and what each kind of person may do with it."""

    SEES = ["owner", "member", "viewer", "ops", "auditor"]
    CHANGES = ["owner", "member", "ops"]

    @pytest.fixture
    def lb(self, portal, people):
        view = create(portal, people["member"], "web-shop", team="web")
        create(portal, portal.actor(2), "bobs")  # one of bob's, in his own team
        portal.settle()
        return view

    @pytest.fixture
    def failed_lb(self, portal, people):
        view = create(portal, people["member"], "web-shop", team="web")
        portal.settle(error="boom")
        return view

    @pytest.mark.parametrize("who", SEES)
    def test_everyone_in_the_team_and_operations_see_it(self, portal, people, lb, who):
        assert portal.load_balancers.get_one(people[who], lb.id).name == "web-shop"

    def test_outsiders_do_not(self, portal, people, lb):
        with pytest.raises(LoadBalancerNotFound) as missing:
            portal.load_balancers.get_one(people["outsider"], lb.id)

        assert missing.value.status_code == 404

    @pytest.mark.parametrize(
        ("who", "names"),
        [
            ("owner", ["web-shop"]),
            ("member", ["web-shop"]),
            ("viewer", ["web-shop"]),
            ("outsider", ["bobs"]),
            ("ops", ["bobs", "web-shop"]),
            ("auditor", ["bobs", "web-shop"]),
        ],
    )
    def test_the_list_holds_the_load_balancers_of_ones_teams(self, portal, people, lb, who, names):
        page = portal.load_balancers.get_plist(people[who], LoadBalancerQuery())

        assert sorted(view.name for view in page.items) == names
        assert page.total == len(names)

    def test_someone_in_no_team_lists_nothing(self, portal, lb):
        page = portal.load_balancers.get_plist(Actor(user_id=7, username="nobody"), LoadBalancerQuery())

        assert (page.items, page.total) == ([], 0)

    def test_the_caller_cannot_widen_the_list(self, portal, people, lb):
        query = LoadBalancerQuery(team_ids=None, team="bob")

        assert portal.load_balancers.get_plist(people["viewer"], query).items == []

    @pytest.mark.parametrize(
        ("who", "team", "names"),
        [
            ("owner", "web", ["web-shop"]),
            ("owner", "alice", []),
            ("owner", "bob", []),
            ("outsider", "web", []),
            ("outsider", "bob", ["bobs"]),
            ("ops", "bob", ["bobs"]),
            ("auditor", "web", ["web-shop"]),
            ("ops", "nope", []),
        ],
    )
    def test_the_team_filter(self, portal, people, lb, who, team, names):
        page = portal.load_balancers.get_plist(people[who], LoadBalancerQuery(team=team))

        assert [view.name for view in page.items] == names

    @pytest.mark.parametrize("who", CHANGES)
    def test_members_owners_and_operations_change_it(self, portal, people, lb, who):
        view = portal.load_balancers.update_one(people[who], lb.id, UpdateLoadBalancer(description=who))

        assert (view.description, view.provisioning_status) == (who, "PENDING_UPDATE")

    @pytest.mark.parametrize("who", CHANGES)
    def test_members_owners_and_operations_delete_it(self, portal, people, lb, who):
        view = portal.load_balancers.delete_one(people[who], lb.id)

        assert view.provisioning_status == "PENDING_DELETE"

    @pytest.mark.parametrize("who", CHANGES)
    def test_members_owners_and_operations_retry_it(self, portal, people, failed_lb, who):
        view = portal.load_balancers.retry(people[who], failed_lb.id)

        assert view.provisioning_status == "PENDING_UPDATE"  # the provider had it: its spec is applied again
        assert view.error_reason is None

    ACTIONS = {
        "update": lambda portal, actor, lb_id: portal.load_balancers.update_one(
            actor, lb_id, UpdateLoadBalancer(description="mine")
        ),
        "delete": lambda portal, actor, lb_id: portal.load_balancers.delete_one(actor, lb_id),
        "retry": lambda portal, actor, lb_id: portal.load_balancers.retry(actor, lb_id),
    }

    @pytest.fixture
    def target(self, request, portal, people):
        """An ACTIVE load balancer of web's for update and delete, an ERROR one for retry."""
        view = create(portal, people["member"], "web-shop", team="web")
        portal.settle(error="boom" if request.param == "retry" else None)
        return request.param, view.id

    @pytest.mark.parametrize("target", ["update", "delete", "retry"], indirect=True)
    def test_a_viewer_is_told_the_role_needed(self, portal, people, target):
        action, lb_id = target
        before = copy.deepcopy(portal.stored(lb_id))

        with pytest.raises(NotAllowed) as denied:
            self.ACTIONS[action](portal, people["viewer"], lb_id)

        assert denied.value.status_code == 403
        assert denied.value.details == {"team": "web", "role": "viewer", "needed": "member"}
        assert portal.stored(lb_id) == before

    @pytest.mark.parametrize("target", ["update", "delete", "retry"], indirect=True)
    def test_an_outsider_is_told_it_does_not_exist(self, portal, people, target):
        action, lb_id = target
        before = copy.deepcopy(portal.stored(lb_id))

        with pytest.raises(LoadBalancerNotFound):
            self.ACTIONS[action](portal, people["outsider"], lb_id)

        assert portal.stored(lb_id) == before

    @pytest.mark.parametrize("target", ["update", "delete", "retry"], indirect=True)
    def test_read_only_operations_staff_are_told_what_they_lack(self, portal, people, target):
        action, lb_id = target
        before = copy.deepcopy(portal.stored(lb_id))

        with pytest.raises(PermissionDenied) as denied:
            self.ACTIONS[action](portal, people["auditor"], lb_id)

        assert not isinstance(denied.value, NotAllowed)
        assert "permission to change" in denied.value.message
        assert portal.stored(lb_id) == before

    @pytest.mark.parametrize("action", ["update", "delete", "retry"])
    def test_an_unknown_load_balancer_is_not_found_for_everyone(self, portal, people, action):
        for who in ("owner", "viewer", "outsider", "ops", "auditor"):
            with pytest.raises(LoadBalancerNotFound):
                self.ACTIONS[action](portal, people[who], uuid4())

    def test_a_member_who_leaves_loses_sight_of_it(self, portal, people, lb):
        carol = people["member"]
        portal.teams.remove_member(carol, "web", "carol")

        with pytest.raises(LoadBalancerNotFound):
            portal.load_balancers.get_one(portal.actor(5), lb.id)
        assert portal.load_balancers.get_plist(portal.actor(5), LoadBalancerQuery()).items == []

    def test_a_member_made_viewer_may_no_longer_change_it(self, portal, people, lb):
        portal.teams.change_role(people["owner"], "web", "carol", "viewer")

        with pytest.raises(NotAllowed):
            portal.load_balancers.delete_one(portal.actor(5), lb.id)
