"""Teams, roles and quotas through the API: who may do what with a team's load
balancers and members, cell by cell, and the quotas that bound what a team holds.

A viewer reads; a member also creates, changes, deletes and retries load balancers;
an owner also manages who is in the team; operations staff with the model permissions
see and act on everything; anyone outside the team is told that it does not exist."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import ApiToken, Membership, Team
from loadbalancers.models import LoadBalancer
from tests.conftest import client_for
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import (
    LoadBalancerRowFactory,
    ServerFactory,
    TeamFactory,
    UserFactory,
    add_member,
    grant_operations,
    personal_team,
)

pytestmark = pytest.mark.django_db

LBS = "/api/v1/load-balancers/"
TEAMS = "/api/v1/teams/"
TOKENS = "/api/v1/tokens/"
ROLES = ["viewer", "member", "owner", "outsider", "staff"]


@dataclass
class Shop:
    """The team "shop" with its owner, a viewer to change or remove (carol), someone to
    add (newbie), one ACTIVE and one ERROR load balancer, and OK servers."""

    team: Team
    owner: object
    carol: object
    newbie: object
    active: LoadBalancer
    broken: LoadBalancer
    servers: list


def make_shop(*, name: str = "shop") -> Shop:
    team = TeamFactory(slug=name, name=name.title())
    owner = add_member(team, UserFactory(username=f"{name}-owner", personal_team=False), "owner")
    carol = add_member(team, UserFactory(username=f"{name}-carol", personal_team=False), "viewer")
    return Shop(
        team=team,
        owner=owner,
        carol=carol,
        newbie=UserFactory(username=f"{name}-newbie", personal_team=False),
        active=LoadBalancerRowFactory(name=f"{name}-active", team=team, created_by=owner),
        broken=LoadBalancerRowFactory(
            name=f"{name}-broken", team=team, created_by=owner, provisioning_status="ERROR", operating_status="OFFLINE"
        ),
        servers=ServerFactory.create_batch(2),
    )


def make_actor(role: str, team: Team):  # type: ignore[no-untyped-def]
    """The acting user: in the team with the role; outsider: in a team of their own
    only; staff: operations staff (with a team of their own, not this one)."""
    if role == "staff":
        return grant_operations(UserFactory(username="actor", is_staff=True))
    if role == "outsider":
        return UserFactory(username="actor")
    return add_member(team, UserFactory(username="actor", personal_team=False), role)


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def state() -> tuple:
    """What a request could change: load balancers, teams, memberships, tokens."""
    return (
        sorted(LoadBalancer.objects.values_list("name", "team__slug", "provisioning_status", "description")),
        sorted(Team.objects.values_list("slug", "name", "quota_load_balancers", "quota_members")),
        sorted(Membership.objects.values_list("team__slug", "user__username", "role")),
        sorted(ApiToken.objects.values_list("user__username", "description")),
    )


# -- the role matrix ----------------------------------------------------------------------


def _create(api, shop: Shop):  # type: ignore[no-untyped-def]
    body = {"name": "fresh", "team": "shop", "servers": [s.pk for s in shop.servers]}
    return api.post(LBS, body, format="json")


ACTIONS = {
    # name: (request, whether it writes)
    "list": (lambda api, shop: api.get(LBS), False),
    "detail": (lambda api, shop: api.get(f"{LBS}{shop.active.pk}/"), False),
    "create": (_create, True),
    "update": (lambda api, shop: api.patch(f"{LBS}{shop.active.pk}/", {"description": "new"}, format="json"), True),
    "delete": (lambda api, shop: api.delete(f"{LBS}{shop.active.pk}/"), True),
    "retry": (lambda api, shop: api.post(f"{LBS}{shop.broken.pk}/retry/"), True),
    "team list": (lambda api, shop: api.get(TEAMS), False),
    "team detail": (lambda api, shop: api.get(f"{TEAMS}shop/"), False),
    "members list": (lambda api, shop: api.get(f"{TEAMS}shop/members/"), False),
    "add member": (
        lambda api, shop: api.post(
            f"{TEAMS}shop/members/", {"username": shop.newbie.username, "role": "viewer"}, format="json"
        ),
        True,
    ),
    "change role": (
        lambda api, shop: api.patch(f"{TEAMS}shop/members/{shop.carol.username}/", {"role": "member"}, format="json"),
        True,
    ),
    "remove member": (lambda api, shop: api.delete(f"{TEAMS}shop/members/{shop.carol.username}/"), True),
    "rename team": (lambda api, shop: api.patch(f"{TEAMS}shop/", {"name": "The Shop"}, format="json"), True),
    "set quotas": (lambda api, shop: api.patch(f"{TEAMS}shop/", {"quota_load_balancers": 7}, format="json"), True),
    "create team": (lambda api, shop: api.post(TEAMS, {"slug": "new-team", "name": "New"}, format="json"), True),
    "tokens list": (lambda api, shop: api.get(TOKENS), False),
    "tokens create": (lambda api, shop: api.post(TOKENS, {"description": "ci"}, format="json"), True),
}


@dataclass(frozen=True)
class Expect:
    status: int
    error: str | None = None
    needed: str | None = None  # NotAllowed: the role the action needs
    field: str | None = None  # ValidationError: the field named


def ok(status: int = 200) -> Expect:
    return Expect(status)


def not_allowed(needed: str) -> Expect:
    return Expect(403, "NotAllowed", needed=needed)


def everyone(status: int) -> dict[str, Expect]:
    return dict.fromkeys(ROLES, ok(status))


LB_HIDDEN = Expect(404, "LoadBalancerNotFound")
TEAM_HIDDEN = Expect(404, "TeamNotFound")
OPERATIONS_ONLY = Expect(403, "PermissionDenied")


def team_read() -> dict[str, Expect]:
    return {**everyone(200), "outsider": TEAM_HIDDEN}


def lb_write() -> dict[str, Expect]:
    return {
        "viewer": not_allowed("member"),
        "member": ok(202),
        "owner": ok(202),
        "outsider": LB_HIDDEN,
        "staff": ok(202),
    }


def owners_only(status: int) -> dict[str, Expect]:
    return {
        "viewer": not_allowed("owner"),
        "member": not_allowed("owner"),
        "owner": ok(status),
        "outsider": TEAM_HIDDEN,
        "staff": ok(status),
    }


MATRIX: dict[str, dict[str, Expect]] = {
    "list": everyone(200),
    "detail": {**everyone(200), "outsider": LB_HIDDEN},
    # Someone outside the team is told they are in no team of that name: as for one that does not exist.
    "create": {**lb_write(), "outsider": Expect(400, "ValidationError", field="team")},
    "update": lb_write(),
    "delete": lb_write(),
    "retry": lb_write(),
    "team list": everyone(200),
    "team detail": team_read(),
    "members list": team_read(),
    "add member": owners_only(201),
    "change role": owners_only(200),
    "remove member": owners_only(204),
    "rename team": owners_only(200),
    "set quotas": {
        "viewer": OPERATIONS_ONLY,
        "member": OPERATIONS_ONLY,
        "owner": OPERATIONS_ONLY,
        "outsider": TEAM_HIDDEN,
        "staff": ok(200),
    },
    "create team": {**dict.fromkeys(ROLES, OPERATIONS_ONLY), "staff": ok(201)},
    "tokens list": everyone(200),
    "tokens create": everyone(201),
}
assert set(MATRIX) == set(ACTIONS)
assert all(set(row) == set(ROLES) for row in MATRIX.values())

CELLS = [(role, action) for action in MATRIX for role in ROLES]


@pytest.mark.parametrize(("role", "action"), CELLS, ids=[f"{role}-{action}" for role, action in CELLS])
def test_role_matrix(shop, role, action):
    api = client_for(make_actor(role, shop.team))
    request, writes = ACTIONS[action]
    expected = MATRIX[action][role]
    before = state()

    response = request(api, shop)

    if expected.error is None:
        assert response.status_code == expected.status, response.content
        assert (state() != before) is writes, "a write that succeeds changes something; a read nothing"
        return
    data = assert_error(response, expected.status, expected.error, expected.field)
    assert state() == before, "a refused request changes nothing"
    if expected.needed:
        assert data["details"] == {"team": "shop", "role": role, "needed": expected.needed}
        assert f"you need the role {expected.needed}" in data["message"]


# -- what the answers carry ------------------------------------------------------------------


def test_a_new_load_balancer_names_its_team_and_who_created_it(shop):
    actor = make_actor("member", shop.team)
    api = client_for(actor)

    created = api.post(LBS, {"name": "fresh", "team": "shop", "servers": [shop.servers[0].pk]}, format="json")

    assert created.status_code == 202, created.content
    body = created.json()
    assert (body["team"], body["created_by"], body["owner"]) == ("shop", "actor", "actor")
    fetched = api.get(f"{LBS}{body['id']}/").json()
    assert (fetched["team"], fetched["created_by"]) == ("shop", "actor")
    row = LoadBalancer.objects.get(pk=body["id"])
    assert (row.team.slug, row.created_by.username) == ("shop", "actor")
    # Records made by someone else carry their name, whoever reads them.
    assert api.get(f"{LBS}{shop.active.pk}/").json()["created_by"] == "shop-owner"


def test_the_team_detail_lists_members_roles_quotas_usage_and_your_role(shop, settings):
    viewer = make_actor("viewer", shop.team)
    staff = grant_operations(UserFactory(username="ops", is_staff=True))

    seen = client_for(viewer).get(f"{TEAMS}shop/").json()

    assert seen["slug"] == "shop"
    assert seen["your_role"] == "viewer"
    assert seen["members"] == [
        {"username": "actor", "role": "viewer"},
        {"username": "shop-carol", "role": "viewer"},
        {"username": "shop-owner", "role": "owner"},
    ]
    assert seen["quotas"] == {
        "load_balancers": settings.TEAM_QUOTA_LOAD_BALANCERS,
        "members": settings.TEAM_QUOTA_MEMBERS,
    }
    assert sorted(seen["default_quotas"]) == ["load_balancers", "members"]
    assert seen["usage"]["load_balancers"] == 2
    assert client_for(staff).get(f"{TEAMS}shop/").json()["your_role"] is None


def test_the_team_list_holds_your_teams_and_staff_see_all(shop):
    outsider = make_actor("outsider", shop.team)
    member = UserFactory(username="mia")
    add_member(shop.team, member, "member")
    staff = grant_operations(UserFactory(username="ops", is_staff=True, personal_team=False))

    def slugs(user):  # type: ignore[no-untyped-def]
        data = client_for(user).get(TEAMS).json()
        assert data["total"] == len(data["items"])
        return [team["slug"] for team in data["items"]]

    assert slugs(outsider) == ["actor"]
    assert slugs(member) == ["mia", "shop"]
    assert slugs(staff) == ["actor", "mia", "shop"]


# -- quotas -------------------------------------------------------------------------------------


def test_creating_beyond_the_teams_load_balancer_quota_is_refused_with_the_numbers():
    team = TeamFactory(slug="shop")
    member = add_member(team, UserFactory(username="actor", personal_team=False), "member")
    team.quota_load_balancers = 1
    team.save()
    servers = ServerFactory.create_batch(2)
    api = client_for(member)

    first = api.post(LBS, {"name": "one", "servers": [servers[0].pk]}, format="json")
    second = api.post(LBS, {"name": "two", "servers": [servers[1].pk]}, format="json")

    assert first.status_code == 202, first.content
    data = assert_error(second, 403, "QuotaExceeded")
    assert data["details"] == {"team": "shop", "limit": "load_balancers", "quota": 1, "usage": 1, "requested": 1}
    assert "at most 1" in data["message"]
    assert list(LoadBalancer.objects.values_list("name", flat=True)) == ["one"]
    assert api.get(f"{TEAMS}shop/").json()["usage"]["load_balancers"] == 1


def test_deleted_load_balancers_do_not_count_against_the_quota():
    team = TeamFactory(slug="shop", quota_load_balancers=1)
    member = add_member(team, UserFactory(username="actor", personal_team=False), "member")
    LoadBalancerRowFactory(name="gone", team=team, created_by=member, provisioning_status="DELETED")

    created = client_for(member).post(LBS, {"name": "one", "servers": [ServerFactory().pk]}, format="json")

    assert created.status_code == 202, created.content


def test_a_quota_of_zero_refuses_every_create():
    team = TeamFactory(slug="shop", quota_load_balancers=0)
    member = add_member(team, UserFactory(username="actor", personal_team=False), "member")

    refused = client_for(member).post(LBS, {"name": "one", "servers": [ServerFactory().pk]}, format="json")

    data = assert_error(refused, 403, "QuotaExceeded")
    assert data["details"] == {"team": "shop", "limit": "load_balancers", "quota": 0, "usage": 0, "requested": 1}
    assert LoadBalancer.objects.count() == 0


def test_more_members_on_one_load_balancer_than_the_quota_is_refused_on_create_and_update(shop):
    shop.team.quota_members = 2
    shop.team.save()
    member = make_actor("member", shop.team)
    servers = ServerFactory.create_batch(3)
    api = client_for(member)
    before = state()

    created = api.post(LBS, {"name": "big", "team": "shop", "servers": [s.pk for s in servers]}, format="json")
    updated = api.patch(f"{LBS}{shop.active.pk}/", {"servers": [s.pk for s in servers]}, format="json")

    for response in (created, updated):
        data = assert_error(response, 403, "QuotaExceeded")
        assert data["details"] == {"team": "shop", "limit": "members", "quota": 2, "usage": 0, "requested": 3}
    assert state() == before
    shop.active.refresh_from_db()
    assert shop.active.members.count() == 0
    # Up to the quota is fine.
    two = [servers[0].pk, servers[1].pk]
    assert api.post(LBS, {"name": "two", "team": "shop", "servers": two}, format="json").status_code == 202
    assert api.patch(f"{LBS}{shop.active.pk}/", {"servers": two}, format="json").status_code == 202


def test_only_operations_set_quotas_and_null_goes_back_to_the_default(shop, settings):
    staff = make_actor("staff", shop.team)
    api = client_for(staff)

    changed = api.patch(f"{TEAMS}shop/", {"quota_load_balancers": 3, "quota_members": 4}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["quotas"] == {"load_balancers": 3, "members": 4}
    assert changed.json()["default_quotas"] == []

    back = api.patch(f"{TEAMS}shop/", {"quota_load_balancers": None}, format="json").json()
    assert back["quotas"] == {"load_balancers": settings.TEAM_QUOTA_LOAD_BALANCERS, "members": 4}
    assert back["default_quotas"] == ["load_balancers"]

    owner = client_for(shop.owner)
    refused = assert_error(owner.patch(f"{TEAMS}shop/", {"quota_members": 99}, format="json"), 403, "PermissionDenied")
    assert refused["details"] == {"team": "shop"}
    shop.team.refresh_from_db()
    assert shop.team.quota_members == 4


# -- the last owner ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["the owner", "staff"])
def test_the_last_owner_can_be_neither_demoted_nor_removed(shop, who):
    api = client_for(shop.owner if who == "the owner" else make_actor("staff", shop.team))
    url = f"{TEAMS}shop/members/{shop.owner.username}/"

    demoted = api.patch(url, {"role": "member"}, format="json")
    removed = api.delete(url)

    for response in (demoted, removed):
        data = assert_error(response, 409, "LastOwner")
        assert data["details"] == {"team": "shop", "username": "shop-owner"}
    assert Membership.objects.get(team=shop.team, user=shop.owner).role == "owner"


def test_with_a_second_owner_the_first_may_step_down_and_leave(shop):
    api = client_for(shop.owner)
    url = f"{TEAMS}shop/members/{shop.owner.username}/"

    assert api.patch(f"{TEAMS}shop/members/shop-carol/", {"role": "owner"}, format="json").json() == {
        "username": "shop-carol",
        "role": "owner",
    }
    assert api.patch(url, {"role": "member"}, format="json").json() == {"username": "shop-owner", "role": "member"}
    assert api.delete(url).status_code == 204
    assert not Membership.objects.filter(user=shop.owner).exists()
    # Now outside the team: it no longer exists for them.
    assert_error(api.get(f"{TEAMS}shop/"), 404, "TeamNotFound")


def test_anyone_may_leave_a_team(shop):
    viewer = make_actor("viewer", shop.team)

    left = client_for(viewer).delete(f"{TEAMS}shop/members/actor/")

    assert left.status_code == 204
    assert not Membership.objects.filter(user=viewer).exists()


def test_membership_errors_name_what_is_wrong(shop):
    api = client_for(shop.owner)
    members = f"{TEAMS}shop/members/"

    assert_error(api.post(members, {"username": "nobody"}, format="json"), 400, "ValidationError", "username")
    assert_error(
        api.post(members, {"username": "shop-newbie", "role": "boss"}, format="json"), 400, "ValidationError", "role"
    )
    already = assert_error(api.post(members, {"username": "shop-carol"}, format="json"), 409, "AlreadyMember")
    assert already["details"] == {"team": "shop", "username": "shop-carol", "role": "viewer"}
    assert_error(api.patch(f"{members}shop-newbie/", {"role": "member"}, format="json"), 404, "MemberNotFound")
    assert_error(api.delete(f"{members}shop-newbie/"), 404, "MemberNotFound")
    added = api.post(members, {"username": "shop-newbie"}, format="json")
    assert (added.status_code, added.json()) == (201, {"username": "shop-newbie", "role": "member"})


# -- retry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["ACTIVE", "PENDING_CREATE", "DELETED"])
def test_retry_is_only_for_a_load_balancer_in_error(shop, status):
    lb = LoadBalancerRowFactory(name="not-broken", team=shop.team, created_by=shop.owner, provisioning_status=status)

    refused = client_for(shop.owner).post(f"{LBS}{lb.pk}/retry/")

    assert_error(refused, 409, "LoadBalancerPending" if status.startswith("PENDING") else "InvalidTransition")
    lb.refresh_from_db()
    assert lb.provisioning_status == status


# -- choosing the team, and seeing only your teams ---------------------------------------------


def test_the_list_filters_by_team_and_holds_only_your_teams(shop):
    mia = UserFactory(username="mia")  # with a team of her own
    add_member(shop.team, mia, "member")
    LoadBalancerRowFactory(name="mias", created_by=mia)
    other = make_shop(name="other")
    api = client_for(mia)

    def listed(query: str = "") -> tuple[int, list[str]]:
        data = api.get(f"{LBS}{query}").json()
        return data["total"], sorted(lb["name"] for lb in data["items"])

    assert listed() == (3, ["mias", "shop-active", "shop-broken"])
    assert listed("?team=shop") == (2, ["shop-active", "shop-broken"])
    assert listed("?team=mia") == (1, ["mias"])
    assert listed("?team=other") == (0, [])
    assert listed("?team=nosuch") == (0, [])
    assert all(lb["team"] == "shop" for lb in api.get(f"{LBS}?team=shop").json()["items"])
    assert other.active.name not in api.get(LBS).content.decode()


def test_someone_outside_a_team_never_sees_its_load_balancers_names_or_count(shop):
    outsider = make_actor("outsider", shop.team)
    LoadBalancerRowFactory(name="mine", team=personal_team(outsider), created_by=outsider)
    api = client_for(outsider)

    listing = api.get(LBS)
    searched = api.get(f"{LBS}?search=shop")
    filtered = api.get(f"{LBS}?team=shop")
    teams = api.get(TEAMS)

    assert listing.json()["total"] == 1
    assert [lb["name"] for lb in listing.json()["items"]] == ["mine"]
    assert searched.json()["total"] == filtered.json()["total"] == 0
    for response in (listing, searched, filtered, teams):
        assert "shop" not in response.content.decode()
    assert [team["slug"] for team in teams.json()["items"]] == ["actor"]


def test_a_team_you_are_not_in_answers_as_one_that_does_not_exist(shop):
    api = client_for(make_actor("outsider", shop.team))
    servers = [shop.servers[0].pk]

    def body(response, slug: str) -> str:  # type: ignore[no-untyped-def]
        return response.content.decode().replace(slug, "SLUG")

    for make_request in (
        lambda slug: api.get(f"{TEAMS}{slug}/"),
        lambda slug: api.get(f"{TEAMS}{slug}/members/"),
        lambda slug: api.post(f"{TEAMS}{slug}/members/", {"username": "shop-newbie"}, format="json"),
        lambda slug: api.delete(f"{TEAMS}{slug}/members/shop-carol/"),
        lambda slug: api.post(LBS, {"name": "x", "team": slug, "servers": servers}, format="json"),
    ):
        existing, missing = make_request("shop"), make_request("nosuch")
        assert existing.status_code == missing.status_code
        assert body(existing, "shop") == body(missing, "nosuch")
    missing_lb = api.get(f"{LBS}00000000-0000-0000-0000-000000000000/")
    hidden_lb = api.get(f"{LBS}{shop.active.pk}/")
    assert hidden_lb.status_code == missing_lb.status_code == 404
    assert shop.active.name not in hidden_lb.content.decode()


def test_a_user_in_two_teams_where_they_may_create_must_name_one(shop):
    mia = add_member(shop.team, UserFactory(username="mia"), "member")  # also owner of her own team "mia"
    api = client_for(mia)

    refused = api.post(LBS, {"name": "fresh", "servers": [shop.servers[0].pk]}, format="json")

    data = assert_error(refused, 400, "ValidationError", "team")
    assert "mia" in data["details"]["team"][0]
    assert "shop" in data["details"]["team"][0]
    assert set(data["details"]) == {"team"}
    assert LoadBalancer.objects.filter(name="fresh").count() == 0
    named = api.post(LBS, {"name": "fresh", "team": "shop", "servers": [shop.servers[0].pk]}, format="json")
    assert (named.status_code, named.json()["team"]) == (202, "shop")


def test_without_a_team_the_only_one_where_you_may_create_is_used(shop):
    mia = UserFactory(username="mia", personal_team=False)
    add_member(shop.team, mia, "member")
    add_member(TeamFactory(slug="looking"), mia, "viewer")

    created = client_for(mia).post(LBS, {"name": "fresh", "servers": [shop.servers[0].pk]}, format="json")

    assert (created.status_code, created.json()["team"]) == (202, "shop")


def test_without_a_team_a_viewer_is_told_the_role_and_someone_in_no_team_to_ask(shop):
    viewer = make_actor("viewer", shop.team)
    loner = UserFactory(username="loner", personal_team=False)
    body = {"name": "fresh", "servers": [shop.servers[0].pk]}

    as_viewer = assert_error(client_for(viewer).post(LBS, body, format="json"), 403, "NotAllowed")
    alone = assert_error(client_for(loner).post(LBS, body, format="json"), 400, "ValidationError", "team")

    assert as_viewer["details"] == {"team": "shop", "role": "viewer", "needed": "member"}
    assert "no team" in alone["details"]["team"][0]
    assert LoadBalancer.objects.filter(name="fresh").count() == 0
