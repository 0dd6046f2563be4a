"""A team's project at providers that keep tenants apart (OpenStack Octavia): the rule
for its id, who may set it (operations only), and how it reaches what the portal asks
providers to run, against in-memory fakes."""

from dataclasses import dataclass, field

import pytest

from accounts.application.payloads import AddMember, CreateTeam, UpdateTeam
from accounts.domain.errors import TeamNotFound
from accounts.domain.model import Role, Team
from loadbalancers.application.lbaas import COMPARED, LoadBalancerSpec
from loadbalancers.application.payloads import CreateBatch, CreateLoadBalancer, UpdateLoadBalancer
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.drift import DriftPolicy
from loadbalancers.domain.model import ProvisioningStatus
from portal.kernel.errors import PermissionDenied, ValidationFailed
from tests.fakes import FakeLBaaS, Portal

KEYSTONE_ID = "0123456789abcdef0123456789abcdef"


@dataclass
class RecordingLBaaS(FakeLBaaS):
    """The fake provider, keeping every spec the portal hands it, by the call."""

    given: list[tuple[str, LoadBalancerSpec]] = field(default_factory=list)

    def refusals(self, spec):
        self.given.append(("refusals", spec))
        return super().refusals(spec)

    def plan(self, ref, spec):
        self.given.append(("plan", spec))
        return super().plan(ref, spec)

    def create(self, spec, *, client_token):
        self.given.append(("create", spec))
        return super().create(spec, client_token=client_token)

    def update(self, ref, spec):
        self.given.append(("update", spec))
        return super().update(ref, spec)

    def as_running(self, spec):
        self.given.append(("as_running", spec))
        return super().as_running(spec)

    def projects(self, call):
        """The projects of the specs given to ``call``, by load balancer name, in order."""
        return [(spec.name, spec.project) for name, spec in self.given if name == call]


@pytest.fixture
def provider():
    return RecordingLBaaS(name="fake")


@pytest.fixture
def portal(provider):
    """The test portal, its provider recording every spec."""
    portal = Portal(provider=provider)
    portal.lbaas = provider
    return portal


def set_project(portal, slug, project):
    """Operations set (None: clear) the team's provider project."""
    ops = portal.actor(3, sees_all=True, changes_all=True)
    payload = UpdateTeam(project_id=project) if project is not None else UpdateTeam(clear_project=True)
    return portal.teams.update_one(ops, slug, payload)


def stored_project(portal, slug):
    return next(team.project_id for team in portal.uow.teams.rows.values() if team.slug == slug)


def create(portal, actor, name, team=None):
    payload = CreateLoadBalancer(name=name, servers=[portal.add_server(), portal.add_server()], team=team)
    return portal.load_balancers.create_one(actor, payload)


def team_changes(portal, action):
    return [{c.field: (c.before, c.after) for c in entry.changes} for entry in portal.entries(action=action)]


# -- the rule -----------------------------------------------------------------------------------


class TestProjectId:
    def test_a_team_has_the_providers_default_project_unless_given_one(self):
        assert Team.new(slug="web", name="Web").project_id is None

    @pytest.mark.parametrize("value", [KEYSTONE_ID, "team-a_1", "A", "x" * 64, "PROJ-42"])
    def test_letters_digits_dashes_and_underscores_up_to_64_are_kept_as_given(self, value):
        assert Team.new(slug="web", name="Web", project_id=value).project_id == value

    @pytest.mark.parametrize(
        ("value", "fragment"),
        [
            ("", "project_id must be 1 to 64 letters, digits, - and _"),
            (42, "project_id must be 1 to 64 letters, digits, - and _"),
            ("x" * 65, "project_id must be at most 64 characters (got 65)"),
            ("proj 1", "project_id may contain only letters, digits, - and _ (got 'proj 1')"),
            ("tenant/a", "project_id may contain only letters, digits, - and _"),
            (" abc", "project_id may contain only letters, digits, - and _"),
            ("abc\n", "project_id may contain only letters, digits, - and _"),
            ("prüfung", "project_id may contain only letters, digits, - and _"),
            ("a.b", "project_id may contain only letters, digits, - and _"),
        ],
    )
    def test_a_bad_project_id_is_refused_with_a_message_naming_the_field(self, value, fragment):
        team = Team.new(slug="web", name="Web", project_id="before")

        with pytest.raises(ValidationFailed) as failed:
            team.change(project_id=value)

        assert set(failed.value.details) == {"project_id"}
        assert any(fragment in message for message in failed.value.details["project_id"])
        assert "project_id" in failed.value.message
        assert team.project_id == "before"

    def test_a_new_team_reports_a_bad_project_with_every_other_problem(self):
        with pytest.raises(ValidationFailed) as failed:
            Team.new(slug="Web Team", name=" ", quota_members=-1, project_id="a b")

        assert set(failed.value.details) == {"slug", "name", "quota_members", "project_id"}

    def test_a_change_without_it_keeps_it_and_clearing_it_gives_the_default_back(self):
        team = Team.new(slug="web", name="Web", project_id="proj-a")

        team.change(name="Shop", quota_members=3)
        assert (team.name, team.project_id) == ("Shop", "proj-a")

        team.change(project_id="proj-b")
        assert team.project_id == "proj-b"

        team.change(clear_project=True)
        assert team.project_id is None

    def test_giving_a_project_and_clearing_it_at_once_is_refused(self):
        team = Team.new(slug="web", name="Web", project_id="proj-a")

        with pytest.raises(ValidationFailed) as failed:
            team.change(project_id="proj-b", clear_project=True)

        assert failed.value.details == {"project_id": ["give a project_id or clear it, not both"]}
        assert team.project_id == "proj-a"

    def test_the_audit_trail_sees_it(self):
        assert Team.new(slug="web", name="Web", project_id="proj-a").described()["project_id"] == "proj-a"
        assert Team.new(slug="web", name="Web").described()["project_id"] is None


# -- who sets it ----------------------------------------------------------------------------------


class TestOperationsSetIt:
    def test_operations_set_it_and_the_trail_tells_the_change(self, portal, ops):
        portal.teams.update_one(ops, "alice", UpdateTeam(project_id=KEYSTONE_ID))

        assert stored_project(portal, "alice") == KEYSTONE_ID
        assert team_changes(portal, "team.updated") == [{"project_id": (None, KEYSTONE_ID)}]

    def test_operations_clear_it_back_to_the_providers_default(self, portal, ops):
        set_project(portal, "alice", "proj-a")

        portal.teams.update_one(ops, "alice", UpdateTeam(clear_project=True))

        assert stored_project(portal, "alice") is None
        assert team_changes(portal, "team.updated")[-1] == {"project_id": ("proj-a", None)}

    def test_setting_the_same_project_again_changes_nothing_and_tells_nothing(self, portal, ops):
        set_project(portal, "alice", "proj-a")
        entries = portal.entries()

        portal.teams.update_one(ops, "alice", UpdateTeam(project_id="proj-a"))

        assert portal.entries() == entries

    def test_operations_create_a_team_in_its_project(self, portal, ops):
        portal.teams.create_one(ops, CreateTeam(slug="web", name="Web", project_id="proj-web"))

        assert stored_project(portal, "web") == "proj-web"
        assert team_changes(portal, "team.created")[-1]["project_id"] == (None, "proj-web")

    def test_a_bad_project_is_refused_and_nothing_is_stored_or_told(self, portal, ops):
        set_project(portal, "alice", "proj-a")
        entries = portal.entries()

        with pytest.raises(ValidationFailed) as failed:
            portal.teams.update_one(ops, "alice", UpdateTeam(name="Shop", project_id="not/valid"))
        with pytest.raises(ValidationFailed):
            portal.teams.create_one(ops, CreateTeam(slug="web", name="Web", project_id="x" * 65))

        assert set(failed.value.details) == {"project_id"}
        assert stored_project(portal, "alice") == "proj-a"
        assert portal.uow.teams.rows[1].name == "Alice"
        assert "web" not in {team.slug for team in portal.uow.teams.rows.values()}
        assert portal.entries() == entries

    @pytest.mark.parametrize("payload", [UpdateTeam(project_id="mine"), UpdateTeam(clear_project=True)])
    def test_an_owner_may_neither_set_nor_clear_it(self, portal, alice, payload):
        set_project(portal, "alice", "proj-a")
        entries = portal.entries()

        with pytest.raises(PermissionDenied) as refused:
            portal.teams.update_one(alice, "alice", payload)

        assert "change a team's provider project" in refused.value.message
        assert stored_project(portal, "alice") == "proj-a"
        assert portal.entries() == entries

    def test_staff_who_may_only_read_may_not_set_it(self, portal, auditor):
        with pytest.raises(PermissionDenied):
            portal.teams.update_one(auditor, "alice", UpdateTeam(project_id="proj-a"))

        assert stored_project(portal, "alice") is None

    def test_someone_outside_the_team_is_not_told_it_exists(self, portal, bob):
        with pytest.raises(TeamNotFound):
            portal.teams.update_one(bob, "alice", UpdateTeam(project_id="proj-a"))

    def test_an_owner_still_renames_the_team_and_its_project_stays(self, portal, alice):
        set_project(portal, "alice", "proj-a")

        portal.teams.update_one(alice, "alice", UpdateTeam(name="Alice's shop"))

        assert (portal.uow.teams.rows[1].name, stored_project(portal, "alice")) == ("Alice's shop", "proj-a")


# -- what providers are asked ---------------------------------------------------------------------


class TestProvidersAreAskedInTheTeamsProject:
    def test_a_create_asks_for_the_load_balancer_in_its_teams_project_and_others_stay_apart(self, portal, provider):
        set_project(portal, "alice", "proj-alice")

        mine = create(portal, portal.actor(1), "shop")
        theirs = create(portal, portal.actor(2), "blog")
        portal.settle()

        assert provider.projects("refusals") == [("shop", "proj-alice"), ("blog", None)]
        assert sorted(provider.projects("create")) == [("blog", None), ("shop", "proj-alice")]
        assert provider.resources[portal.stored(mine.id).provider_ref].spec.project == "proj-alice"
        assert provider.resources[portal.stored(theirs.id).provider_ref].spec.project is None

    def test_an_update_is_sent_with_the_teams_project(self, portal, provider):
        set_project(portal, "alice", "proj-alice")
        alice = portal.actor(1)
        view = create(portal, alice, "shop")
        portal.settle()
        provider.given.clear()

        portal.load_balancers.update_one(alice, view.id, UpdateLoadBalancer(algorithm="SOURCE_IP"))
        portal.settle()

        assert provider.projects("refusals") == [("shop", "proj-alice")]
        assert provider.projects("update") == [("shop", "proj-alice")]
        assert portal.stored(view.id).provisioning_status is ProvisioningStatus.ACTIVE

    def test_plans_ask_the_provider_about_the_teams_project(self, portal, provider):
        set_project(portal, "alice", "proj-alice")
        alice = portal.actor(1)
        payload = CreateLoadBalancer(name="shop", servers=[portal.add_server()])

        assert portal.load_balancers.plan_create(alice, payload).allowed
        view = create(portal, alice, "cart")
        portal.settle()
        assert portal.load_balancers.plan_update(alice, view.id, UpdateLoadBalancer(algorithm="SOURCE_IP")).allowed

        assert provider.projects("plan") == [("shop", "proj-alice"), ("cart", "proj-alice")]

    def test_a_batch_asks_for_each_load_balancer_in_its_own_teams_project_with_no_lookup_per_item(
        self, portal, provider
    ):
        portal.teams.add_member(portal.actor(2), "bob", AddMember("alice", Role.MEMBER))
        set_project(portal, "alice", "proj-alice")
        set_project(portal, "bob", "proj-bob")
        items = {
            index: CreateLoadBalancer(name=name, servers=[portal.add_server()], team=team)
            for index, (name, team) in enumerate([("shop", "alice"), ("blog", "bob"), ("cart", "alice")])
        }
        portal.uow.teams.project_lookups.clear()

        portal.load_balancers.create_batch(portal.actor(1), CreateBatch(items=items))

        assert portal.uow.teams.project_lookups == []  # the batch has its teams at hand
        assert provider.projects("refusals") == [("shop", "proj-alice"), ("blog", "proj-bob"), ("cart", "proj-alice")]
        portal.settle()
        assert sorted(provider.projects("create")) == [
            ("blog", "proj-bob"),
            ("cart", "proj-alice"),
            ("shop", "proj-alice"),
        ]

    def test_a_new_project_applies_to_load_balancers_created_afterwards_and_is_no_drift(self, portal, provider):
        alice = portal.actor(1)
        set_project(portal, "alice", "proj-old")
        old = create(portal, alice, "old")
        portal.settle()
        set_project(portal, "alice", "proj-new")

        create(portal, alice, "new")
        portal.settle()
        report = portal.reconciliation.reconcile()

        assert provider.projects("create") == [("old", "proj-old"), ("new", "proj-new")]
        assert provider.resources[portal.stored(old.id).provider_ref].spec.project == "proj-old"
        assert "project" not in COMPARED
        assert (report.drifted, report.failed) == ([], [])
        assert portal.uow.drift.rows == {}


class TestTheReconcilersPass:
    def test_each_load_balancer_is_judged_in_its_teams_project_looked_up_once_for_the_pass(self, portal, provider):
        set_project(portal, "alice", "proj-alice")
        for name, user_id in [("shop", 1), ("cart", 1), ("blog", 2)]:
            create(portal, portal.actor(user_id), name)
        portal.settle()
        provider.given.clear()
        portal.uow.teams.project_lookups.clear()

        report = portal.reconciliation.reconcile()

        assert report.failed == []
        assert sorted(provider.projects("as_running")) == [
            ("blog", None),
            ("cart", "proj-alice"),
            ("shop", "proj-alice"),
        ]
        assert portal.uow.teams.project_lookups == [[1, 2]]

    def test_drift_of_a_load_balancer_in_a_project_is_found_and_repaired_in_that_project(self, provider):
        repair = ProvisioningPolicy(
            poll_interval=1, pending_timeout=600, stuck_after=60, drift_policy=DriftPolicy.REPAIR
        )
        portal = Portal(policy=repair, provider=provider)
        portal.lbaas = provider
        set_project(portal, "alice", "proj-alice")
        view = create(portal, portal.actor(1), "shop")
        portal.settle()
        ref = portal.stored(view.id).provider_ref
        provider.tamper(ref, algorithm="LEAST_CONNECTIONS")
        provider.given.clear()

        report = portal.reconciliation.reconcile()
        portal.settle()

        assert (report.drifted, report.repaired) == ([view.id], [view.id])
        assert provider.projects("update") == [("shop", "proj-alice")]
        assert provider.resources[ref].spec.algorithm == "ROUND_ROBIN"

    def test_drift_is_still_found_after_the_teams_project_changed(self, portal, provider, monkeypatch):
        """The record is checked again with the project the pass judged it in: a team's
        new project is no change of the load balancer, so its drift is not skipped."""
        set_project(portal, "alice", "proj-a")
        view = create(portal, portal.actor(1), "shop")
        portal.settle()
        provider.tamper(portal.stored(view.id).provider_ref, algorithm="LEAST_CONNECTIONS")
        listing = provider.get_list

        def answer_then_the_project_changes():
            answer = listing()
            set_project(portal, "alice", "proj-b")
            return answer

        monkeypatch.setattr(provider, "get_list", answer_then_the_project_changes)
        report = portal.reconciliation.reconcile()

        assert report.drifted == [view.id]
        assert {d.field for d in portal.uow.drift.get_list(lb_ids=[view.id])} == {"algorithm"}
