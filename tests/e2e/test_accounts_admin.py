"""Operations manage teams, memberships, quotas, provider projects and tokens in the admin,
through the same services as the pages and the API: their rules hold here too."""

import pytest
from django.contrib.messages import get_messages

from accounts.adapters.repositories import DjangoTeamRepository
from accounts.models import ApiToken, Membership, Team
from audit.models import AuditEntry
from tests.conftest import token_for
from tests.factories import TeamFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db

TEAM_ADMIN = "/admin/accounts/team/"
TOKEN_ADMIN = "/admin/accounts/apitoken/"
KEYSTONE_ID = "0123456789abcdef0123456789abcdef"


def team_form(team: Team, members: list[Membership], **changes) -> dict:
    """The team's change form as the admin renders it, with ``changes`` applied."""
    data = {
        "name": team.name,
        "quota_load_balancers": team.quota_load_balancers or "",
        "quota_members": team.quota_members or "",
        "project_id": team.project_id,
        "memberships-TOTAL_FORMS": str(len(members) + 1),
        "memberships-INITIAL_FORMS": str(len(members)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, member in enumerate(members):
        data.update(
            {
                f"memberships-{i}-id": str(member.pk),
                f"memberships-{i}-team": str(team.pk),
                f"memberships-{i}-user": str(member.user_id),
                f"memberships-{i}-role": member.role,
            }
        )
    extra = len(members)  # the empty row the admin adds
    data.update(
        {f"memberships-{extra}-team": str(team.pk), f"memberships-{extra}-user": "", f"memberships-{extra}-role": ""}
    )
    data.update(changes)
    return data


def roles(team: Team) -> dict[str, str]:
    return dict(team.memberships.values_list("user__username", "role"))


def test_ops_create_a_team_with_its_own_quotas(ops_web):
    response = ops_web.post(
        f"{TEAM_ADMIN}add/",
        {
            "slug": "payments",
            "name": "Payments",
            "quota_load_balancers": "3",
            "quota_members": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    team = Team.objects.get(slug="payments")
    assert (team.name, team.quota_load_balancers, team.quota_members) == ("Payments", 3, None)


def test_a_bad_team_is_refused_on_the_form_with_every_problem(ops_web):
    response = ops_web.post(
        f"{TEAM_ADMIN}add/",
        {
            "slug": "Not A Slug",
            "name": " ",
            "quota_load_balancers": "2000000",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"slug", "name", "quota_load_balancers"}
    assert not Team.objects.filter(name=" ").exists()


def test_members_are_added_and_roles_changed_through_the_service(ops_web):
    owner, newcomer = UserFactory(username="olga"), UserFactory(username="nick")
    team = TeamFactory(slug="shop")
    add_member(team, owner, "owner")
    members = list(team.memberships.order_by("pk"))

    data = team_form(team, members, quota_members="5")
    data[f"memberships-{len(members)}-user"] = str(newcomer.pk)
    data[f"memberships-{len(members)}-role"] = "viewer"
    response = ops_web.post(f"{TEAM_ADMIN}{team.pk}/change/", data)

    assert response.status_code == 302
    assert roles(team) == {"olga": "owner", "nick": "viewer"}
    team.refresh_from_db()
    assert team.quota_members == 5


def test_the_last_owner_cannot_be_demoted_or_removed_in_the_admin(ops_web):
    owner, member = UserFactory(username="olga"), UserFactory(username="mia")
    team = TeamFactory(slug="shop")
    add_member(team, owner, "owner")
    add_member(team, member, "member")
    members = list(team.memberships.order_by("pk"))

    demoted = team_form(team, members, **{"memberships-0-role": "member"})
    response = ops_web.post(f"{TEAM_ADMIN}{team.pk}/change/", demoted)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert "last owner" in " ".join(formset.non_form_errors())

    removed = team_form(team, members, **{"memberships-0-DELETE": "on"})
    response = ops_web.post(f"{TEAM_ADMIN}{team.pk}/change/", removed)
    assert response.status_code == 200
    assert roles(team) == {"olga": "owner", "mia": "member"}

    # Promoting another first makes the same change possible.
    handed_over = team_form(team, members, **{"memberships-0-role": "member", "memberships-1-role": "owner"})
    assert ops_web.post(f"{TEAM_ADMIN}{team.pk}/change/", handed_over).status_code == 302
    assert roles(team) == {"olga": "member", "mia": "owner"}


def test_the_team_page_shows_usage_and_no_delete(ops_web):
    team = TeamFactory(slug="shop", quota_load_balancers=7)

    page = ops_web.get(f"{TEAM_ADMIN}{team.pk}/change/").content.decode()

    assert "0 of 7 live load balancers" in page
    assert f"{TEAM_ADMIN}{team.pk}/delete/" not in page
    assert ops_web.get(f"{TEAM_ADMIN}{team.pk}/delete/").status_code == 403


def team_updates(team: Team) -> list[list[dict]]:
    """The changes of each team.updated entry about the team, oldest first."""
    entries = AuditEntry.objects.filter(action="team.updated", target_id=str(team.pk)).order_by("id")
    return [entry.changes for entry in entries]


def test_ops_set_a_teams_provider_project_it_is_stored_and_the_trail_tells_it(ops_web):
    team, other = TeamFactory(slug="shop"), TeamFactory(slug="blog")
    add_member(team, UserFactory(username="olga"), "owner")
    members = list(team.memberships.order_by("pk"))

    response = ops_web.post(f"{TEAM_ADMIN}{team.pk}/change/", team_form(team, members, project_id=KEYSTONE_ID))

    assert response.status_code == 302
    team.refresh_from_db()
    assert team.project_id == KEYSTONE_ID
    assert team_updates(team) == [[{"field": "project_id", "before": None, "after": KEYSTONE_ID}]]
    # What the load balancers' unit of work reads for the provider, in one query.
    assert DjangoTeamRepository().projects_of([team.pk, other.pk, other.pk + 100]) == {
        team.pk: KEYSTONE_ID,
        other.pk: None,
    }
    listing = ops_web.get(TEAM_ADMIN).content.decode()
    assert KEYSTONE_ID in listing
    assert "(provider default)" in listing

    # Emptied: back to the provider's default project.
    response = ops_web.post(f"{TEAM_ADMIN}{team.pk}/change/", team_form(team, members, project_id=""))

    assert response.status_code == 302
    team.refresh_from_db()
    assert team.project_id == ""
    assert team_updates(team)[-1] == [{"field": "project_id", "before": KEYSTONE_ID, "after": None}]
    assert DjangoTeamRepository().projects_of([team.pk]) == {team.pk: None}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tenant/a b", "project_id may contain only letters, digits, - and _ (got 'tenant/a b')"),
        ("x" * 65, "at most 64 characters"),
    ],
)
def test_a_bad_project_shows_the_error_on_the_form_and_changes_nothing(ops_web, value, message):
    team = TeamFactory(slug="shop", name="Shop", project_id="proj-a")
    add_member(team, UserFactory(username="olga"), "owner")
    members = list(team.memberships.order_by("pk"))

    response = ops_web.post(
        f"{TEAM_ADMIN}{team.pk}/change/", team_form(team, members, name="Renamed", project_id=value)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["project_id"]
    assert message in " ".join(errors["project_id"])
    team.refresh_from_db()
    assert (team.name, team.project_id) == ("Shop", "proj-a")
    assert team_updates(team) == []


def test_ops_create_a_team_in_its_provider_project(ops_web):
    response = ops_web.post(
        f"{TEAM_ADMIN}add/",
        {
            "slug": "payments",
            "name": "Payments",
            "project_id": "payments_prod-1",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    team = Team.objects.get(slug="payments")
    assert team.project_id == "payments_prod-1"
    (created,) = AuditEntry.objects.filter(action="team.created", target_id=str(team.pk))
    assert {"field": "project_id", "before": None, "after": "payments_prod-1"} in created.changes


def test_ops_revoke_anyones_token_and_it_stops_working(ops_web, client):
    alice = UserFactory(username="alice")
    key = token_for(alice, description="laptop")
    assert client.get("/api/v1/servers/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    token = ApiToken.objects.get(user=alice)

    listing = ops_web.get(TOKEN_ADMIN).content.decode()
    assert token.prefix in listing
    assert key not in listing
    response = ops_web.post(TOKEN_ADMIN, {"action": "revoke", "_selected_action": [str(token.pk)]}, follow=True)

    assert [str(m) for m in get_messages(response.wsgi_request)] == [f"Token {token.prefix}… revoked."]
    assert client.get("/api/v1/servers/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
