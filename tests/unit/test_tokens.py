"""API tokens: made with a key shown once and stored as its hash; listed, read and
revoked by their owner (operations: anyone's); refused once expired."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from accounts.application.payloads import CreateToken
from accounts.domain.errors import TokenNotFound
from accounts.domain.tokens import ApiToken, digest_of
from portal.kernel.errors import ValidationFailed

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def new(**fields):
    given = {"user_id": 1, "description": "ci", "expires_at": None, "write": True, "now": NOW, **fields}
    return ApiToken.new(**given)


def make(portal, actor, **fields):
    return portal.tokens.create_one(actor, CreateToken(**fields))


class TestNewToken:
    def test_the_key_is_recognisable_and_only_its_sha256_digest_is_kept(self):
        token, key = new(description="deploys", write=False)

        assert key.startswith("lbp_")
        assert len(key) == 44  # the prefix and 40 random characters
        assert token.digest == hashlib.sha256(key.encode()).hexdigest() == digest_of(key)
        assert token.prefix == key[:12]
        assert token.prefix.startswith("lbp_")
        assert key not in vars(token).values()
        assert (token.id, token.user_id, token.description, token.write) == (None, 1, "deploys", False)
        assert (token.created_at, token.expires_at, token.last_used_at) == (NOW, None, None)

    def test_every_key_is_new(self):
        keys = {new()[1] for _ in range(50)}

        assert len(keys) == 50

    def test_keys_are_url_safe(self):
        _, key = new()

        assert set(key[4:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    @pytest.mark.parametrize(
        ("fields", "field", "fragment"),
        [
            ({"description": "d" * 201}, "description", "at most 200"),
            ({"description": None}, "description", "must be text"),
            ({"expires_at": NOW}, "expires_at", "in the future"),
            ({"expires_at": NOW - timedelta(seconds=1)}, "expires_at", "in the future"),
            ({"expires_at": datetime(2027, 1, 1)}, "expires_at", "time zone"),
            ({"expires_at": NOW + timedelta(days=3650, seconds=1)}, "expires_at", "within 3650 days"),
            ({"write": "yes"}, "write", "true or false"),
            ({"write": 1}, "write", "true or false"),
        ],
    )
    def test_each_rule_names_its_field(self, fields, field, fragment):
        with pytest.raises(ValidationFailed) as failed:
            new(**fields)

        assert failed.value.status_code == 400
        assert set(failed.value.details) == {field}
        assert fragment in failed.value.details[field][0], failed.value.details

    def test_every_bad_field_is_reported_at_once(self):
        with pytest.raises(ValidationFailed) as failed:
            new(description="d" * 201, expires_at=NOW - timedelta(days=1), write="no")

        assert set(failed.value.details) == {"description", "expires_at", "write"}

    @pytest.mark.parametrize(
        "fields",
        [
            {"description": ""},
            {"description": "d" * 200},
            {"expires_at": NOW + timedelta(seconds=1)},
            {"expires_at": NOW + timedelta(days=3650)},
            {"expires_at": datetime(2026, 6, 1, 12, tzinfo=UTC)},
            {"write": False},
        ],
    )
    def test_the_limits_themselves_are_fine(self, fields):
        token, _ = new(**fields)

        assert all(getattr(token, name) == value for name, value in fields.items())

    def test_expiry_is_compared_across_time_zones(self):
        in_one_hour_at_utc_plus_2 = (NOW + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))

        token, _ = new(expires_at=in_one_hour_at_utc_plus_2)

        assert not token.is_expired(NOW)
        assert token.is_expired(NOW + timedelta(hours=1))

    def test_a_token_without_expiry_never_expires(self):
        token, _ = new()

        assert not token.is_expired(NOW + timedelta(days=100 * 365))


class TestCreateToken:
    def test_makes_a_token_of_the_actors_whose_key_finds_it(self, portal, alice):
        token, key = make(portal, alice, description="ci", write=False)

        assert token.id is not None
        assert (token.user_id, token.username, token.description, token.write) == (1, "alice", "ci", False)
        assert token.created_at == portal.clock.now()
        stored = portal.uow.tokens.get_by_digest(digest_of(key))
        assert stored is not None
        assert stored.id == token.id
        assert key not in vars(stored).values()

    def test_a_bad_token_is_refused_and_nothing_is_stored(self, portal, alice):
        with pytest.raises(ValidationFailed) as failed:
            make(portal, alice, description="d" * 201, expires_at=portal.clock.now())

        assert set(failed.value.details) == {"description", "expires_at"}
        assert portal.uow.tokens.rows == {}

    def test_expiry_is_judged_by_the_portals_clock(self, portal, alice):
        portal.clock.advance(3600)

        with pytest.raises(ValidationFailed):
            make(portal, alice, expires_at=datetime(2026, 1, 1, 0, 30, tzinfo=UTC))

        token, _ = make(portal, alice, expires_at=datetime(2026, 1, 1, 1, 30, tzinfo=UTC))
        assert token.created_at == datetime(2026, 1, 1, 1, tzinfo=UTC)


class TestListAndRead:
    def test_people_list_their_own_tokens_newest_first(self, portal, alice, bob):
        first, _ = make(portal, alice, description="first")
        make(portal, bob, description="bob's")
        second, _ = make(portal, alice, description="second")

        assert [t.id for t in portal.tokens.get_list(alice)] == [second.id, first.id]
        assert [t.description for t in portal.tokens.get_list(bob)] == ["bob's"]

    @pytest.mark.parametrize("who", ["ops", "auditor"])
    def test_operations_list_their_own_tokens_too(self, portal, request, alice, who):
        make(portal, alice)

        assert portal.tokens.get_list(request.getfixturevalue(who)) == []

    def test_people_read_their_own_token(self, portal, alice):
        token, _ = make(portal, alice, description="ci")

        assert portal.tokens.get_one(alice, token.id).description == "ci"

    def test_someone_elses_token_does_not_exist_for_them(self, portal, alice, bob):
        token, _ = make(portal, alice)

        with pytest.raises(TokenNotFound) as missing:
            portal.tokens.get_one(bob, token.id)

        assert missing.value.status_code == 404
        assert missing.value.details == {"id": str(token.id)}

    @pytest.mark.parametrize("who", ["ops", "auditor"])
    def test_operations_read_anyones(self, portal, request, alice, who):
        token, _ = make(portal, alice)

        assert portal.tokens.get_one(request.getfixturevalue(who), token.id).user_id == 1

    def test_an_unknown_token_is_not_found(self, portal, ops):
        with pytest.raises(TokenNotFound):
            portal.tokens.get_one(ops, 404)


class TestDelete:
    def test_people_revoke_their_own_token(self, portal, alice):
        token, key = make(portal, alice)

        portal.tokens.delete_one(alice, token.id)

        assert portal.uow.tokens.get_by_digest(digest_of(key)) is None
        assert portal.tokens.get_list(alice) == []
        with pytest.raises(TokenNotFound):
            portal.tokens.get_one(alice, token.id)

    @pytest.mark.parametrize("who", ["bob", "auditor"])
    def test_others_do_not_even_learn_it_exists(self, portal, request, alice, who):
        token, _ = make(portal, alice)

        with pytest.raises(TokenNotFound):
            portal.tokens.delete_one(request.getfixturevalue(who), token.id)

        assert [t.id for t in portal.tokens.get_list(alice)] == [token.id]

    def test_operations_revoke_anyones(self, portal, alice, ops):
        token, _ = make(portal, alice)

        portal.tokens.delete_one(ops, token.id)

        assert portal.tokens.get_list(alice) == []

    def test_an_unknown_token_is_not_found(self, portal, alice):
        with pytest.raises(TokenNotFound):
            portal.tokens.delete_one(alice, 404)


class TestUse:
    def stored(self, portal, token):
        return portal.uow.tokens.get_one(token.id)

    def test_a_live_token_may_be_used_and_notes_when(self, portal, alice):
        token, _ = make(portal, alice)
        portal.clock.advance(5)

        assert portal.tokens.used(token) is True

        assert self.stored(portal, token).last_used_at == portal.clock.now()

    def test_an_expired_token_is_refused_and_not_touched(self, portal, alice):
        token, _ = make(portal, alice, expires_at=portal.clock.now() + timedelta(hours=1))
        portal.clock.advance(3600)

        assert portal.tokens.used(token) is False  # at the very moment it expires

        portal.clock.advance(1)
        assert portal.tokens.used(self.stored(portal, token)) is False
        assert self.stored(portal, token).last_used_at is None

    def test_it_works_until_just_before_it_expires(self, portal, alice):
        token, _ = make(portal, alice, expires_at=portal.clock.now() + timedelta(hours=1))
        portal.clock.advance(3599)

        assert portal.tokens.used(token) is True

    def test_a_token_without_expiry_works_for_years(self, portal, alice):
        token, _ = make(portal, alice)
        portal.clock.advance(20 * 365 * 86400)

        assert portal.tokens.used(token) is True

    def test_last_used_is_written_at_most_once_a_minute(self, portal, alice):
        token, _ = make(portal, alice)
        first_use = portal.clock.now()
        assert portal.tokens.used(self.stored(portal, token))

        portal.clock.advance(30)
        assert portal.tokens.used(self.stored(portal, token))
        assert self.stored(portal, token).last_used_at == first_use

        portal.clock.advance(31)
        assert portal.tokens.used(self.stored(portal, token))
        assert self.stored(portal, token).last_used_at == portal.clock.now() == first_use + timedelta(seconds=61)

    def test_a_token_read_before_a_recent_use_does_not_write_again(self, portal, alice):
        """Two requests with one token read it before either noted its use: the second
        write is skipped by the store, within the minute."""
        token, _ = make(portal, alice)
        read_by_both = self.stored(portal, token)
        assert portal.tokens.used(read_by_both)
        noted = self.stored(portal, token).last_used_at

        portal.clock.advance(10)
        assert portal.tokens.used(read_by_both)

        assert self.stored(portal, token).last_used_at == noted

    def test_a_revoked_token_is_not_brought_back_by_a_use(self, portal, alice):
        token, _ = make(portal, alice)
        portal.tokens.delete_one(alice, token.id)

        portal.tokens.used(token)

        assert portal.uow.tokens.rows == {}
