"""API tokens through the API: a key is shown once and stored only as its SHA-256
digest; a token may expire, may be read-only, and stops working once revoked; people
see and revoke only their own; last_used_at is written at most once a minute."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from loadbalancers.models import LoadBalancer
from tests.conftest import client_for, token_for
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory, grant_operations

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens/"
SIGN_IN = "/api/v1/auth/token/"
LBS = "/api/v1/load-balancers/"
OUTPUT_FIELDS = {"id", "description", "prefix", "write", "expires_at", "last_used_at", "created_at"}


def with_key(key: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def iso(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.isoformat().replace("+00:00", "Z")


# -- the key, shown once, stored as a hash -----------------------------------------------------------


def test_a_new_token_is_shown_once_and_only_its_digest_is_stored(alice, alice_api):
    created = alice_api.post(TOKENS, {"description": "ci"}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    key = body["token"]
    assert set(body) == OUTPUT_FIELDS | {"token"}
    assert key.startswith("lbp_")
    assert len(key) >= 40
    assert (body["description"], body["write"], body["expires_at"]) == ("ci", True, None)
    assert body["prefix"] == key[:12]

    row = ApiToken.objects.get(pk=body["id"])
    assert row.user == alice
    assert row.digest == sha256(key)
    for field in ApiToken._meta.concrete_fields:
        value = field.value_from_object(row)
        assert value != key, field.name
        assert key not in str(value), field.name
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        cells = [str(cell) for found in cursor.fetchall() for cell in found]
    assert cells
    assert not any(key in cell for cell in cells)

    # Never shown again: neither in the list nor on its own.
    listed = alice_api.get(TOKENS).json()
    assert all(set(item) == OUTPUT_FIELDS for item in listed["items"])
    assert key not in alice_api.get(TOKENS).content.decode()
    assert set(alice_api.get(f"{TOKENS}{body['id']}/").json()) == OUTPUT_FIELDS
    # And it works.
    assert with_key(key).get(LBS).status_code == 200


def test_every_key_is_new(alice_api):
    keys = [alice_api.post(TOKENS, {}, format="json").json()["token"] for _ in range(3)]

    assert len(set(keys)) == 3
    assert ApiToken.objects.filter(digest__in=[sha256(k) for k in keys]).count() == 3


def test_the_key_may_be_sent_as_a_bearer_token(alice):
    key = token_for(alice)
    assert with_key(key, "Bearer").get(LBS).status_code == 200


@pytest.mark.parametrize("what", ["a made-up key", "the stored digest", "the shown prefix", "the key with a typo"])
def test_anything_but_the_key_itself_is_refused_with_401(alice, what):
    key = token_for(alice)
    row = ApiToken.objects.get(digest=sha256(key))
    sent = {
        "a made-up key": "lbp_" + "x" * 40,
        "the stored digest": row.digest,
        "the shown prefix": row.prefix,
        "the key with a typo": key[:-1] + ("A" if key[-1] != "A" else "B"),
    }[what]

    response = with_key(sent).get(LBS)

    assert_error(response, 401, "AuthenticationFailed")
    assert response["WWW-Authenticate"] == "Token"


def test_the_token_of_a_disabled_account_no_longer_works(alice):
    key = token_for(alice)
    alice.is_active = False
    alice.save()

    assert_error(with_key(key).get(LBS), 401, "AuthenticationFailed")


# -- expiry -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expires_in"), [("in the past", timedelta(hours=-1)), ("beyond ten years", timedelta(days=3651))]
)
def test_an_expiry_in_the_past_or_too_far_ahead_is_refused_at_creation(alice_api, case, expires_in):
    response = alice_api.post(TOKENS, {"expires_at": iso(timezone.now() + expires_in)}, format="json")

    assert_error(response, 400, "ValidationError", "expires_at")
    assert ApiToken.objects.count() == 1  # the one alice_api uses


def test_a_token_works_until_it_expires_then_gets_401(alice_api):
    expires = timezone.now() + timedelta(days=1)
    created = alice_api.post(TOKENS, {"expires_at": iso(expires)}, format="json").json()
    client = with_key(created["token"])
    assert created["expires_at"] is not None
    assert client.get(LBS).status_code == 200

    ApiToken.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    data = assert_error(client.get(LBS), 401, "AuthenticationFailed")
    assert "expired" in data["message"]
    assert_error(client.post(TOKENS, {}, format="json"), 401, "AuthenticationFailed")
    assert alice_api.get(TOKENS).status_code == 200  # the other token is not concerned


# -- read-only tokens -------------------------------------------------------------------------------


def test_a_read_only_token_reads_and_changes_nothing(alice):
    lb = LoadBalancerRowFactory(created_by=alice, name="alices")
    server = ServerFactory()
    api = client_for(alice, write=False)
    own = ApiToken.objects.get(user=alice)

    assert api.get(LBS).json()["total"] == 1
    assert api.get(f"{LBS}{lb.pk}/").status_code == 200
    assert api.get("/api/v1/teams/alice/").status_code == 200
    tokens = api.get(TOKENS).json()["items"]
    assert [(t["id"], t["write"]) for t in tokens] == [(own.pk, False)]

    for response in (
        api.post(LBS, {"name": "fresh", "servers": [server.pk]}, format="json"),
        api.patch(f"{LBS}{lb.pk}/", {"description": "changed"}, format="json"),
        api.delete(f"{LBS}{lb.pk}/"),
        api.post(f"{LBS}{lb.pk}/retry/"),
        api.post(TOKENS, {"description": "a writer"}, format="json"),  # no way to a token that writes
        api.delete(f"{TOKENS}{own.pk}/"),
        api.post("/api/v1/teams/alice/members/", {"username": "alice"}, format="json"),
    ):
        data = assert_error(response, 403, "ReadOnlyToken")
        assert "read-only" in data["message"]
    lb.refresh_from_db()
    assert (lb.description, lb.provisioning_status) == ("", "ACTIVE")
    assert list(LoadBalancer.objects.values_list("name", flat=True)) == ["alices"]
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [own.pk]


def test_a_read_only_token_of_operations_cannot_change_the_server_inventory(staff):
    """Every endpoint that writes refuses a read-only token, the inventory too (whose
    view has permission classes of its own)."""
    server = ServerFactory(name="web-keep")
    api = client_for(staff, write=False)

    assert api.get("/api/v1/servers/").status_code == 200
    for response in (
        api.post("/api/v1/servers/", {"name": "web-new", "address": "10.9.9.9", "port": 80}, format="json"),
        api.patch(f"/api/v1/servers/{server.pk}/", {"status": "DOWN"}, format="json"),
        api.delete(f"/api/v1/servers/{server.pk}/"),
    ):
        assert_error(response, 403, "ReadOnlyToken")
    server.refresh_from_db()
    assert server.status == "OK"
    assert list(type(server).objects.values_list("name", flat=True)) == ["web-keep"]


def test_write_false_at_creation_makes_a_read_only_token(alice_api):
    created = alice_api.post(TOKENS, {"write": False}, format="json").json()

    assert created["write"] is False
    reader = with_key(created["token"])
    assert reader.get(LBS).status_code == 200
    assert_error(reader.post(TOKENS, {}, format="json"), 403, "ReadOnlyToken")


# -- revocation, and other people's tokens ----------------------------------------------------------------


def test_a_revoked_token_stops_working_at_once(alice, alice_api):
    other = alice_api.post(TOKENS, {"description": "laptop"}, format="json").json()
    laptop = with_key(other["token"])
    assert laptop.get(LBS).status_code == 200

    revoked = alice_api.delete(f"{TOKENS}{other['id']}/")

    assert revoked.status_code == 204
    assert_error(laptop.get(LBS), 401, "AuthenticationFailed")
    assert not ApiToken.objects.filter(pk=other["id"]).exists()
    assert alice_api.get(LBS).status_code == 200
    assert_error(alice_api.get(f"{TOKENS}{other['id']}/"), 404, "TokenNotFound")
    assert_error(alice_api.delete(f"{TOKENS}{other['id']}/"), 404, "TokenNotFound")


def test_a_token_may_revoke_itself(alice):
    api = client_for(alice)
    own = ApiToken.objects.get(user=alice)

    assert api.delete(f"{TOKENS}{own.pk}/").status_code == 204
    assert_error(api.get(LBS), 401, "AuthenticationFailed")


def test_people_list_only_their_own_tokens_and_others_are_not_found(alice, bob, alice_api, bob_api):
    bobs = bob_api.post(TOKENS, {"description": "bobs"}, format="json").json()
    missing = ApiToken.objects.order_by("-pk").first().pk + 100

    listed = alice_api.get(TOKENS).json()
    assert listed["total"] == 1
    assert {t["description"] for t in listed["items"]} == {""}
    assert "bobs" not in alice_api.get(TOKENS).content.decode()

    for url in (f"{TOKENS}{bobs['id']}/", f"{TOKENS}{missing}/", f"{TOKENS}abc/"):
        assert_error(alice_api.get(url), 404, "TokenNotFound")
        assert_error(alice_api.delete(url), 404, "TokenNotFound")
    # Bob's token as seen from alice is the same as one that does not exist.
    seen = alice_api.get(f"{TOKENS}{bobs['id']}/").json()
    assert seen == {
        "error": "TokenNotFound",
        "message": f"API token {bobs['id']} does not exist",
        "details": {"id": str(bobs["id"])},
    }
    assert with_key(bobs["token"]).get(LBS).status_code == 200
    assert ApiToken.objects.filter(user=bob).count() == 2


def test_operations_with_the_permission_may_revoke_anyones_token_but_list_their_own(bob, staff_api):
    bobs = token_for(bob, description="bobs")
    row = ApiToken.objects.get(digest=sha256(bobs))

    assert [t["description"] for t in staff_api.get(TOKENS).json()["items"]] == [""]
    assert staff_api.get(f"{TOKENS}{row.pk}/").json()["description"] == "bobs"
    assert staff_api.delete(f"{TOKENS}{row.pk}/").status_code == 204
    assert_error(with_key(bobs).get(LBS), 401, "AuthenticationFailed")


def test_staff_who_may_only_view_tokens_cannot_revoke_other_peoples(bob):
    auditor = grant_operations(UserFactory(username="auditor", is_staff=True), codenames=("view",))
    bobs = token_for(bob)
    row = ApiToken.objects.get(digest=sha256(bobs))
    api = client_for(auditor)

    assert api.get(f"{TOKENS}{row.pk}/").status_code == 200
    assert_error(api.delete(f"{TOKENS}{row.pk}/"), 404, "TokenNotFound")
    assert with_key(bobs).get(LBS).status_code == 200


# -- last_used_at ---------------------------------------------------------------------------------------


def test_last_used_at_is_written_at_most_once_a_minute(alice):
    key = token_for(alice)
    row = ApiToken.objects.get(digest=sha256(key))
    api = with_key(key)
    assert row.last_used_at is None

    api.get(LBS)
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None
    assert timezone.now() - first < timedelta(minutes=1)

    api.get(LBS)
    api.get(TOKENS)
    row.refresh_from_db()
    assert row.last_used_at == first  # two more requests in a row: no write

    half_a_minute_ago = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=half_a_minute_ago)
    api.get(LBS)
    row.refresh_from_db()
    assert row.last_used_at == half_a_minute_ago

    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=two_minutes_ago)
    api.get(LBS)
    row.refresh_from_db()
    assert row.last_used_at > two_minutes_ago + timedelta(minutes=1)
    listed = api.get(TOKENS).json()["items"]
    assert listed[0]["last_used_at"] is not None


def test_a_refused_key_touches_nothing(alice):
    key = token_for(alice, expires_at=timezone.now() + timedelta(days=1))
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert with_key(key).get(LBS).status_code == 401
    assert ApiToken.objects.get().last_used_at is None


# -- signing in for a token ----------------------------------------------------------------------------


def test_signing_in_gives_a_working_token(alice):
    response = APIClient().post(
        SIGN_IN, {"username": "alice", "password": "secret-password", "description": "script"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == OUTPUT_FIELDS | {"token"}
    assert body["description"] == "script"
    row = ApiToken.objects.get(pk=body["id"])
    assert (row.user, row.digest, row.write) == (alice, sha256(body["token"]), True)
    api = with_key(body["token"])
    assert api.get(LBS).status_code == 200
    assert [t["id"] for t in api.get(TOKENS).json()["items"]] == [body["id"]]


def test_signing_in_may_ask_for_a_read_only_token_that_expires(alice):
    expires = timezone.now() + timedelta(days=7)
    body = (
        APIClient()
        .post(
            SIGN_IN,
            {"username": "alice", "password": "secret-password", "write": False, "expires_at": iso(expires)},
            format="json",
        )
        .json()
    )

    assert body["write"] is False
    assert body["expires_at"] is not None
    assert_error(with_key(body["token"]).post(TOKENS, {}, format="json"), 403, "ReadOnlyToken")


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong-password"), ("nobody", "secret-password"), ("ALICE", "nope")]
)
def test_a_wrong_username_or_password_gets_400_and_no_token(alice, username, password):
    response = APIClient().post(SIGN_IN, {"username": username, "password": password}, format="json")

    data = assert_error(response, 400, "ValidationError", "non_field_errors")
    assert data["message"] == "unable to sign in with that username and password"
    assert ApiToken.objects.count() == 0


def test_a_disabled_account_cannot_sign_in_for_a_token(alice):
    alice.is_active = False
    alice.save()

    response = APIClient().post(SIGN_IN, {"username": "alice", "password": "secret-password"}, format="json")

    assert_error(response, 400, "ValidationError", "non_field_errors")
    assert ApiToken.objects.count() == 0


# -- bad input ------------------------------------------------------------------------------------------

BAD_BODIES = [
    ("write as text", {"write": "yes"}, "write"),
    ("write as a number", {"write": 1}, "write"),
    ("write null", {"write": None}, "write"),
    ("expires_at not a time", {"expires_at": "soon"}, "expires_at"),
    ("expires_at a number", {"expires_at": 1893456000}, "expires_at"),
    ("description a number", {"description": 12}, "description"),
    ("description too long", {"description": "d" * 201}, "description"),
    ("unknown field", {"colour": "blue"}, "colour"),
    ("read-only token", {"token": "lbp_mine"}, "token"),
    ("read-only prefix", {"prefix": "lbp_"}, "prefix"),
    ("read-only last_used_at", {"last_used_at": None}, "last_used_at"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_token_bodies_get_400_naming_the_field(alice_api, case, body, field):
    response = alice_api.post(TOKENS, body, format="json")

    assert_error(response, 400, "ValidationError", field)
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_sign_in_bodies_get_400_naming_the_field(alice, case, body, field):
    credentials = {"username": "alice", "password": "secret-password"}

    response = APIClient().post(SIGN_IN, {**credentials, **body}, format="json")

    assert_error(response, 400, "ValidationError", field)
    assert ApiToken.objects.count() == 0


def test_all_bad_fields_are_reported_at_once(alice_api):
    response = alice_api.post(TOKENS, {"write": "yes", "expires_at": "soon", "colour": "blue"}, format="json")

    data = assert_error(response, 400, "ValidationError")
    assert set(data["details"]) == {"write", "expires_at", "colour"}


def test_the_token_endpoints_need_a_signed_in_caller():
    anonymous = APIClient()

    assert anonymous.get(TOKENS).status_code == 401
    assert anonymous.post(TOKENS, {}, format="json").status_code == 401
    assert ApiToken.objects.count() == 0
