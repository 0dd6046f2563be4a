"""Teams, roles and quotas on the pages, through Django's test client: the same role
matrix as the API's, and what each page says about it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import ApiToken, Membership
from loadbalancers.models import LoadBalancer
from tests.conftest import token_for
from tests.e2e.test_tenancy_api import ROLES, Shop, make_actor, make_shop, state
from tests.factories import LoadBalancerRowFactory, TeamFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def web(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    """The page with its whitespace folded, so that phrases can be looked for whole."""
    return " ".join(response.content.decode().split())


def create_form(shop: Shop, **fields) -> dict:  # type: ignore[no-untyped-def]
    return {
        "name": "fresh",
        "team": "shop",
        "listener_protocol": "HTTP",
        "listener_port": "80",
        "algorithm": "ROUND_ROBIN",
        "description": "",
        "servers": [shop.servers[0].pk],
        **fields,
    }


def edit_form(shop: Shop) -> dict:
    return {
        "servers": [shop.servers[0].pk],
        "algorithm": "ROUND_ROBIN",
        "description": "new",
        "version": shop.active.version,
    }


# -- the role matrix ------------------------------------------------------------------------------

ACTIONS = {
    # name: (request, whether it would write)
    "list": (lambda c, s: c.get("/load-balancers/"), False),
    "detail": (lambda c, s: c.get(f"/load-balancers/{s.active.pk}/"), False),
    "create form": (lambda c, s: c.get("/load-balancers/new/"), False),
    "create": (lambda c, s: c.post("/load-balancers/new/", create_form(s)), True),
    "edit page": (lambda c, s: c.get(f"/load-balancers/{s.active.pk}/edit/"), False),
    "edit": (lambda c, s: c.post(f"/load-balancers/{s.active.pk}/edit/", edit_form(s)), True),
    "delete page": (lambda c, s: c.get(f"/load-balancers/{s.active.pk}/delete/"), False),
    "delete": (lambda c, s: c.post(f"/load-balancers/{s.active.pk}/delete/"), True),
    "teams": (lambda c, s: c.get("/teams/"), False),
    "team page": (lambda c, s: c.get("/teams/shop/"), False),
    "add member": (
        lambda c, s: c.post("/teams/shop/members/add/", {"username": s.newbie.username, "role": "viewer"}),
        True,
    ),
    "change role": (
        lambda c, s: c.post("/teams/shop/members/role/", {"username": s.carol.username, "role": "member"}),
        True,
    ),
    "remove member": (lambda c, s: c.post("/teams/shop/members/remove/", {"username": s.carol.username}), True),
    "tokens page": (lambda c, s: c.get("/account/tokens/"), False),
    "make token": (lambda c, s: c.post("/account/tokens/", {"description": "ci", "write": "on"}), True),
}


@dataclass(frozen=True)
class Expect:
    status: int
    says: tuple[str, ...] = ()  # on the page (after a redirect: on the page it leads to)
    hides: tuple[str, ...] = ()
    changes: bool = False


def says(status: int, *phrases: str, changes: bool = False) -> Expect:
    return Expect(status, says=phrases, changes=changes)


def hides(status: int, *phrases: str) -> Expect:
    return Expect(status, hides=phrases)


NOT_FOUND = Expect(404)
IN_TEAM = ("viewer", "member", "owner")
EDIT_LINK = "/edit/"
ADD_FORM = 'action="/teams/shop/members/add/"'
SHOP_OPTION = '<option value="shop"'


def cannot(action: str) -> Expect:
    return says(403, f"You cannot {action} shop-active", "where your role is <strong>viewer</strong>", "shop-owner")


def lb_write(verb: str, done: str) -> dict[str, Expect]:
    return {
        "viewer": cannot(verb),
        "member": says(302, f"Load balancer shop-active is being {done}", changes=True),
        "owner": says(302, f"Load balancer shop-active is being {done}", changes=True),
        "outsider": NOT_FOUND,
        "staff": says(302, f"Load balancer shop-active is being {done}", changes=True),
    }


def membership_change(done: str) -> dict[str, Expect]:
    refused = says(302, "Nothing was changed: to ", "you need the role owner; your role there is")
    done_ = says(302, done, changes=True)
    return {"viewer": refused, "member": refused, "owner": done_, "outsider": NOT_FOUND, "staff": done_}


MATRIX: dict[str, dict[str, Expect]] = {
    "list": {**dict.fromkeys(ROLES, says(200, "shop-active")), "outsider": hides(200, "shop-active", "shop-broken")},
    "detail": {
        "viewer": Expect(200, says=("shop-active",), hides=(EDIT_LINK,)),
        "member": says(200, "shop-active", EDIT_LINK),
        "owner": says(200, "shop-active", EDIT_LINK),
        "outsider": hides(404, "shop-active"),
        "staff": says(200, "shop-active", EDIT_LINK),
    },
    "create form": {
        "viewer": hides(200, SHOP_OPTION),
        "member": says(200, SHOP_OPTION),
        "owner": says(200, SHOP_OPTION),
        "outsider": hides(200, SHOP_OPTION),
        "staff": says(200, SHOP_OPTION),
    },
    "create": {
        "viewer": says(
            200, "to create load balancers in team shop you need the role member; your role there is viewer"
        ),
        "member": says(302, "Load balancer fresh is being created.", changes=True),
        "owner": says(302, "Load balancer fresh is being created.", changes=True),
        "outsider": says(200, "you are in no team named &#x27;shop&#x27;"),
        "staff": says(302, "Load balancer fresh is being created.", changes=True),
    },
    "edit page": {**dict.fromkeys(ROLES, says(200, "shop-active")), "viewer": cannot("change"), "outsider": NOT_FOUND},
    "edit": lb_write("change", "updated"),
    "delete page": {
        **dict.fromkeys(ROLES, says(200, "cannot be undone")),
        "viewer": cannot("delete"),
        "outsider": NOT_FOUND,
    },
    "delete": lb_write("delete", "deleted"),
    "teams": {**dict.fromkeys(ROLES, says(200, 'href="/teams/shop/"')), "outsider": hides(200, 'href="/teams/shop/"')},
    "team page": {
        "viewer": Expect(200, says=("Your role here: <strong>viewer</strong>", "Leave the team"), hides=(ADD_FORM,)),
        "member": Expect(200, says=("Your role here: <strong>member</strong>",), hides=(ADD_FORM,)),
        "owner": says(200, "Your role here: <strong>owner</strong>", ADD_FORM, "Remove shop-carol"),
        "outsider": NOT_FOUND,
        "staff": says(200, "You are not in this team; you see it as operations.", ADD_FORM, "Remove shop-carol"),
    },
    # Someone whose role does not let them add (a form kept open while an owner demoted them) is told why.
    "add member": {
        "viewer": says(400, "to add members in team shop you need the role owner; your role there is viewer"),
        "member": says(400, "to add members in team shop you need the role owner; your role there is member"),
        "owner": says(302, "shop-newbie is now a viewer of Shop.", changes=True),
        "outsider": NOT_FOUND,
        "staff": says(302, "shop-newbie is now a viewer of Shop.", changes=True),
    },
    "change role": membership_change("shop-carol is now a member."),
    "remove member": membership_change("shop-carol is no longer in the team."),
    "tokens page": dict.fromkeys(ROLES, says(200, "API tokens", "You have no API tokens.")),
    "make token": dict.fromkeys(ROLES, says(200, "Your new token", "Copy it now", changes=True)),
}
assert set(MATRIX) == set(ACTIONS)
assert all(set(row) == set(ROLES) for row in MATRIX.values())

CELLS = [(role, action) for action in MATRIX for role in ROLES]


@pytest.mark.parametrize(("role", "action"), CELLS, ids=[f"{role}-{action}" for role, action in CELLS])
def test_role_matrix(shop, role, action):
    client = web(make_actor(role, shop.team))
    request, _ = ACTIONS[action]
    expected = MATRIX[action][role]
    before = state()

    response = request(client, shop)

    assert response.status_code == expected.status, text(response)[:2000]
    assert (state() != before) is expected.changes
    shown = text(client.get(response["Location"]) if response.status_code == 302 else response)
    for phrase in expected.says:
        assert phrase in shown, phrase
    for phrase in expected.hides:
        assert phrase not in shown, phrase


# -- load balancer pages ----------------------------------------------------------------------------


def test_the_list_shows_only_your_teams_load_balancers_and_filters_by_team(shop):
    mia = add_member(shop.team, UserFactory(username="mia"), "viewer")  # and owner of her own team
    LoadBalancerRowFactory(name="mias", created_by=mia)
    make_shop(name="other")
    client = web(mia)

    listing = client.get("/load-balancers/")
    only_shop = client.get("/load-balancers/?team=shop")
    foreign = client.get("/load-balancers/?team=other")

    assert sorted(lb.name for lb in listing.context["page"].items) == ["mias", "shop-active", "shop-broken"]
    assert listing.context["page"].total == 3
    assert "other-active" not in text(listing)
    assert sorted(listing.context["teams"]) == ["mia", "shop"]  # the team filter offers her teams
    assert sorted(lb.name for lb in only_shop.context["page"].items) == ["shop-active", "shop-broken"]
    assert foreign.context["page"].total == 0
    assert "other-" not in text(foreign)


def test_someone_outside_the_team_gets_a_404_that_names_nothing(shop):
    client = web(make_actor("outsider", shop.team))

    for path in ("", "edit/", "delete/"):
        response = client.get(f"/load-balancers/{shop.active.pk}/{path}")
        assert response.status_code == 404
        assert "shop-active" not in text(response)
        assert "Shop" not in text(response)
    assert client.post(f"/load-balancers/{shop.active.pk}/delete/").status_code == 404
    assert client.get("/teams/shop/").status_code == 404
    shop.active.refresh_from_db()
    assert shop.active.provisioning_status == "ACTIVE"


def test_a_viewer_is_shown_why_they_cannot_change_and_whom_to_ask(shop):
    client = web(make_actor("viewer", shop.team))
    add_member(shop.team, UserFactory(username="another-owner", personal_team=False), "owner")

    for path, action in (("edit/", "change"), ("delete/", "delete")):
        for response in (
            client.get(f"/load-balancers/{shop.active.pk}/{path}"),
            client.post(f"/load-balancers/{shop.active.pk}/{path}", edit_form(shop)),
        ):
            assert response.status_code == 403
            page = text(response)
            assert f"You cannot {action} shop-active" in page
            assert "where your role is <strong>viewer</strong>" in page
            assert "ask an owner of the team: another-owner, shop-owner" in page
            assert 'href="/teams/shop/"' in page
    shop.active.refresh_from_db()
    assert (shop.active.provisioning_status, shop.active.description) == ("ACTIVE", "")


def test_the_create_form_offers_the_teams_where_you_may_create_with_their_usage_and_quota(shop, settings):
    shop.team.quota_load_balancers = 5
    shop.team.save()
    member = add_member(shop.team, UserFactory(username="mia"), "member")  # and owner of "mia"
    add_member(TeamFactory(slug="looking", name="Looking"), member, "viewer")
    LoadBalancerRowFactory(name="mias", created_by=member)

    page = web(member).get("/load-balancers/new/")

    shown = text(page)
    assert [team.slug for team in page.context["teams"]] == ["mia", "shop"]
    assert f"Shop: 2 of 5 load balancers, up to {settings.TEAM_QUOTA_MEMBERS} servers each" in shown
    assert f"mia (personal): 1 of {settings.TEAM_QUOTA_LOAD_BALANCERS} load balancers" in shown
    assert '<option value="looking"' not in shown
    assert "Choose a team" in shown  # two teams: nothing chosen for her


def test_with_one_team_the_create_form_has_it_chosen(shop):
    member = make_actor("member", shop.team)

    shown = text(web(member).get("/load-balancers/new/"))

    assert '<option value="shop" selected>Shop: 2 of' in shown
    assert "Choose a team" not in shown


def test_someone_in_no_team_where_they_may_create_is_told_whom_to_ask(shop):
    viewer = make_actor("viewer", shop.team)

    page = web(viewer).get("/load-balancers/new/")

    assert page.context["teams"] == []
    assert "You are in no team where you may create load balancers" in text(page)


def test_creating_beyond_the_quota_says_so_on_the_form(shop):
    shop.team.quota_load_balancers = 2
    shop.team.save()
    client = web(make_actor("member", shop.team))

    response = client.post("/load-balancers/new/", create_form(shop))

    assert response.status_code == 200
    assert "team shop may have at most 2 live load balancers; it has 2 and this would make 3" in text(response)
    assert not LoadBalancer.objects.filter(name="fresh").exists()


def test_with_two_teams_the_form_asks_which(shop):
    mia = add_member(shop.team, UserFactory(username="mia"), "member")

    response = web(mia).post("/load-balancers/new/", create_form(shop, team=""))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["team"]
    assert "choose the team it belongs to: one of mia, shop" in text(response)
    assert not LoadBalancer.objects.filter(name="fresh").exists()


def test_a_load_balancer_made_on_the_page_belongs_to_the_chosen_team_and_names_its_creator(shop):
    member = make_actor("member", shop.team)
    client = web(member)

    response = client.post("/load-balancers/new/", create_form(shop), follow=True)

    lb = LoadBalancer.objects.get(name="fresh")
    assert (lb.team.slug, lb.created_by.username) == ("shop", "actor")
    page = text(response)
    assert '<dt>Team</dt><dd><a href="/teams/shop/">shop</a></dd>' in page
    assert "<dt>Created by</dt><dd>actor</dd>" in page


# -- the team page --------------------------------------------------------------------------------------


def test_an_owner_adds_changes_and_removes_members_on_the_team_page(shop):
    client = web(shop.owner)

    page = text(client.get("/teams/shop/"))
    for action in ("add", "role", "remove"):
        assert f'action="/teams/shop/members/{action}/"' in page

    added = client.post("/teams/shop/members/add/", {"username": "shop-newbie", "role": "member"}, follow=True)
    assert added.redirect_chain == [("/teams/shop/", 302)]
    assert "shop-newbie is now a member of Shop." in text(added)
    assert Membership.objects.get(team=shop.team, user=shop.newbie).role == "member"

    promoted = client.post("/teams/shop/members/role/", {"username": "shop-newbie", "role": "owner"}, follow=True)
    assert re.search(r"shop-newbie is now an? owner\.", text(promoted))
    assert Membership.objects.get(team=shop.team, user=shop.newbie).role == "owner"

    removed = client.post("/teams/shop/members/remove/", {"username": "shop-carol"}, follow=True)
    assert "shop-carol is no longer in the team." in text(removed)
    assert not Membership.objects.filter(user=shop.carol).exists()
    assert "<td>shop-carol</td>" not in text(removed)


def test_removing_or_demoting_the_last_owner_is_refused_with_a_message(shop):
    client = web(shop.owner)
    said = "Nothing was changed: shop-owner is the last owner of team shop: make someone else owner first"

    removed = client.post("/teams/shop/members/remove/", {"username": "shop-owner"}, follow=True)
    demoted = client.post("/teams/shop/members/role/", {"username": "shop-owner", "role": "viewer"}, follow=True)

    for response in (removed, demoted):
        assert response.redirect_chain == [("/teams/shop/", 302)]
        assert said in text(response)
    assert Membership.objects.get(team=shop.team, user=shop.owner).role == "owner"


def test_adding_someone_unknown_or_already_in_shows_the_error_on_the_form(shop):
    client = web(shop.owner)

    unknown = client.post("/teams/shop/members/add/", {"username": "nobody", "role": "member"})
    already = client.post("/teams/shop/members/add/", {"username": "shop-carol", "role": "member"})
    bad_role = client.post("/teams/shop/members/add/", {"username": "shop-newbie", "role": "boss"})

    assert unknown.status_code == already.status_code == bad_role.status_code == 400
    assert unknown.context["add_form"].errors == {"username": ["no active user 'nobody'"]}
    assert "shop-carol is already in team shop (as viewer); change their role instead" in text(already)
    assert "role" in bad_role.context["add_form"].errors
    assert 'value="nobody"' in text(unknown)  # what was typed is kept
    assert Membership.objects.filter(team=shop.team).count() == 2


def test_a_member_may_leave_the_team_and_is_sent_to_their_teams(shop):
    member = make_actor("member", shop.team)
    client = web(member)

    left = client.post("/teams/shop/members/remove/", {"username": "actor"}, follow=True)

    assert left.redirect_chain == [("/teams/", 302)]
    assert "You left the team." in text(left)
    assert not Membership.objects.filter(user=member).exists()
    assert client.get("/teams/shop/").status_code == 404


# -- the API tokens page -----------------------------------------------------------------------------------


def test_the_tokens_page_shows_a_new_key_once_and_never_again(alice):
    client = web(alice)

    made = client.post("/account/tokens/", {"description": "laptop", "write": "on"})

    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    key = re.search(r'<code class="mono" id="new-key">([^<]+)</code>', made.content.decode()).group(1)
    row = ApiToken.objects.get(user=alice)
    assert row.description == "laptop"
    assert row.write is True
    assert row.prefix == key[:12]
    assert key not in row.digest
    reloaded = client.get("/account/tokens/")
    assert key not in reloaded.content.decode()
    assert "Your new token" not in text(reloaded)
    assert f"{row.prefix}…" in text(reloaded)
    assert "laptop" in text(reloaded)
    # The key works for the API.
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/load-balancers/").status_code == 200


def test_a_token_made_on_the_page_without_write_is_read_only(alice):
    client = web(alice)

    client.post("/account/tokens/", {"description": "reader"})

    assert ApiToken.objects.get(user=alice).write is False
    assert "read only" in text(client.get("/account/tokens/"))


def test_an_expiry_in_the_past_is_refused_on_the_page(alice):
    response = web(alice).post("/account/tokens/", {"expires_at": "2001-01-01T00:00", "write": "on"})

    assert response.status_code == 400
    assert "must be in the future" in text(response)
    assert "expires_at must" not in text(response)  # the field's label says which
    assert "Your new token" not in text(response)
    assert ApiToken.objects.count() == 0


def test_revoking_on_the_page_stops_the_token_and_others_tokens_are_out_of_reach(alice, bob):
    client = web(alice)
    client.post("/account/tokens/", {"description": "laptop", "write": "on"})
    mine = ApiToken.objects.get(user=alice)
    bobs_key = token_for(bob, description="bobs")
    bobs = ApiToken.objects.get(user=bob)
    assert "bobs" not in text(client.get("/account/tokens/"))

    assert client.post(f"/account/tokens/{bobs.pk}/revoke/").status_code == 404
    revoked = client.post(f"/account/tokens/{mine.pk}/revoke/", follow=True)

    assert revoked.redirect_chain == [("/account/tokens/", 302)]
    assert "The token is revoked: it no longer works." in text(revoked)
    assert "You have no API tokens." in text(revoked)
    assert not ApiToken.objects.filter(pk=mine.pk).exists()
    assert Client(HTTP_AUTHORIZATION=f"Token {bobs_key}").get("/api/v1/load-balancers/").status_code == 200
    assert client.get(f"/account/tokens/{mine.pk}/revoke/").status_code == 405
