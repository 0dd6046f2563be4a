"""Teams, roles and quotas: the domain rules, and the team use cases against in-memory fakes."""

import copy

import pytest

from accounts.application.payloads import AddMember, CreateTeam, TeamQuery, UpdateTeam
from accounts.domain.errors import (
    AlreadyMember,
    LastOwner,
    MemberNotFound,
    NotAllowed,
    QuotaExceeded,
    TeamNotFound,
    TeamSlugTaken,
    UnknownUser,
)
from accounts.domain.model import QUOTA_MAX, Membership, Quotas, Role, Team
from loadbalancers.application.payloads import CreateLoadBalancer
from portal.kernel.errors import PermissionDenied, ValidationFailed

DEFAULTS = Quotas(load_balancers=20, members=50)


def team_with(*members):
    """A stored-looking team with these (user id, username, role) members."""
    team = Team.new(slug="web", name="Web")
    team.id = 7
    team.memberships = [Membership(user_id, username, role) for user_id, username, role in members]
    return team


def roles_in(portal, slug):
    team = next(t for t in portal.uow.teams.rows.values() if t.slug == slug)
    return {m.username: m.role.value for m in team.memberships}


@pytest.fixture
def web(portal):
    """Team "web": alice owns it, bob is a member, carol a viewer."""
    portal.add_team("web", {1: Role.OWNER, 2: Role.MEMBER, 5: Role.VIEWER})
    return "web"


@pytest.fixture
def owner(portal, web):
    return portal.actor(1)


@pytest.fixture
def member(portal, web):
    return portal.actor(2)


@pytest.fixture
def viewer(portal, web):
    return portal.actor(5)


@pytest.fixture
def outsider(portal, web):
    """Someone in no team at all."""
    portal.usernames[6] = "dave"
    return portal.actor(6)


# -- the domain -----------------------------------------------------------------------------


class TestRole:
    def test_roles_go_from_viewer_to_member_to_owner(self):
        assert list(Role) == [Role.VIEWER, Role.MEMBER, Role.OWNER]
        assert [role.value for role in Role] == ["viewer", "member", "owner"]

    @pytest.mark.parametrize(
        ("role", "needed", "allowed"),
        [
            (Role.VIEWER, Role.VIEWER, True),
            (Role.VIEWER, Role.MEMBER, False),
            (Role.VIEWER, Role.OWNER, False),
            (Role.MEMBER, Role.VIEWER, True),
            (Role.MEMBER, Role.MEMBER, True),
            (Role.MEMBER, Role.OWNER, False),
            (Role.OWNER, Role.VIEWER, True),
            (Role.OWNER, Role.MEMBER, True),
            (Role.OWNER, Role.OWNER, True),
        ],
    )
    def test_a_role_allows_what_it_needs_and_every_lower_one(self, role, needed, allowed):
        assert role.allows(needed) is allowed


class TestNewTeam:
    def test_a_valid_team_keeps_its_fields_with_the_name_trimmed(self):
        team = Team.new(slug="web-2", name="  Web shop  ", quota_load_balancers=0, quota_members=QUOTA_MAX)

        assert (team.id, team.slug, team.name) == (None, "web-2", "Web shop")
        assert (team.quota_load_balancers, team.quota_members) == (0, QUOTA_MAX)
        assert team.memberships == []

    def test_quotas_left_out_are_the_defaults(self):
        team = Team.new(slug="web", name="Web")

        assert (team.quota_load_balancers, team.quota_members) == (None, None)

    def test_every_bad_field_is_reported_at_once(self):
        with pytest.raises(ValidationFailed) as failed:
            Team.new(slug="Web Team", name="  ", quota_load_balancers=-1, quota_members=1.5)

        assert failed.value.status_code == 400
        assert set(failed.value.details) == {"slug", "name", "quota_load_balancers", "quota_members"}

    @pytest.mark.parametrize(
        ("slug", "fragment"),
        [
            ("", "slug is required"),
            ("Web", "lowercase"),
            ("web team", "lowercase"),
            ("web_team", "lowercase"),
            ("-web", "start and end"),
            ("web-", "start and end"),
            ("w" * 64, "at most 63"),
        ],
    )
    def test_the_slug_follows_the_name_rule(self, slug, fragment):
        with pytest.raises(ValidationFailed) as failed:
            Team.new(slug=slug, name="Web")

        assert set(failed.value.details) == {"slug"}
        assert any(fragment in message for message in failed.value.details["slug"]), failed.value.details

    @pytest.mark.parametrize("slug", ["w", "web", "web-2", "0", "w" * 63])
    def test_good_slugs(self, slug):
        assert Team.new(slug=slug, name="Web").slug == slug

    @pytest.mark.parametrize(
        ("name", "fragment"), [("", "required"), ("   ", "required"), ("n" * 101, "at most 100"), (5, "required")]
    )
    def test_the_name_is_required_and_at_most_100_characters(self, name, fragment):
        with pytest.raises(ValidationFailed) as failed:
            Team.new(slug="web", name=name)

        assert set(failed.value.details) == {"name"}
        assert fragment in failed.value.details["name"][0]

    def test_a_name_of_100_characters_is_fine(self):
        assert Team.new(slug="web", name="n" * 100).name == "n" * 100

    @pytest.mark.parametrize(
        ("value", "fragment"),
        [
            (-1, "between 0 and 1000000"),
            (QUOTA_MAX + 1, "between 0 and 1000000"),
            (1.5, "whole number"),
            (2.0, "whole number"),
            ("5", "whole number"),
            (True, "whole number"),
            (False, "whole number"),
        ],
    )
    @pytest.mark.parametrize("field", ["quota_load_balancers", "quota_members"])
    def test_quotas_are_whole_numbers_from_0_to_a_million(self, field, value, fragment):
        with pytest.raises(ValidationFailed) as failed:
            Team.new(slug="web", name="Web", **{field: value})

        assert set(failed.value.details) == {field}
        assert fragment in failed.value.details[field][0]

    @pytest.mark.parametrize("value", [None, 0, 1, QUOTA_MAX])
    @pytest.mark.parametrize("field", ["quota_load_balancers", "quota_members"])
    def test_good_quotas(self, field, value):
        assert getattr(Team.new(slug="web", name="Web", **{field: value}), field) == value


class TestChangeTeam:
    def test_changes_the_name_and_the_quotas_given_and_keeps_the_others(self):
        team = Team.new(slug="web", name="Web", quota_load_balancers=3, quota_members=4)

        team.change(name=" Shop ", quota_members=9)

        assert (team.name, team.quota_load_balancers, team.quota_members) == ("Shop", 3, 9)

    def test_cleared_quotas_go_back_to_the_default(self):
        team = Team.new(slug="web", name="Web", quota_load_balancers=3, quota_members=4)

        team.change(clear_quotas=("quota_members",))

        assert (team.quota_load_balancers, team.quota_members) == (3, None)

    def test_a_bad_change_changes_nothing_and_names_every_bad_field(self):
        team = Team.new(slug="web", name="Web", quota_load_balancers=3)

        with pytest.raises(ValidationFailed) as failed:
            team.change(name="", quota_load_balancers=-1, quota_members="x")

        assert set(failed.value.details) == {"name", "quota_load_balancers", "quota_members"}
        assert (team.name, team.quota_load_balancers, team.quota_members) == ("Web", 3, None)


class TestQuotas:
    def test_a_team_without_its_own_quotas_has_the_defaults(self):
        assert Team.new(slug="web", name="Web").quotas(DEFAULTS) == DEFAULTS

    def test_its_own_quotas_win_even_zero(self):
        team = Team.new(slug="web", name="Web", quota_load_balancers=0, quota_members=3)

        assert team.quotas(DEFAULTS) == Quotas(load_balancers=0, members=3)

    def test_load_balancers_up_to_the_quota_are_fine_one_more_is_refused(self):
        team = Team.new(slug="web", name="Web", quota_load_balancers=3)
        team.check_load_balancers(DEFAULTS, usage=2)
        team.check_load_balancers(DEFAULTS, usage=0, adding=3)

        with pytest.raises(QuotaExceeded) as exceeded:
            team.check_load_balancers(DEFAULTS, usage=3)

        assert exceeded.value.status_code == 403
        assert exceeded.value.details == {
            "team": "web",
            "limit": "load_balancers",
            "quota": 3,
            "usage": 3,
            "requested": 1,
        }
        assert "at most 3 live load balancers" in exceeded.value.message

    def test_a_zero_quota_allows_nothing(self):
        with pytest.raises(QuotaExceeded):
            Team.new(slug="web", name="Web", quota_load_balancers=0).check_load_balancers(DEFAULTS, usage=0)

    def test_members_per_load_balancer_up_to_the_quota_are_fine(self):
        team = Team.new(slug="web", name="Web", quota_members=2)
        team.check_members(DEFAULTS, count=2)

        with pytest.raises(QuotaExceeded) as exceeded:
            team.check_members(DEFAULTS, count=3)

        assert exceeded.value.details == {"team": "web", "limit": "members", "quota": 2, "usage": 0, "requested": 3}

    def test_the_default_quota_applies_without_an_own_one(self):
        team = Team.new(slug="web", name="Web")
        team.check_load_balancers(DEFAULTS, usage=19)
        team.check_members(DEFAULTS, count=50)

        with pytest.raises(QuotaExceeded):
            team.check_load_balancers(DEFAULTS, usage=20)
        with pytest.raises(QuotaExceeded):
            team.check_members(DEFAULTS, count=51)


class TestMembershipRules:
    def test_members_are_added_with_their_role(self):
        team = team_with((1, "alice", Role.OWNER))

        team.add_member(2, "bob", Role.VIEWER)

        assert team.role_of(2) is Role.VIEWER
        assert team.role_of(3) is None

    def test_someone_already_in_the_team_is_not_added_again(self):
        team = team_with((1, "alice", Role.OWNER), (2, "bob", Role.VIEWER))

        with pytest.raises(AlreadyMember) as already:
            team.add_member(2, "bob", Role.OWNER)

        assert already.value.status_code == 409
        assert already.value.details == {"team": "web", "username": "bob", "role": "viewer"}
        assert team.role_of(2) is Role.VIEWER
        assert len(team.memberships) == 2

    def test_roles_change(self):
        team = team_with((1, "alice", Role.OWNER), (2, "bob", Role.VIEWER))

        team.change_role(2, "bob", Role.OWNER)
        team.change_role(1, "alice", Role.MEMBER)

        assert (team.role_of(1), team.role_of(2)) == (Role.MEMBER, Role.OWNER)

    @pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
    def test_the_last_owner_cannot_be_demoted(self, role):
        team = team_with((1, "alice", Role.OWNER), (2, "bob", Role.MEMBER))

        with pytest.raises(LastOwner) as last:
            team.change_role(1, "alice", role)

        assert last.value.status_code == 409
        assert last.value.details == {"team": "web", "username": "alice"}
        assert team.role_of(1) is Role.OWNER

    def test_the_last_owner_stays_owner_when_made_owner_again(self):
        team = team_with((1, "alice", Role.OWNER))

        team.change_role(1, "alice", Role.OWNER)

        assert team.role_of(1) is Role.OWNER

    def test_of_two_owners_one_may_step_down_then_the_other_is_the_last(self):
        team = team_with((1, "alice", Role.OWNER), (2, "bob", Role.OWNER))

        team.change_role(1, "alice", Role.VIEWER)

        with pytest.raises(LastOwner):
            team.change_role(2, "bob", Role.VIEWER)
        with pytest.raises(LastOwner):
            team.remove_member(2, "bob")

    def test_members_are_removed(self):
        team = team_with((1, "alice", Role.OWNER), (2, "bob", Role.OWNER), (3, "carol", Role.VIEWER))

        team.remove_member(3, "carol")
        team.remove_member(1, "alice")

        assert [m.username for m in team.memberships] == ["bob"]

    def test_the_last_owner_cannot_be_removed(self):
        team = team_with((1, "alice", Role.OWNER), (2, "bob", Role.MEMBER))

        with pytest.raises(LastOwner):
            team.remove_member(1, "alice")

        assert team.role_of(1) is Role.OWNER

    def test_changing_or_removing_someone_not_in_the_team_is_not_found(self):
        team = team_with((1, "alice", Role.OWNER))

        with pytest.raises(MemberNotFound) as missing:
            team.change_role(2, "bob", Role.MEMBER)
        assert missing.value.status_code == 404
        assert missing.value.details == {"team": "web", "username": "bob"}
        with pytest.raises(MemberNotFound):
            team.remove_member(2, "bob")


# -- the use cases --------------------------------------------------------------------------


class TestCreateTeam:
    def test_operations_create_teams_which_start_with_nobody_and_the_default_quotas(self, portal, ops):
        view = portal.teams.create_one(ops, CreateTeam(slug="payments", name="Payments"))

        assert (view.slug, view.name, view.members) == ("payments", "Payments", [])
        assert view.quotas == portal.quota_defaults
        assert view.default_quotas == ("load_balancers", "members")
        assert view.usage == Quotas(0, 0)

    def test_with_quotas_of_its_own(self, portal, ops):
        view = portal.teams.create_one(
            ops, CreateTeam(slug="payments", name="Payments", quota_load_balancers=0, quota_members=7)
        )

        assert view.quotas == Quotas(load_balancers=0, members=7)
        assert view.default_quotas == ()

    @pytest.mark.parametrize("who", ["alice", "auditor", "owner", "outsider"])
    def test_nobody_else_creates_teams(self, portal, request, who):
        actor = request.getfixturevalue(who)
        before = copy.deepcopy(portal.uow.teams.rows)

        with pytest.raises(PermissionDenied) as denied:
            portal.teams.create_one(actor, CreateTeam(slug="payments", name="Payments"))

        assert denied.value.status_code == 403
        assert portal.uow.teams.rows == before

    def test_the_permission_is_checked_before_the_input(self, portal, alice):
        with pytest.raises(PermissionDenied):
            portal.teams.create_one(alice, CreateTeam(slug="Bad Slug", name=""))

    def test_every_bad_field_is_reported(self, portal, ops):
        with pytest.raises(ValidationFailed) as failed:
            portal.teams.create_one(ops, CreateTeam(slug="Bad Slug", name="", quota_load_balancers=-1))

        assert set(failed.value.details) == {"slug", "name", "quota_load_balancers"}
        assert len(portal.uow.teams.rows) == 2

    def test_a_taken_slug_is_a_conflict(self, portal, ops):
        with pytest.raises(TeamSlugTaken) as taken:
            portal.teams.create_one(ops, CreateTeam(slug="alice", name="Another alice"))

        assert taken.value.status_code == 409
        assert "slug" in taken.value.details


class TestUpdateTeam:
    def test_owners_rename_their_team(self, portal, owner, web):
        view = portal.teams.update_one(owner, web, UpdateTeam(name="  Web shop "))

        assert view.name == "Web shop"

    @pytest.mark.parametrize("who", ["member", "viewer"])
    def test_members_and_viewers_do_not_rename_it(self, portal, request, web, who):
        actor = request.getfixturevalue(who)

        with pytest.raises(NotAllowed) as denied:
            portal.teams.update_one(actor, web, UpdateTeam(name="Mine"))

        assert denied.value.status_code == 403
        assert denied.value.details == {"team": "web", "role": who, "needed": "owner"}
        assert portal.teams.get_one(actor, web).name == "Web"

    def test_outsiders_are_told_the_team_does_not_exist(self, portal, outsider, bob, web):
        for actor, slug in ((outsider, web), (bob, "alice")):
            with pytest.raises(TeamNotFound) as missing:
                portal.teams.update_one(actor, slug, UpdateTeam(name="Mine"))
            assert missing.value.status_code == 404
            with pytest.raises(TeamNotFound):
                portal.teams.update_one(actor, slug, UpdateTeam(quota_load_balancers=100))

    def test_an_unknown_team_is_not_found(self, portal, ops):
        with pytest.raises(TeamNotFound):
            portal.teams.update_one(ops, "nope", UpdateTeam(name="Nope"))

    @pytest.mark.parametrize(
        "payload",
        [
            UpdateTeam(quota_load_balancers=100),
            UpdateTeam(quota_members=100),
            UpdateTeam(clear_quotas=("quota_members",)),
            UpdateTeam(name="Web shop", quota_load_balancers=100),
        ],
    )
    def test_owners_do_not_change_quotas(self, portal, owner, web, payload):
        with pytest.raises(PermissionDenied) as denied:
            portal.teams.update_one(owner, web, payload)

        assert not isinstance(denied.value, NotAllowed)
        assert denied.value.details == {"team": "web"}
        view = portal.teams.get_one(owner, web)
        assert (view.name, view.default_quotas) == ("Web", ("load_balancers", "members"))

    def test_operations_change_quotas_and_set_them_back_to_the_default(self, portal, ops, web):
        view = portal.teams.update_one(ops, web, UpdateTeam(quota_load_balancers=3, quota_members=0))
        assert view.quotas == Quotas(load_balancers=3, members=0)
        assert view.default_quotas == ()

        view = portal.teams.update_one(ops, web, UpdateTeam(clear_quotas=("quota_load_balancers",)))
        assert view.quotas == Quotas(load_balancers=portal.quota_defaults.load_balancers, members=0)
        assert view.default_quotas == ("load_balancers",)

    def test_operations_rename_any_team(self, portal, ops, web):
        assert portal.teams.update_one(ops, web, UpdateTeam(name="Ops named it")).name == "Ops named it"

    def test_read_only_operations_staff_change_nothing(self, portal, auditor, web):
        for payload in (UpdateTeam(name="Mine"), UpdateTeam(quota_members=5)):
            with pytest.raises(PermissionDenied) as denied:
                portal.teams.update_one(auditor, web, payload)
            assert not isinstance(denied.value, NotAllowed)

    def test_bad_quotas_are_refused_naming_each(self, portal, ops, web):
        with pytest.raises(ValidationFailed) as failed:
            portal.teams.update_one(ops, web, UpdateTeam(name="", quota_load_balancers=QUOTA_MAX + 1, quota_members=-2))

        assert set(failed.value.details) == {"name", "quota_load_balancers", "quota_members"}
        assert portal.teams.get_one(ops, web).default_quotas == ("load_balancers", "members")


class TestAddMember:
    def test_owners_add_people_with_a_role_member_by_default(self, portal, alice):
        view = portal.teams.add_member(alice, "alice", AddMember(username="carol"))
        assert view.role_of("carol") == "member"

        view = portal.teams.add_member(alice, "alice", AddMember(username="bob", role="viewer"))
        assert view.role_of("bob") == "viewer"
        assert [(m.username, m.role) for m in view.members] == [
            ("alice", "owner"),
            ("bob", "viewer"),
            ("carol", "member"),
        ]

    def test_an_unknown_user_is_a_validation_error(self, portal, alice):
        with pytest.raises(UnknownUser) as unknown:
            portal.teams.add_member(alice, "alice", AddMember(username="nobody"))

        assert unknown.value.status_code == 400
        assert "username" in unknown.value.details
        assert roles_in(portal, "alice") == {"alice": "owner"}

    def test_someone_already_in_the_team_is_a_conflict(self, portal, owner, web):
        with pytest.raises(AlreadyMember) as already:
            portal.teams.add_member(owner, web, AddMember(username="carol", role="owner"))

        assert already.value.status_code == 409
        assert roles_in(portal, web)["carol"] == "viewer"

    @pytest.mark.parametrize("role", ["admin", "Owner", "", None])
    def test_the_role_must_be_one_of_the_three(self, portal, alice, role):
        with pytest.raises(ValidationFailed) as failed:
            portal.teams.add_member(alice, "alice", AddMember(username="carol", role=role))

        assert set(failed.value.details) == {"role"}
        assert roles_in(portal, "alice") == {"alice": "owner"}

    @pytest.mark.parametrize("who", ["member", "viewer"])
    def test_members_and_viewers_do_not_add_people(self, portal, request, web, who):
        actor = request.getfixturevalue(who)

        with pytest.raises(NotAllowed) as denied:
            portal.teams.add_member(actor, web, AddMember(username="ops"))

        assert denied.value.status_code == 403
        assert denied.value.details == {"team": "web", "role": who, "needed": "owner"}
        assert "ops" not in roles_in(portal, web)

    def test_a_member_who_may_not_add_learns_nothing_about_usernames(self, portal, member, web):
        with pytest.raises(NotAllowed):
            portal.teams.add_member(member, web, AddMember(username="nobody"))

    def test_outsiders_are_told_the_team_does_not_exist(self, portal, bob, web):
        with pytest.raises(TeamNotFound) as missing:
            portal.teams.add_member(bob, "alice", AddMember(username="bob", role="owner"))

        assert missing.value.status_code == 404
        assert roles_in(portal, "alice") == {"alice": "owner"}

    def test_operations_add_people_to_any_team(self, portal, ops):
        view = portal.teams.add_member(ops, "bob", AddMember(username="carol", role="owner"))

        assert view.role_of("carol") == "owner"

    def test_read_only_operations_staff_do_not(self, portal, auditor):
        with pytest.raises(PermissionDenied) as denied:
            portal.teams.add_member(auditor, "bob", AddMember(username="auditor", role="owner"))

        assert not isinstance(denied.value, NotAllowed)
        assert roles_in(portal, "bob") == {"bob": "owner"}

    def test_an_unknown_team_is_not_found(self, portal, ops):
        with pytest.raises(TeamNotFound):
            portal.teams.add_member(ops, "nope", AddMember(username="carol"))


class TestChangeRole:
    def test_owners_change_roles(self, portal, owner, web):
        view = portal.teams.change_role(owner, web, "carol", "member")
        assert view.role_of("carol") == "member"

        view = portal.teams.change_role(owner, web, "bob", "owner")
        assert view.role_of("bob") == "owner"

    def test_an_owner_may_step_down_once_there_is_another(self, portal, owner, web):
        portal.teams.change_role(owner, web, "bob", "owner")

        view = portal.teams.change_role(owner, web, "alice", "viewer")

        assert (view.role_of("alice"), view.role_of("bob")) == ("viewer", "owner")

    @pytest.mark.parametrize("role", ["member", "viewer"])
    def test_the_last_owner_cannot_step_down(self, portal, owner, web, role):
        with pytest.raises(LastOwner) as last:
            portal.teams.change_role(owner, web, "alice", role)

        assert last.value.status_code == 409
        assert roles_in(portal, web)["alice"] == "owner"

    def test_not_even_operations_demote_the_last_owner(self, portal, ops):
        with pytest.raises(LastOwner):
            portal.teams.change_role(ops, "alice", "alice", "member")

    @pytest.mark.parametrize("who", ["member", "viewer"])
    def test_members_and_viewers_do_not_change_roles(self, portal, request, web, who):
        actor = request.getfixturevalue(who)

        with pytest.raises(NotAllowed) as denied:
            portal.teams.change_role(actor, web, actor.username, "owner")

        assert denied.value.details["needed"] == "owner"
        assert roles_in(portal, web) == {"alice": "owner", "bob": "member", "carol": "viewer"}

    def test_outsiders_are_told_the_team_does_not_exist(self, portal, outsider, web):
        with pytest.raises(TeamNotFound):
            portal.teams.change_role(outsider, web, "alice", "viewer")

    def test_someone_not_in_the_team_is_not_found(self, portal, owner, web):
        with pytest.raises(MemberNotFound) as missing:
            portal.teams.change_role(owner, web, "ops", "viewer")

        assert missing.value.status_code == 404

    def test_the_role_must_be_one_of_the_three(self, portal, owner, web):
        with pytest.raises(ValidationFailed) as failed:
            portal.teams.change_role(owner, web, "carol", "superuser")

        assert set(failed.value.details) == {"role"}

    def test_operations_change_roles_in_any_team(self, portal, ops, web):
        assert portal.teams.change_role(ops, web, "carol", "owner").role_of("carol") == "owner"


class TestRemoveMember:
    def test_owners_remove_people(self, portal, owner, web):
        portal.teams.remove_member(owner, web, "bob")

        assert roles_in(portal, web) == {"alice": "owner", "carol": "viewer"}

    @pytest.mark.parametrize("who", ["member", "viewer"])
    def test_anyone_may_leave(self, portal, request, web, who):
        actor = request.getfixturevalue(who)

        portal.teams.remove_member(actor, web, actor.username)

        assert actor.username not in roles_in(portal, web)

    def test_an_owner_may_leave_when_another_owner_stays(self, portal, owner, web):
        portal.teams.change_role(owner, web, "carol", "owner")

        portal.teams.remove_member(owner, web, "alice")

        assert roles_in(portal, web) == {"bob": "member", "carol": "owner"}

    def test_the_last_owner_may_not_leave(self, portal, owner, web):
        with pytest.raises(LastOwner):
            portal.teams.remove_member(owner, web, "alice")

        assert roles_in(portal, web)["alice"] == "owner"

    def test_not_even_operations_remove_the_last_owner(self, portal, ops):
        with pytest.raises(LastOwner):
            portal.teams.remove_member(ops, "bob", "bob")

    @pytest.mark.parametrize("who", ["member", "viewer"])
    def test_members_and_viewers_do_not_remove_others(self, portal, request, web, who):
        actor = request.getfixturevalue(who)

        with pytest.raises(NotAllowed) as denied:
            portal.teams.remove_member(actor, web, "alice")

        assert denied.value.details == {"team": "web", "role": who, "needed": "owner"}
        assert len(roles_in(portal, web)) == 3

    def test_outsiders_are_told_the_team_does_not_exist_even_naming_themselves(self, portal, outsider, bob, web):
        with pytest.raises(TeamNotFound):
            portal.teams.remove_member(outsider, web, "carol")
        with pytest.raises(TeamNotFound):
            portal.teams.remove_member(outsider, web, "dave")
        with pytest.raises(TeamNotFound):
            portal.teams.remove_member(bob, "alice", "bob")

    def test_someone_not_in_the_team_is_not_found(self, portal, owner, web):
        with pytest.raises(MemberNotFound):
            portal.teams.remove_member(owner, web, "ops")

    def test_operations_remove_anyone_but_the_last_owner(self, portal, ops, web):
        portal.teams.remove_member(ops, web, "carol")

        assert roles_in(portal, web) == {"alice": "owner", "bob": "member"}

    def test_read_only_operations_staff_do_not(self, portal, auditor, web):
        with pytest.raises(PermissionDenied):
            portal.teams.remove_member(auditor, web, "carol")

        assert len(roles_in(portal, web)) == 3


class TestReadTeams:
    @pytest.mark.parametrize("who", ["owner", "member", "viewer", "ops", "auditor"])
    def test_members_and_operations_see_a_team(self, portal, request, web, who):
        view = portal.teams.get_one(request.getfixturevalue(who), web)

        assert view.slug == "web"
        assert [(m.username, m.role) for m in view.members] == [
            ("alice", "owner"),
            ("bob", "member"),
            ("carol", "viewer"),
        ]

    def test_outsiders_do_not(self, portal, outsider, bob, web):
        for actor, slug in ((outsider, web), (bob, "alice")):
            with pytest.raises(TeamNotFound) as missing:
                portal.teams.get_one(actor, slug)
            assert missing.value.details == {"team": slug}

    def test_an_unknown_team_is_not_found(self, portal, ops):
        with pytest.raises(TeamNotFound):
            portal.teams.get_one(ops, "nope")

    @pytest.mark.parametrize(
        ("who", "slugs"),
        [
            ("owner", ["alice", "web"]),
            ("member", ["bob", "web"]),
            ("viewer", ["web"]),
            ("outsider", []),
            ("ops", ["alice", "bob", "web"]),
            ("auditor", ["alice", "bob", "web"]),
        ],
    )
    def test_the_list_holds_the_actors_teams_operations_see_all(self, portal, request, web, who, slugs):
        page = portal.teams.get_plist(request.getfixturevalue(who), TeamQuery())

        assert [team.slug for team in page.items] == slugs
        assert page.total == len(slugs)

    def test_a_query_cannot_widen_the_scope(self, portal, viewer):
        page = portal.teams.get_plist(viewer, TeamQuery(team_ids=(1, 2)))

        assert [team.slug for team in page.items] == ["web"]

    def test_the_teams_where_one_may_create(self, portal, owner, member, viewer, ops):
        def slugs(actor, needed):
            return [team.slug for team in portal.teams.get_list_for(actor, needed)]

        assert slugs(owner, Role.MEMBER) == ["alice", "web"]
        assert slugs(member, Role.MEMBER) == ["bob", "web"]
        assert slugs(member, Role.OWNER) == ["bob"]
        assert slugs(viewer, Role.MEMBER) == []
        assert slugs(viewer, Role.VIEWER) == ["web"]
        assert slugs(ops, Role.OWNER) == ["alice", "bob", "web"]

    def test_the_teams_one_is_in(self, portal, viewer, outsider):
        assert portal.teams.get_slugs_mine(viewer) == ["web"]
        assert portal.teams.get_slugs_mine(outsider) == []


class TestUsage:
    def test_a_team_shows_its_live_load_balancers_and_the_most_members_on_one(self, portal, alice):
        servers = [portal.add_server() for _ in range(3)]
        create = portal.load_balancers.create_one
        create(alice, CreateLoadBalancer(name="one", servers=servers[:1]))
        create(alice, CreateLoadBalancer(name="three", servers=servers))
        gone = create(alice, CreateLoadBalancer(name="gone", servers=servers[:2]))
        portal.settle()
        portal.load_balancers.delete_one(alice, gone.id)
        portal.settle()

        view = portal.teams.get_one(alice, "alice")

        assert view.usage == Quotas(load_balancers=2, members=3)
        assert view.quotas == portal.quota_defaults
        assert portal.teams.get_one(alice, "alice").default_quotas == ("load_balancers", "members")

    def test_an_empty_team_uses_nothing(self, portal, bob):
        assert portal.teams.get_one(bob, "bob").usage == Quotas(0, 0)

    def test_own_quotas_are_shown_in_place_of_the_defaults(self, portal, ops):
        portal.add_team("small", {5: Role.OWNER}, quota_load_balancers=2)

        view = portal.teams.get_one(ops, "small")

        assert view.quotas == Quotas(load_balancers=2, members=portal.quota_defaults.members)
        assert view.default_quotas == ("members",)
