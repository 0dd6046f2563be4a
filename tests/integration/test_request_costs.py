"""What a request costs the database besides its own work: the token, its user and their
roles in one query; an audit entry written after commit in one statement; an event no
webhook wants read without a transaction."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import selectors
from accounts.domain.tokens import digest_of
from audit.adapters.repositories import DjangoAuditRepository
from audit.domain.model import AuditEntry
from audit.models import AuditEntry as AuditRow
from tests.conftest import client_for, token_for
from tests.factories import ServerFactory, TeamFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


def _touching(queries, table):
    return [q["sql"] for q in queries.captured_queries if f'"{table}"' in q["sql"]]


class TestTheTokenAndTheRoles:
    def test_the_token_its_user_and_every_role_come_in_one_query(self):
        alice = UserFactory(username="alice")
        add_member(TeamFactory(slug="shop"), alice, "member")
        add_member(TeamFactory(slug="docs"), alice, "viewer")
        key = token_for(alice)

        with CaptureQueriesContext(connection) as queries:
            token, user = selectors.token_with_user(digest_of(key))
            roles = selectors.roles_of_user(user)

        assert len(queries) == 1
        assert (token.username, user.username) == ("alice", "alice")
        assert roles == selectors.roles_of(alice.pk)
        assert sorted(roles.values()) == ["member", "owner", "viewer"]

    def test_a_user_in_no_team_is_found_with_no_roles(self):
        loner = UserFactory(username="loner", personal_team=False)

        token, user = selectors.token_with_user(digest_of(token_for(loner)))

        assert (token.username, selectors.roles_of_user(user)) == ("loner", {})

    def test_an_unknown_token_is_none(self):
        assert selectors.token_with_user(digest_of("no-such-key")) is None

    def test_a_user_not_read_with_a_token_has_their_roles_read_now(self):
        bob = UserFactory(username="bob")
        with CaptureQueriesContext(connection) as queries:
            roles = selectors.roles_of_user(bob)
        assert (len(queries), list(roles.values())) == (1, ["owner"])

    def test_an_api_request_reads_memberships_only_with_its_token(self):
        alice = UserFactory(username="alice")
        add_member(TeamFactory(slug="shop"), alice, "viewer")
        api = client_for(alice)
        api.get("/api/v1/load-balancers/")  # the token's first use of the minute also notes when

        with CaptureQueriesContext(connection) as queries:
            listed = api.get("/api/v1/load-balancers/?team=shop")
            refused = api.post("/api/v1/load-balancers/", {"name": "a", "team": "shop", "servers": [1]}, format="json")

        assert listed.status_code == 200
        assert refused.status_code == 403, refused.json()  # a viewer of shop: the roles came with the token
        assert len(_touching(queries, "accounts_membership")) == 2
        assert all('"accounts_apitoken"' in sql for sql in _touching(queries, "accounts_membership"))


@pytest.mark.django_db(transaction=True)
class TestAfterCommit:
    def test_an_audit_entry_outside_a_transaction_is_one_insert_and_no_commit_of_ours(self, monkeypatch):
        commits = []
        real_commit = connection.commit
        monkeypatch.setattr(connection, "commit", lambda: commits.append(1) or real_commit())
        entry = AuditEntry(
            at=timezone.now(),
            actor_id=None,
            actor="ops",
            source="cli",
            request_id=None,
            team_id=None,
            action="server.created",
            target_type="server",
            target_id="1",
            target_name="web-1",
            message="server web-1 added",
            changes=(),
        )

        with CaptureQueriesContext(connection) as queries:
            stored = DjangoAuditRepository().create_one(entry)

        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
        assert commits == []
        assert AuditRow.objects.filter(pk=stored.id, target_name="web-1").exists()

    def test_a_create_no_webhook_wants_reads_webhooks_once_and_opens_no_transaction_for_them(self, monkeypatch):
        alice = UserFactory(username="alice")
        api = client_for(alice)
        server = ServerFactory()
        api.get("/api/v1/load-balancers/")
        commits = []
        real_commit = connection.commit
        monkeypatch.setattr(connection, "commit", lambda: commits.append(1) or real_commit())

        with CaptureQueriesContext(connection) as queries:
            made = api.post("/api/v1/load-balancers/", {"name": "shop", "servers": [server.pk]}, format="json")

        assert made.status_code == 202, made.json()
        assert len(_touching(queries, "notifications_webhook")) == 1
        assert _touching(queries, "notifications_delivery") == []
        assert len(commits) == 1  # the create's own transaction; the audit entry and the webhooks: none
