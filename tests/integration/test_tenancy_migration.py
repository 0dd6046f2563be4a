"""The migrations that brought teams: every user gets a personal team they own, every
load balancer moves into its creator's, and DRF's plain tokens become hashed API tokens
that keep working.  Run from the state before them, with data made through the
historical models, then forward to the latest state (where the database is left)."""

import contextlib
import hashlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from accounts.models import ApiToken, Membership, Team
from loadbalancers.models import LoadBalancer

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0001_initial"), ("loadbalancers", "0003_orphans")]

# username -> the slug of the personal team it should get, in the order the users are made.
USERS = {
    "alice": "alice",
    "Bob.Smith": "bob-smith",
    "bob-smith": "bob-smith-2",  # slugifies as the one before: the later user gets -2
    "bob_smith": "bob-smith-3",
    "carol": "carol-2",  # a team named carol exists already
    "__": "user",  # nothing left of it
    "l" * 150: "l" * 59,  # as long as a username may be: the slug and the name are cut to fit
}
DRF_KEYS = {
    "alice": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
    "bob-smith": "0123456789abcdef0123456789abcdef01234567",
}
DRF_CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def create_drf_token_table() -> None:
    """rest_framework.authtoken's table as it was (that app is no longer installed)."""
    created = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created {created} NOT NULL,"
            " user_id integer NOT NULL UNIQUE)"
        )


def insert_drf_token(key: str, user_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [key, DRF_CREATED.strftime("%Y-%m-%d %H:%M:%S"), user_id],  # as Django stores it: UTC
        )


def make_old_data(apps) -> dict[str, list[str]]:
    """Users, load balancers with an ``owner`` and DRF tokens, as before teams; returns
    each username's load balancer names."""
    User = apps.get_model("auth", "User")
    OldLoadBalancer = apps.get_model("loadbalancers", "LoadBalancer")
    OldTeam = apps.get_model("accounts", "Team")
    OldTeam.objects.create(slug="carol", name="A team made by hand")
    users = {username: User.objects.create(username=username, password="!") for username in USERS}
    owned = {
        "alice": ["shop", "blog", "old-shop"],
        "Bob.Smith": ["api"],
        "bob-smith": ["api-2"],
        "bob_smith": [],
        "carol": [],
        "__": ["nameless"],
    }
    for username, names in owned.items():
        for name in names:
            OldLoadBalancer.objects.create(
                name=name,
                owner=users[username],
                listener_protocol="HTTP",
                listener_port=80,
                algorithm="ROUND_ROBIN",
                provisioning_status="DELETED" if name.startswith("old-") else "ACTIVE",
                operating_status="ONLINE",
                provider="sandbox",
            )
    create_drf_token_table()
    for username, key in DRF_KEYS.items():
        insert_drf_token(key, users[username].pk)
    return owned


def migrate_to_latest() -> None:
    """Every app to its latest migration (accounts 0003_hash_drf_tokens, and the
    loadbalancers migration that makes the team required, at the time of writing)."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_users_get_personal_teams_their_load_balancers_and_their_tokens_move_with_them():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        owned = make_old_data(executor.loader.project_state(BEFORE).apps)

        migrate_to_latest()
    except BaseException:
        # Later tests need the latest schema; the first failure is the one to report.
        with contextlib.suppress(Exception):
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS authtoken_token")
            migrate_to_latest()
        raise

    check_personal_teams()
    check_load_balancers(owned)
    check_tokens()


def check_personal_teams() -> None:
    memberships = Membership.objects.select_related("team", "user").order_by("user__pk")
    assert [(m.user.username, m.team.slug, m.role) for m in memberships] == [
        (username, slug, "owner") for username, slug in USERS.items()
    ]
    for membership in memberships:
        assert membership.team.name == f"{membership.user.username[:89]} (personal)"
        assert (membership.team.quota_load_balancers, membership.team.quota_members) == (None, None)
    assert Team.objects.get(slug="carol").memberships.count() == 0


def check_load_balancers(owned: dict[str, list[str]]) -> None:
    found = {
        lb.name: (lb.created_by.username, lb.team.slug)
        for lb in LoadBalancer.objects.select_related("created_by", "team")
    }
    assert found == {name: (username, USERS[username]) for username, names in owned.items() for name in names}


def check_tokens() -> None:
    assert "authtoken_token" not in connection.introspection.table_names()
    tokens = {token.user.username: token for token in ApiToken.objects.select_related("user")}
    assert set(tokens) == set(DRF_KEYS)
    for username, key in DRF_KEYS.items():
        token = tokens[username]
        assert token.digest == hashlib.sha256(key.encode()).hexdigest()
        assert token.prefix == key[:12]
        assert (token.write, token.expires_at, token.last_used_at) == (True, None, None)
        assert token.created_at == DRF_CREATED
        assert key not in {token.digest, token.prefix, token.description}
    # A client keeps the key it has: it still signs in, and sees its load balancers.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {DRF_KEYS['alice']}")
    response = client.get("/api/v1/load-balancers/")
    assert response.status_code == 200, response.content
    assert sorted(lb["name"] for lb in response.json()["items"]) == ["blog", "shop"]
