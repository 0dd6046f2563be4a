"""Quotas and the last-owner rule hold under concurrent requests, through the real
services on PostgreSQL: the team row is locked until commit, so writes that count
against it (or that change who owns it) go one by one.  (SQLite serialises all
writers, so there is nothing to race there.)"""

from functools import partial

import pytest

from accounts import bootstrap as accounts_bootstrap
from accounts import models as account_models
from loadbalancers import bootstrap
from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.models import LoadBalancer
from portal.kernel.actors import Actor
from portal.kernel.errors import PortalError
from tests.conftest import needs_postgres
from tests.factories import ServerFactory, TeamFactory, UserFactory, add_member
from tests.fakes import FakeScheduler
from tests.integration.test_concurrency import names, race

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

CREATES = 20
QUOTA = 5
ROUNDS = 5


def create(actor, team, name, server_ids):
    services = bootstrap.build(scheduler=FakeScheduler())  # the work is kept, never sent
    return services.load_balancers.create_one(actor, CreateLoadBalancer(name=name, servers=server_ids, team=team))


def test_parallel_creates_stop_exactly_at_the_teams_quota():
    team = TeamFactory(slug="racers", quota_load_balancers=QUOTA)
    user = add_member(team, UserFactory(username="racer"), "member")
    actor = Actor(user.pk, user.username, roles={team.pk: "member"})
    # A server each: creates that shared one would queue on its row lock instead of the team's.
    servers = ServerFactory.create_batch(CREATES)

    outcomes = race(*(partial(create, actor, team.slug, f"quota-{n}", [s.pk]) for n, s in enumerate(servers)))

    assert names(outcomes) == ["LoadBalancerView"] * QUOTA + ["QuotaExceeded"] * (CREATES - QUOTA)
    assert LoadBalancer.objects.filter(team=team).count() == QUOTA
    refused = [o for o in outcomes if isinstance(o, PortalError)]
    assert {(o.details["quota"], o.details["usage"], o.details["requested"]) for o in refused} == {(QUOTA, QUOTA, 1)}
    created = [o for o in outcomes if not isinstance(o, PortalError)]
    assert {view.team for view in created} == {"racers"}


def test_parallel_creates_in_two_teams_each_stop_at_their_own_quota():
    small = TeamFactory(slug="small", quota_load_balancers=2)
    large = TeamFactory(slug="large", quota_load_balancers=3)
    user = UserFactory(username="both", personal_team=False)
    add_member(small, user, "owner")
    add_member(large, user, "member")
    actor = Actor(user.pk, user.username, roles={small.pk: "owner", large.pk: "member"})
    servers = ServerFactory.create_batch(12)

    outcomes = race(
        *(partial(create, actor, "small", f"small-{n}", [servers[n].pk]) for n in range(6)),
        *(partial(create, actor, "large", f"large-{n}", [servers[6 + n].pk]) for n in range(6)),
    )

    assert names(outcomes) == ["LoadBalancerView"] * 5 + ["QuotaExceeded"] * 7
    assert LoadBalancer.objects.filter(team=small).count() == 2
    assert LoadBalancer.objects.filter(team=large).count() == 3


def owners(team):
    return sorted(account_models.Membership.objects.filter(team=team, role="owner").values_list("user_id", flat=True))


def test_parallel_demotions_of_two_owners_never_leave_the_team_without_one():
    team = TeamFactory(slug="duo")
    first = add_member(team, UserFactory(username="first", personal_team=False), "owner")
    second = add_member(team, UserFactory(username="second", personal_team=False), "owner")
    # Each owner's request was authorised when both were owners (actors are read once per request).
    actors = {user: Actor(user.pk, user.username, roles={team.pk: "owner"}) for user in (first, second)}

    def demote(by, whom):
        return accounts_bootstrap.build().teams.change_role(actors[by], "duo", whom.username, "member")

    for _ in range(ROUNDS):
        # Five requests demote the first owner (one of them made by the second), five the second.
        calls = [partial(demote, second if n % 2 else first, first) for n in range(5)]
        calls += [partial(demote, first if n % 2 else second, second) for n in range(5)]

        outcomes = race(*calls)

        # Whichever demotion came first wins; every demotion of the other owner is refused.
        assert names(outcomes) == ["LastOwner"] * 5 + ["TeamView"] * 5
        assert len(owners(team)) == 1
        assert account_models.Membership.objects.filter(team=team).count() == 2
        account_models.Membership.objects.filter(team=team).update(role="owner")


def test_parallel_leaving_of_two_owners_never_leaves_the_team_without_one():
    team = TeamFactory(slug="leavers")
    users = [add_member(team, UserFactory(username=f"leaver-{n}", personal_team=False), "owner") for n in range(2)]
    actors = [Actor(user.pk, user.username, roles={team.pk: "owner"}) for user in users]

    def leave(actor):
        return accounts_bootstrap.build().teams.remove_member(actor, "leavers", actor.username)

    for _ in range(ROUNDS):
        outcomes = race(*(partial(leave, actor) for actor in actors))

        assert names(outcomes) == ["LastOwner", "NoneType"]
        assert len(owners(team)) == 1
        for user in users:
            add_member(team, user, "owner")
