"""Idempotency keys through HTTP: a write sent again with the same ``Idempotency-Key``
gets the first answer again and changes nothing; the key cannot be reused for another
request, nor while its first request runs; answers expire; a 5xx gives the key back."""

import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from accounts.models import ApiToken
from config import api_urls
from loadbalancers.models import LoadBalancer
from portal import idempotency
from portal.api.idempotency import WRITE_METHODS, Idempotent
from portal.models import IdempotentRequest
from portal.tasks import prune_idempotency
from servers.application.services import ServerService
from servers.models import Server
from tests.conftest import client_for
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import ServerFactory, UserFactory, grant_operations

SERVERS = "/api/v1/servers/"
LOAD_BALANCERS = "/api/v1/load-balancers/"
BODY = {"name": "web-1", "address": "10.0.0.1", "port": 80}
KEY = "3f1c2a9e-key-1"


def post(api, path, body, key=KEY, **extra):
    return api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def assert_replay_of(replay, first):
    assert replay.status_code == first.status_code, replay.content
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")


def kept_row(user, key=KEY, body=BODY, *, method="POST", path=SERVERS, **fields):
    """A key's row as the portal writes it, for a request with ``body``."""
    now = timezone.now()
    values = {
        "created_at": now,
        "expires_at": now + timedelta(hours=1),
        "fingerprint": idempotency.fingerprint(method, path, json.dumps(body).encode()),
        "method": method,
        "path": path,
        **fields,
    }
    return IdempotentRequest.objects.create(user=user, key=key, **values)


@pytest.fixture
def other_staff(db):
    return grant_operations(UserFactory(username="ops-2", is_staff=True))


def test_a_repeat_gets_the_first_answer_and_changes_nothing(staff_api, staff):
    first = post(staff_api, SERVERS, BODY)
    replay = post(staff_api, SERVERS, BODY)

    assert first.status_code == 201, first.content
    assert_replay_of(replay, first)
    assert Server.objects.count() == 1
    row = IdempotentRequest.objects.get()
    assert (row.user, row.key, row.status_code, row.method, row.path) == (staff, KEY, 201, "POST", SERVERS)


def test_the_same_json_written_otherwise_is_the_same_request(staff_api):
    first = post(staff_api, SERVERS, BODY)
    reordered = staff_api.post(
        SERVERS,
        '{ "port" : 80,\n  "address": "10.0.0.1", "name":"web-1" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )

    assert_replay_of(reordered, first)
    assert Server.objects.count() == 1


def test_a_key_used_for_another_body_is_refused_with_422(staff_api):
    post(staff_api, SERVERS, BODY)

    refused = post(staff_api, SERVERS, {**BODY, "name": "web-2", "address": "10.0.0.2"})

    data = assert_error(refused, 422, "IdempotencyKeyReused")
    assert "POST /api/v1/servers/" in data["message"]
    assert data["details"] == {"method": "POST", "path": SERVERS}
    assert list(Server.objects.values_list("name", flat=True)) == ["web-1"]


def test_a_key_used_for_another_path_or_method_is_refused_with_422(staff_api):
    server = ServerFactory(name="web-7", address="10.0.0.7")
    post(staff_api, SERVERS, BODY)

    other_path = staff_api.patch(f"{SERVERS}{server.pk}/", {"status": "DOWN"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    other_method = staff_api.delete(f"{SERVERS}{server.pk}/", HTTP_IDEMPOTENCY_KEY=KEY)
    other_query = post(staff_api, f"{SERVERS}?x=1", BODY)

    for refused in (other_path, other_method, other_query):
        assert_error(refused, 422, "IdempotencyKeyReused")
    assert Server.objects.get(pk=server.pk).status == "OK"
    assert Server.objects.count() == 2


def test_a_repeat_while_the_first_request_runs_gets_409(staff_api, staff):
    kept_row(staff, status_code=None)  # claimed, not answered yet

    running = post(staff_api, SERVERS, BODY)

    assert_error(running, 409, "IdempotencyKeyInProgress")
    assert Server.objects.count() == 0
    assert IdempotentRequest.objects.get().status_code is None


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(staff_api, staff):
    kept_row(staff, status_code=None, created_at=timezone.now() - idempotency.ABANDONED_AFTER - timedelta(seconds=1))

    taken = post(staff_api, SERVERS, BODY)

    assert taken.status_code == 201, taken.content
    assert Server.objects.count() == 1
    assert IdempotentRequest.objects.get().status_code == 201


def test_an_expired_key_runs_the_request_again(staff_api, staff):
    past = timezone.now() - timedelta(days=2)
    kept_row(staff, status_code=201, body='{"id": 1}', created_at=past, expires_at=past + timedelta(days=1))

    again = post(staff_api, SERVERS, BODY)

    assert again.status_code == 201, again.content
    assert not again.has_header("Idempotent-Replayed")
    assert again.json()["name"] == "web-1"
    row = IdempotentRequest.objects.get()
    assert row.status_code == 201
    assert row.expires_at > timezone.now()


def test_keys_belong_to_their_user(staff_api, other_staff):
    post(staff_api, SERVERS, BODY)

    theirs = post(client_for(other_staff), SERVERS, {**BODY, "name": "web-2", "address": "10.0.0.2"})

    assert theirs.status_code == 201, theirs.content
    assert Server.objects.count() == 2
    assert IdempotentRequest.objects.filter(key=KEY).count() == 2


@pytest.mark.parametrize(
    "key",
    ["", " ", "   ", "k" * 256, "key\x01", "key\x7f", "tab\there", "clé", "key\u2028"],
    ids=["empty", "a space", "spaces", "256 characters", "control", "delete", "tab", "not ASCII", "separator"],
)
def test_a_bad_key_gets_400_and_changes_nothing(staff_api, key):
    response = post(staff_api, SERVERS, BODY, key=key)

    data = assert_error(response, 400, "ValidationError", "Idempotency-Key")
    assert data["details"]["Idempotency-Key"][0]
    assert Server.objects.count() == 0
    assert not IdempotentRequest.objects.exists()


@pytest.mark.parametrize("key", ["k", "k" * 255, " a key with spaces ", "~!@#$%^&*()_+{}|:<>?`-=[]\\;',./\""])
def test_every_printable_key_up_to_255_characters_is_taken(staff_api, key):
    first = post(staff_api, SERVERS, BODY, key=key)

    assert first.status_code == 201, first.content
    assert_replay_of(post(staff_api, SERVERS, BODY, key=key), first)
    assert IdempotentRequest.objects.get().key == key


def test_without_the_header_nothing_is_kept(staff_api):
    first = staff_api.post(SERVERS, BODY, format="json")
    again = staff_api.post(SERVERS, BODY, format="json")

    assert first.status_code == 201, first.content
    assert_error(again, 409, "ServerNameTaken")
    assert not IdempotentRequest.objects.exists()


def test_a_body_that_is_not_json_counts_byte_for_byte(staff_api):
    def send(raw):
        return staff_api.post(SERVERS, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY)

    first = send("{not json")

    assert_error(first, 400, "ParseError")
    assert_replay_of(send("{not json"), first)
    assert_error(send("{not  json"), 422, "IdempotencyKeyReused")


def test_a_body_too_large_with_a_key_gets_413_and_keeps_nothing(staff_api, settings):
    raw = json.dumps({**BODY, "name": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = staff_api.post(SERVERS, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert_error(response, 413, "RequestTooLarge")
    assert not IdempotentRequest.objects.exists()


def test_an_answer_that_cannot_be_kept_still_reaches_the_client(staff_api, monkeypatch):
    def database_gone(*args, **kwargs):
        raise OperationalError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(idempotency, "keep", database_gone)
        created = post(staff_api, SERVERS, BODY)

    assert created.status_code == 201, created.content
    assert Server.objects.count() == 1
    # The key stays claimed: a repeat is told the request is running, never run twice.
    assert_error(post(staff_api, SERVERS, BODY), 409, "IdempotencyKeyInProgress")


def test_reads_ignore_the_header(staff_api):
    response = staff_api.get(SERVERS, HTTP_IDEMPOTENCY_KEY="\x01 not even valid")

    assert response.status_code == 200, response.content
    assert not IdempotentRequest.objects.exists()


def test_an_error_answer_is_kept_and_given_again(staff_api):
    ServerFactory(name="web-1", address="10.0.0.9")
    invalid = post(staff_api, SERVERS, {**BODY, "port": 0}, key="invalid")
    taken = post(staff_api, SERVERS, BODY, key="taken")

    assert_error(invalid, 400, "ValidationError", "port")
    assert_error(taken, 409, "ServerNameTaken")
    assert_replay_of(post(staff_api, SERVERS, {**BODY, "port": 0}, key="invalid"), invalid)
    assert_replay_of(post(staff_api, SERVERS, BODY, key="taken"), taken)
    assert Server.objects.count() == 1


def test_a_delete_is_replayed_not_refused(staff_api):
    server = ServerFactory()
    url = f"{SERVERS}{server.pk}/"

    first = staff_api.delete(url, HTTP_IDEMPOTENCY_KEY=KEY)
    replay = staff_api.delete(url, HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == 204, first.content
    assert_replay_of(replay, first)
    assert staff_api.delete(url, HTTP_IDEMPOTENCY_KEY="another").status_code == 404


def test_a_5xx_gives_the_key_back_and_a_retry_runs(staff_api, monkeypatch):
    def unavailable(*args, **kwargs):
        raise OperationalError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(ServerService, "create_one", unavailable)
        failed = post(staff_api, SERVERS, BODY)

    assert_error(failed, 503, "DependencyUnavailable")
    assert not IdempotentRequest.objects.exists()
    retried = post(staff_api, SERVERS, BODY)
    assert retried.status_code == 201, retried.content
    assert not retried.has_header("Idempotent-Replayed")
    assert Server.objects.count() == 1


def test_an_unhandled_error_gives_the_key_back(staff_api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    with monkeypatch.context() as patched:
        patched.setattr(ServerService, "create_one", broken)
        with pytest.raises(RuntimeError):  # the test client raises what would be a 500
            post(staff_api, SERVERS, BODY)

    assert not IdempotentRequest.objects.exists()
    assert post(staff_api, SERVERS, BODY).status_code == 201


def test_anonymous_requests_claim_nothing(client, db):
    response = client.post(SERVERS, BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert_error(response, 401, "NotAuthenticated")
    assert not IdempotentRequest.objects.exists()


def test_the_token_endpoints_refuse_a_key_and_change_nothing(alice, alice_api, client):
    before = ApiToken.objects.count()

    made = post(alice_api, "/api/v1/tokens/", {"description": "ci"})
    signed_in = client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": "secret-password"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )

    for refused in (made, signed_in):
        data = assert_error(refused, 400, "ValidationError", "Idempotency-Key")
        assert "shown once" in data["message"]
    assert ApiToken.objects.count() == before
    assert not IdempotentRequest.objects.exists()


def test_revoking_a_token_takes_a_key(alice_api):
    made = alice_api.post("/api/v1/tokens/", {"description": "ci"}, format="json").json()
    url = f"/api/v1/tokens/{made['id']}/"

    first = alice_api.delete(url, HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == 204, first.content
    assert_replay_of(alice_api.delete(url, HTTP_IDEMPOTENCY_KEY=KEY), first)


def test_a_load_balancer_create_is_replayed_with_its_location(alice_api, ok_servers):
    body = {"name": "shop", "servers": [ok_servers[0].pk]}

    first = post(alice_api, LOAD_BALANCERS, body)
    replay = post(alice_api, LOAD_BALANCERS, body)

    assert first.status_code == 202, first.content
    assert_replay_of(replay, first)
    assert replay["Location"] == first["Location"]
    assert LoadBalancer.objects.count() == 1
    assert_error(post(alice_api, LOAD_BALANCERS, {**body, "name": "shop-2"}), 422, "IdempotencyKeyReused")


def test_pruning_deletes_expired_keys_only(staff):
    now = timezone.now()
    kept_row(staff, key="expired", status_code=201, body="{}", expires_at=now - timedelta(seconds=1))
    kept_row(staff, key="expired-running", status_code=None, expires_at=now - timedelta(days=1))
    kept_row(staff, key="current", status_code=201, body="{}", expires_at=now + timedelta(minutes=1))

    assert prune_idempotency() == 2
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["current"]


def test_the_scheduler_prunes_every_hour(settings):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "portal.prune_idempotency")
    assert entry["schedule"] == 3600.0
    assert prune_idempotency.name == "portal.prune_idempotency"


# -- every write of the API takes the key, and the schema says so ------------------------------


def write_views(patterns=api_urls.urlpatterns, prefix="/api/v1/"):
    """(path, method, view class) of every write the API's URLs route."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from write_views(pattern.url_patterns, prefix + str(pattern.pattern))
            continue
        assert isinstance(pattern, URLPattern)
        view = getattr(pattern.callback, "cls", None)
        if view is None:
            continue
        actions = getattr(pattern.callback, "actions", None)
        methods = actions if actions is not None else {m: m for m in view.http_method_names if hasattr(view, m)}
        for method in methods:
            if method.upper() in WRITE_METHODS:
                yield prefix + str(pattern.pattern), method.upper(), view


def test_every_write_view_of_the_api_takes_an_idempotency_key():
    writes = list(write_views())
    assert {method for _, method, _ in writes} >= {"POST", "PATCH", "PUT", "DELETE"}

    missing = sorted({f"{v.__module__}.{v.__name__}" for _, _, v in writes if not issubclass(v, Idempotent)})

    assert not missing, f"API views taking writes without the Idempotent mixin (portal/api/idempotency.py): {missing}"


def test_the_schema_documents_the_header_on_every_write_but_where_a_secret_is_shown(client, db):
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    secret_shown_once = {("/api/v1/tokens/", "post"), ("/api/v1/auth/token/", "post")}
    writes = [
        (path, method, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method.upper() in WRITE_METHODS
    ]
    assert len(writes) >= 10

    for path, method, operation in writes:
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        if (path, method) in secret_shown_once:
            assert "Idempotency-Key" not in headers, (method, path)
            assert "shown once" in operation["description"], (method, path)
        else:
            assert headers.count("Idempotency-Key") == 1, (method, path)
            assert {"409", "422"} <= set(operation["responses"]), (method, path)
