"""Batches, plans and drift through the REST API (real HTTP through DRF's test client, the
real database; a real Celery worker and the sandbox LBaaS where the background work
matters).

A batch is all or nothing: every problem is named by its index and nothing is stored
unless every item passes, even when the database fails half way.  A plan runs every
check the real request meets and says what the provider would be asked, without storing
anything or writing at the provider; the real request then does exactly what was
planned.  Drift made at the provider behind the portal's back is seen by the reconciler,
shown on the record, and repaired on request or, under DRIFT_POLICY=repair, by itself."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from uuid import UUID, uuid4

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError
from rest_framework.test import APIClient

from audit.models import AuditEntry
from loadbalancers import bootstrap
from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository
from loadbalancers.application.lbaas import LBaaSClient, LoadBalancerSpec, spec_changes
from loadbalancers.application.payloads import BATCH_MAX
from loadbalancers.application.reconciliation import ReconcileReport
from loadbalancers.models import LoadBalancer
from tests.conftest import client_for, wait_until
from tests.e2e.test_load_balancer_depth_api import create, settle, url_of
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import LoadBalancerRowFactory, TeamFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db

LBS = "/api/v1/load-balancers/"
BATCH = f"{LBS}batch/"
BATCH_DELETE = f"{LBS}batch-delete/"
PLAN = f"{LBS}plan/"
SLOW = 30.0  # seconds: generous, for a busy machine
FOUND = ("load_balancer.drift_found", "system", "reconciler")
REPAIRED_BY_RECONCILER = ("load_balancer.repair_requested", "system", "reconciler")
RESOLVED = ("load_balancer.drift_resolved", "system", "reconciler")
REQUESTS = {"loadbalancers.provision", "loadbalancers.apply_update", "loadbalancers.deprovision"}


# -- helpers ----------------------------------------------------------------------------------


def item(name: str, servers: list[int], **fields: object) -> dict:
    return {"name": name, "servers": servers, **fields}


def rows() -> list[tuple]:
    """What a refused request must leave as it was: every record's name, state and version."""
    return sorted(LoadBalancer.objects.values_list("name", "provisioning_status", "version", "deletion_protection"))


def trail(lb_id: object) -> list[tuple[str, str, str]]:
    """The audit trail of one load balancer: (action, actor, source), oldest first."""
    entries = AuditEntry.objects.filter(target_type="load_balancer", target_id=str(lb_id)).order_by("id")
    return list(entries.values_list("action", "actor", "source"))


def drift_trail(lb_id: object) -> list[tuple[str, str, str]]:
    """The part of a load balancer's audit trail about drift (the worker's own entries,
    which it may write at any moment, left out)."""
    about = {"load_balancer.drift_found", "load_balancer.repair_requested", "load_balancer.drift_resolved"}
    return [entry for entry in trail(lb_id) if entry[0] in about]


def seen_at(drift: list[dict], which: str) -> list[datetime]:
    return [datetime.fromisoformat(d[which]) for d in drift]


def lb_entries() -> list[tuple[str, str]]:
    """Every audit entry about load balancers: (action, name)."""
    return list(AuditEntry.objects.filter(target_type="load_balancer").values_list("action", "target_name"))


def sandbox() -> LBaaSClient:
    """The sandbox LBaaS this test's portal talks to (each test has a fresh one)."""
    return bootstrap.providers().get("sandbox")


def ref_of(record: dict) -> str:
    ref = LoadBalancer.objects.get(pk=record["id"]).provider_ref
    assert ref, record
    return ref


def running(record: dict) -> LoadBalancerSpec:
    """What the sandbox runs for this load balancer."""
    found = sandbox().get(ref_of(record)).running
    assert found is not None
    return found


def as_json(spec: LoadBalancerSpec) -> dict:
    """A spec as plain JSON, as the sandbox stores it and its plan shows it."""
    return json.loads(json.dumps(dataclasses.asdict(spec)))


def changes_between(before: LoadBalancerSpec, after: LoadBalancerSpec) -> list[dict]:
    return [{"field": c.field, "before": c.before, "after": c.after} for c in spec_changes(before, after)]


def status_of(api: APIClient, record: dict) -> str:
    return api.get(url_of(record)).json()["provisioning_status"]


def wait_for(api: APIClient, record: dict, status: str) -> dict:
    wait_until(lambda: status_of(api, record) == status, timeout=SLOW)
    return api.get(url_of(record)).json()


def tamper(record: dict, change: Callable[[dict], dict]) -> None:
    """What the simulated service's own operator would do: edit the stored resource in the
    sandbox's file, past the adapter (which has no method for it, so neither has the
    portal).  The load balancer stays ACTIVE there, now running something else."""
    ref = ref_of(record)
    with closing(sqlite3.connect(django_settings.SANDBOX_LBAAS["path"], isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        stored = json.loads(db.execute("SELECT spec FROM load_balancers WHERE ref = ?", (ref,)).fetchone()[0])
        db.execute("UPDATE load_balancers SET spec = ? WHERE ref = ?", (json.dumps(change(stored)), ref))
        db.execute("COMMIT")


def another_algorithm_and_weight(stored: dict) -> dict:
    first, *others = stored["members"]
    return {**stored, "algorithm": "LEAST_CONNECTIONS", "members": [{**first, "weight": 7}, *others]}


def reconcile() -> ReconcileReport:
    """One pass of the periodic reconciler, as the beat scheduler runs it (the composition
    reads DRIFT_POLICY when it is built)."""
    return bootstrap.build().reconciliation.reconcile()


@pytest.fixture
def published() -> Iterator[list[str]]:
    """The names of the tasks sent to carry a request out at the provider while the test
    runs (the worker's own looks at the provider, ``follow``, are not counted)."""
    from celery.signals import before_task_publish

    names: list[str] = []

    def record(sender=None, **_):  # type: ignore[no-untyped-def]
        if sender in REQUESTS:
            names.append(sender)

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


@dataclasses.dataclass
class Shop:
    team: object
    member: object
    viewer: object


@pytest.fixture
def shop(db) -> Shop:  # type: ignore[no-untyped-def]
    """A team whose quota of load balancers is 3, with a member and a viewer."""
    team = TeamFactory(slug="shop", quota_load_balancers=3)
    member = add_member(team, UserFactory(username="shopper", personal_team=False), "member")
    viewer = add_member(team, UserFactory(username="looker", personal_team=False), "viewer")
    return Shop(team, member, viewer)


# -- batch create -----------------------------------------------------------------------------


def test_a_batch_creates_every_item_in_order_and_records_each(alice_api, ok_servers):
    a, b, c = (s.pk for s in ok_servers)
    items = [item("web", [a]), item("api", [b, c], algorithm="LEAST_CONNECTIONS"), item("db", [c], listener_port=5432)]

    response = alice_api.post(BATCH, {"items": items}, format="json")

    assert response.status_code == 202, response.content
    assert not response.has_header("Location")  # many records: each has its own URL
    created = response.json()["items"]
    assert [r["name"] for r in created] == ["web", "api", "db"]
    assert [r["provisioning_status"] for r in created] == ["PENDING_CREATE"] * 3
    assert [r["algorithm"] for r in created] == ["ROUND_ROBIN", "LEAST_CONNECTIONS", "ROUND_ROBIN"]
    assert [r["listener_port"] for r in created] == [80, 80, 5432]
    assert [[s["id"] for s in r["servers"]] for r in created] == [[a], [b, c], [c]]
    assert all(r["drift"] == [] and r["created_by"] == "alice" and r["team"] == "alice" for r in created)
    assert sorted(LoadBalancer.objects.values_list("name", "provisioning_status")) == [
        ("api", "PENDING_CREATE"),
        ("db", "PENDING_CREATE"),
        ("web", "PENDING_CREATE"),
    ]
    listed = {r["id"]: r for r in alice_api.get(LBS).json()["items"]}
    assert set(listed) == {r["id"] for r in created}
    for record in created:
        assert alice_api.get(url_of(record)).json() == record
        assert trail(record["id"]) == [("load_balancer.create_requested", "alice", "api")]


def test_a_batch_with_mixed_errors_names_each_bad_item_by_index_and_stores_nothing(alice_api, bob_api, ok_servers):
    a, b = ok_servers[0].pk, ok_servers[1].pk
    create(bob_api, [a], name="taken")
    before = rows()
    items = [
        item("fine", [a]),
        item("port-text", [a], listener_port="x"),
        item("no-server", [999_999]),
        item("Bad Name", [b]),
        item("fine", [b]),
        item("taken", [b]),
        item("also-fine", [b]),
    ]

    response = alice_api.post(BATCH, {"items": items}, format="json")

    data = assert_error(response, 400, "ValidationError", "items")
    errors = data["details"]["items"]
    assert list(errors) == ["1", "2", "3", "4", "5"], errors
    assert list(errors["1"]) == ["listener_port"]
    assert "999999" in json.dumps(errors["2"]["servers"])
    assert list(errors["3"]) == ["name"]
    assert errors["4"] == {"name": ["'fine' is also the name of item 0"]}
    assert list(errors["5"]) == ["name"]
    assert "taken" in json.dumps(errors["5"]["name"])
    assert "5 of 7" in data["message"]
    assert "nothing was created" in data["message"]
    assert rows() == before
    assert lb_entries() == [("load_balancer.create_requested", "taken")]


def test_each_item_of_a_batch_gets_the_same_errors_as_a_single_create(alice_api, ok_servers):
    bad = [
        item("port-text", [ok_servers[0].pk], listener_port="x"),
        item("Bad Name", [999_999], algorithm="FASTEST"),
        {"name": "unknown-field", "servers": [ok_servers[0].pk], "colour": "blue"},
        5,
    ]

    batch = alice_api.post(BATCH, {"items": bad}, format="json")

    errors = assert_error(batch, 400, "ValidationError", "items")["details"]["items"]
    assert list(errors) == ["0", "1", "2", "3"]
    for index, body in enumerate(bad[:3]):
        single = alice_api.post(LBS, body, format="json")
        assert errors[str(index)] == assert_error(single, 400, "ValidationError")["details"], index
    assert "non_field_errors" in errors["3"]
    assert LoadBalancer.objects.count() == 0


@pytest.mark.parametrize("count", [0, BATCH_MAX + 1])
def test_a_batch_of_no_items_or_too_many_gets_400(alice_api, ok_servers, count):
    items = [item(f"lb-{n}", [ok_servers[0].pk]) for n in range(count)]

    response = alice_api.post(BATCH, {"items": items}, format="json")

    data = assert_error(response, 400, "ValidationError", "items")
    assert f"between 1 and {BATCH_MAX}" in json.dumps(data["details"]["items"])
    assert LoadBalancer.objects.count() == 0


def test_a_batch_of_the_most_items_allowed_is_created(ok_servers):
    items = [item(f"lb-{n}", [ok_servers[n % 3].pk]) for n in range(BATCH_MAX)]
    team = TeamFactory(slug="big", quota_load_balancers=BATCH_MAX)
    mover = client_for(add_member(team, UserFactory(username="mover", personal_team=False), "member"))

    response = mover.post(BATCH, {"items": items}, format="json")

    assert response.status_code == 202, response.content
    assert len(response.json()["items"]) == BATCH_MAX
    assert LoadBalancer.objects.filter(team=team, provisioning_status="PENDING_CREATE").count() == BATCH_MAX


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"name": "web", "servers": [1]}], "non_field_errors"),
        ("items", "non_field_errors"),
        ({}, "items"),
        ({"items": "web"}, "items"),
        ({"items": {"name": "web"}}, "items"),
        ({"items": None}, "items"),
        ({"items": [{"name": "web", "servers": [1]}], "colour": "blue"}, "colour"),
    ],
    ids=["a list", "a string", "no items", "items a string", "items an object", "items null", "unknown field"],
)
def test_a_batch_that_is_not_an_object_with_items_gets_400(alice_api, body, field):
    response = alice_api.post(BATCH, body, format="json")

    assert_error(response, 400, "ValidationError", field)
    assert LoadBalancer.objects.count() == 0


def test_a_batch_over_the_teams_quota_is_refused_as_a_whole(shop, ok_servers):
    api = client_for(shop.member)
    create(api, [ok_servers[0].pk], name="first", team="shop")
    before = rows()
    items = [item(f"more-{n}", [ok_servers[n].pk], team="shop") for n in range(3)]

    response = api.post(BATCH, {"items": items}, format="json")

    data = assert_error(response, 403, "QuotaExceeded")
    assert data["details"] == {"team": "shop", "limit": "load_balancers", "quota": 3, "usage": 1, "requested": 3}
    assert rows() == before
    accepted = api.post(BATCH, {"items": items[:2]}, format="json")  # exactly up to the quota
    assert accepted.status_code == 202, accepted.content
    assert LoadBalancer.objects.filter(team=shop.team).count() == 3


def test_a_viewer_gets_every_item_refused_by_index_and_nothing_stored(shop, ok_servers):
    api = client_for(shop.viewer)
    items = [item(f"view-{n}", [ok_servers[n].pk], team="shop") for n in range(2)]

    response = api.post(BATCH, {"items": items}, format="json")

    errors = assert_error(response, 400, "ValidationError", "items")["details"]["items"]
    assert list(errors) == ["0", "1"]
    for index in ("0", "1"):
        assert "viewer" in json.dumps(errors[index]), errors
    assert LoadBalancer.objects.count() == 0


def test_a_batch_sent_again_with_its_idempotency_key_is_answered_again_and_creates_nothing(alice_api, ok_servers):
    items = [item("web", [ok_servers[0].pk]), item("api", [ok_servers[1].pk])]

    first = alice_api.post(BATCH, {"items": items}, format="json", HTTP_IDEMPOTENCY_KEY="move-1")
    again = alice_api.post(BATCH, {"items": items}, format="json", HTTP_IDEMPOTENCY_KEY="move-1")

    assert first.status_code == again.status_code == 202, (first.content, again.content)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert LoadBalancer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_half_way_through_a_batch_stores_nothing_and_sends_no_work(
    alice_api, ok_servers, celery_worker, published, monkeypatch
):
    items = [item(f"lb-{n}", [ok_servers[n].pk]) for n in range(3)]
    stored_one = DjangoLoadBalancerRepository._create_one
    calls = []

    def fails_on_the_third(self, lb):  # type: ignore[no-untyped-def]
        calls.append(lb.name)
        if len(calls) == 3:
            raise OperationalError("the database went away")
        return stored_one(self, lb)

    with monkeypatch.context() as patched:
        patched.setattr(DjangoLoadBalancerRepository, "_create_one", fails_on_the_third)
        failed = alice_api.post(BATCH, {"items": items}, format="json")

    assert_error(failed, 503, "DependencyUnavailable")
    assert calls == ["lb-0", "lb-1", "lb-2"]  # two rows were written before the failure
    assert LoadBalancer.objects.count() == 0
    assert lb_entries() == []
    assert published == []
    assert sandbox().get_list() == []

    # The same batch, the database back: stored, handed over, provisioned.
    created = alice_api.post(BATCH, {"items": items}, format="json")
    assert created.status_code == 202, created.content
    assert sorted(published) == ["loadbalancers.provision"] * 3
    for record in created.json()["items"]:
        wait_for(alice_api, record, "ACTIVE")
    assert len(sandbox().get_list()) == 3


# -- batch delete -----------------------------------------------------------------------------


def test_a_batch_delete_deletes_each_in_the_order_asked(alice_api, ok_servers):
    records = [create(alice_api, [ok_servers[0].pk], name=name) for name in ("one", "two", "three")]
    settle(records[0])
    settle(records[1], "ERROR")
    settle(records[2])
    ids = [records[2]["id"], records[0]["id"], records[1]["id"]]

    response = alice_api.post(BATCH_DELETE, {"ids": ids}, format="json")

    assert response.status_code == 202, response.content
    deleted = response.json()["items"]
    assert [r["id"] for r in deleted] == ids
    assert [r["provisioning_status"] for r in deleted] == ["PENDING_DELETE"] * 3
    for record in records:
        assert status_of(alice_api, record) == "PENDING_DELETE"
        assert trail(record["id"])[-1] == ("load_balancer.delete_requested", "alice", "api")


@pytest.mark.django_db(transaction=True)
def test_a_batch_made_and_deleted_at_the_provider_by_the_workers(alice_api, ok_servers, celery_worker, published):
    items = [item(name, [ok_servers[0].pk]) for name in ("one", "two")]
    created = alice_api.post(BATCH, {"items": items}, format="json").json()["items"]
    for record in created:
        wait_for(alice_api, record, "ACTIVE")
    assert len(sandbox().get_list()) == 2
    published.clear()

    deleted = alice_api.post(BATCH_DELETE, {"ids": [r["id"] for r in created]}, format="json")

    assert deleted.status_code == 202, deleted.content
    assert published == ["loadbalancers.deprovision"] * 2
    for record in created:
        wait_for(alice_api, record, "DELETED")
    wait_until(lambda: sandbox().get_list() == [], timeout=SLOW)


def test_a_batch_delete_with_bad_ids_names_each_by_index_and_changes_nothing(alice_api, bob_api, ok_servers):
    server = ok_servers[0].pk
    fine = create(alice_api, [server], name="fine")
    protected = create(alice_api, [server], name="protected", deletion_protection=True)
    pending = create(alice_api, [server], name="pending")
    bobs = create(bob_api, [server], name="bobs-secret")
    settle(fine)
    settle(protected)
    settle(bobs)
    before, told = rows(), lb_entries()
    ids = [fine["id"], protected["id"], pending["id"], bobs["id"], fine["id"], "not-a-uuid", str(uuid4())]

    response = alice_api.post(BATCH_DELETE, {"ids": ids}, format="json")

    data = assert_error(response, 400, "ValidationError", "ids")
    errors = data["details"]["ids"]
    assert list(errors) == ["1", "2", "3", "4", "5", "6"], errors
    assert all(isinstance(messages, list) and messages for messages in errors.values())
    assert "deletion protection" in json.dumps(errors["1"])
    assert "PENDING_CREATE" in json.dumps(errors["2"])
    assert errors["4"] == [f"load balancer {fine['id']} is also item 0"]
    assert "not-a-uuid" in json.dumps(errors["5"])
    # Someone else's is as unknown as one that never existed: its name does not leak.
    assert errors["3"] == [errors["6"][0].replace(ids[6], bobs["id"])]
    assert "bobs-secret" not in response.content.decode()
    assert "nothing was deleted" in data["message"]
    assert rows() == before
    assert lb_entries() == told


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": []}, "ids"),
        ({"ids": [str(uuid4()) for _ in range(BATCH_MAX + 1)]}, "ids"),
        ({"ids": "not-a-list"}, "ids"),
        ({}, "ids"),
        ({"ids": [None]}, "ids"),
        ({"ids": [str(uuid4())], "force": True}, "force"),
        ([str(uuid4())], "non_field_errors"),
    ],
    ids=["none", "too many", "a string", "no ids", "a null id", "unknown field", "a list"],
)
def test_a_batch_delete_of_a_bad_shape_gets_400(alice_api, ok_servers, body, field):
    record = create(alice_api, [ok_servers[0].pk])
    settle(record)
    before = rows()

    response = alice_api.post(BATCH_DELETE, body, format="json")

    assert_error(response, 400, "ValidationError", field)
    assert rows() == before


def test_values_that_are_no_ids_are_each_named_with_every_other_problem(alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk])
    settle(record)
    before = rows()

    response = alice_api.post(BATCH_DELETE, {"ids": [None, "not-a-uuid", 7, record["id"]]}, format="json")

    assert response.status_code == 400, response.data
    assert response.data["details"]["ids"] == {
        "0": ["NoneType None is not a load balancer id"],
        "1": ["'not-a-uuid' is not a load balancer id"],
        "2": ["int 7 is not a load balancer id"],
    }
    assert rows() == before


# -- plans ------------------------------------------------------------------------------------


def test_a_plan_of_a_create_says_what_would_be_made_and_stores_nothing(alice_api, ok_servers):
    body = item("shop", [{"server": ok_servers[0].pk, "weight": 3}, ok_servers[1].pk], algorithm="SOURCE_IP")

    response = alice_api.post(PLAN, body, format="json")

    assert response.status_code == 200, response.content
    plan = response.json()
    assert (plan["action"], plan["allowed"], plan["error"], plan["id"], plan["name"]) == (
        "create",
        True,
        None,
        None,
        "shop",
    )
    asked = {change["field"]: change for change in plan["changes"]}
    assert asked["name"] == {"field": "name", "before": None, "after": "shop"}
    assert asked["algorithm"]["after"] == "SOURCE_IP"
    side = plan["provider"]
    assert (side["name"], side["ref"], side["diff"]) == ("sandbox", None, "")
    assert [op["name"] for op in side["operations"]] == ["create load balancer"]
    resource = side["operations"][0]["params"]["resource"]
    assert (resource["name"], resource["algorithm"], resource["listener_port"]) == ("shop", "SOURCE_IP", 80)
    assert [(m["address"], m["weight"]) for m in resource["members"]] == [
        (ok_servers[0].address, 3),
        (ok_servers[1].address, 1),
    ]
    assert {c["field"] for c in side["changes"]} >= {
        "algorithm",
        "listener_port",
        f"member {ok_servers[0].address}:8080",
    }
    assert all(c["before"] is None for c in side["changes"])
    assert LoadBalancer.objects.count() == 0
    assert lb_entries() == []
    assert sandbox().get_list() == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Bad Name", "servers": [999_999], "listener_port": 70_000},
        {"name": "shop", "servers": [1], "listener_port": "x"},
        {"name": "shop"},
        {"name": "shop", "servers": [1], "colour": "blue"},
    ],
    ids=["rules broken", "a shape error", "servers missing", "unknown field"],
)
def test_a_plan_of_an_invalid_create_reports_the_refusal_a_real_create_gets(alice_api, ok_servers, body):
    planned = alice_api.post(PLAN, body, format="json")
    dry = alice_api.post(f"{LBS}?dry_run=true", body, format="json")
    real = alice_api.post(LBS, body, format="json")

    assert planned.status_code == 200, planned.content
    plan = planned.json()
    assert (plan["action"], plan["allowed"], plan["provider"], plan["changes"]) == ("create", False, None, [])
    refused = assert_error(real, 400, "ValidationError")
    assert plan["error"] == {"status": 400, **refused}
    assert dry.status_code == 200
    assert dry.json() == plan
    assert LoadBalancer.objects.count() == 0


def test_a_plan_of_a_create_over_the_quota_is_not_allowed(shop, ok_servers):
    shop.team.quota_load_balancers = 0
    shop.team.save()
    api = client_for(shop.member)
    body = item("shop", [ok_servers[0].pk], team="shop")

    plan = api.post(PLAN, body, format="json").json()

    refused = assert_error(api.post(LBS, body, format="json"), 403, "QuotaExceeded")
    assert (plan["allowed"], plan["error"]) == (False, {"status": 403, **refused})
    assert LoadBalancer.objects.count() == 0


def test_a_plan_of_a_change_while_pending_is_not_allowed(alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk])
    before = rows()
    change = {"algorithm": "LEAST_CONNECTIONS"}

    plan = alice_api.post(f"{url_of(record)}plan/", change, format="json")
    dry = alice_api.patch(f"{url_of(record)}?dry_run=true", change, format="json")
    real = alice_api.patch(url_of(record), change, format="json")

    assert plan.status_code == 200, plan.content
    refused = assert_error(real, 409, "LoadBalancerPending")
    assert plan.json()["action"] == "update"
    assert plan.json()["allowed"] is False
    assert plan.json()["id"] == record["id"]
    assert plan.json()["error"] == {"status": 409, **refused}
    assert plan.json()["provider"] is None
    assert dry.status_code == 200
    assert dry.json() == plan.json()
    assert rows() == before


def test_a_plan_of_an_invalid_change_reports_the_refusal_a_real_change_gets(alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk])
    settle(record)
    before = rows()

    for change in ({"algorithm": "FASTEST", "servers": []}, {"name": "renamed"}, {}, {"servers": "x"}):
        plan = alice_api.post(f"{url_of(record)}plan/", change, format="json").json()
        refused = assert_error(alice_api.patch(url_of(record), change, format="json"), 400, "ValidationError")
        assert (plan["allowed"], plan["error"]) == (False, {"status": 400, **refused}), change
    assert rows() == before


def test_someone_elses_load_balancer_has_no_plan(alice_api, bob_api, ok_servers):
    bobs = create(bob_api, [ok_servers[0].pk], name="bobs")
    settle(bobs)
    missing = f"{LBS}{uuid4()}/"
    before = rows()

    for response in (
        alice_api.post(f"{url_of(bobs)}plan/", {"algorithm": "LEAST_CONNECTIONS"}, format="json"),
        alice_api.post(f"{url_of(bobs)}plan/", {"algorithm": "FASTEST"}, format="json"),
        alice_api.patch(f"{url_of(bobs)}?dry_run=true", {"algorithm": "LEAST_CONNECTIONS"}, format="json"),
        alice_api.post(f"{missing}plan/", {"algorithm": "LEAST_CONNECTIONS"}, format="json"),
        alice_api.post(f"{LBS}not-a-uuid/plan/", {"algorithm": "LEAST_CONNECTIONS"}, format="json"),
    ):
        assert_error(response, 404, "LoadBalancerNotFound")
        assert "bobs" not in response.content.decode()
    assert rows() == before


def test_a_plan_of_a_change_the_portal_keeps_to_itself_has_no_provider_side(alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk])
    settle(record)
    before = rows()

    plan = alice_api.post(f"{url_of(record)}plan/", {"deletion_protection": True}, format="json").json()

    assert (plan["allowed"], plan["error"], plan["provider"]) == (True, None, None)
    assert plan["changes"] == [{"field": "deletion_protection", "before": False, "after": True}]
    assert rows() == before


def test_a_dry_run_is_never_answered_again_as_the_real_request(alice_api, ok_servers):
    """The query is part of the request an Idempotency-Key stands for: the real create sent
    with the dry run's key is another request (422), never the plan replayed."""
    body = item("keyed", [ok_servers[0].pk])

    dry = alice_api.post(f"{LBS}?dry_run=true", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    real = alice_api.post(LBS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert dry.status_code == 200, dry.content
    assert dry.json()["allowed"] is True
    assert_error(real, 422, "IdempotencyKeyReused")
    assert LoadBalancer.objects.count() == 0
    assert alice_api.post(LBS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 202


def test_a_plan_needs_the_provider_and_says_so_when_it_does_not_answer(settings, alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk], name="kept")
    settle(record)
    before = rows()
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "error_rate": 1.0}

    for response in (
        alice_api.post(PLAN, item("fresh", [ok_servers[0].pk]), format="json"),
        alice_api.post(f"{url_of(record)}plan/", {"algorithm": "LEAST_CONNECTIONS"}, format="json"),
        alice_api.patch(f"{url_of(record)}?dry_run=true", {"algorithm": "LEAST_CONNECTIONS"}, format="json"),
    ):
        assert_error(response, 503, "ProviderUnavailable")
    assert rows() == before


@pytest.mark.parametrize("value", ["maybe", "2", "truee"])
def test_a_dry_run_that_is_not_a_yes_or_a_no_gets_400_and_changes_nothing(alice_api, ok_servers, value):
    record = create(alice_api, [ok_servers[0].pk], name="kept")
    settle(record)
    before = rows()

    created = alice_api.post(f"{LBS}?dry_run={value}", item("fresh", [ok_servers[0].pk]), format="json")
    changed = alice_api.patch(f"{url_of(record)}?dry_run={value}", {"description": "x"}, format="json")

    for response in (created, changed):
        assert_error(response, 400, "ValidationError", "dry_run")
    assert rows() == before


def test_writes_without_a_plan_refuse_a_dry_run_rather_than_do_it_for_real(alice_api, ok_servers):
    """A delete, a retry, a repair and both batches have no plan: ``dry_run=true`` is
    refused with 400 and nothing changes (``dry_run=false`` is the request itself)."""
    record = create(alice_api, [ok_servers[0].pk])
    settle(record)
    before = rows()
    url = url_of(record)

    asked = {
        "delete": alice_api.delete(f"{url}?dry_run=true"),
        "retry": alice_api.post(f"{url}retry/?dry_run=true"),
        "repair": alice_api.post(f"{url}repair/?dry_run=true"),
        "batch": alice_api.post(f"{BATCH}?dry_run=true", {"items": [item("more", [ok_servers[0].pk])]}, format="json"),
        "batch delete": alice_api.post(f"{BATCH_DELETE}?dry_run=true", {"ids": [record["id"]]}, format="json"),
    }

    for what, response in asked.items():
        assert_error(response, 400, "ValidationError", "dry_run")
        assert response.json()["details"]["dry_run"] == [f"a {what} has no plan: send it without dry_run"]
    assert rows() == before
    assert alice_api.delete(f"{url}?dry_run=false").status_code == 202


def test_dry_run_false_is_the_real_request(alice_api, ok_servers):
    response = alice_api.post(f"{LBS}?dry_run=false", item("real", [ok_servers[0].pk]), format="json")

    assert response.status_code == 202, response.content
    assert response.json()["provisioning_status"] == "PENDING_CREATE"
    assert LoadBalancer.objects.filter(name="real").exists()


@pytest.mark.django_db(transaction=True)
def test_a_created_load_balancer_runs_what_its_plan_said(alice_api, ok_servers, celery_worker):
    body = item("shop", [{"server": ok_servers[0].pk, "weight": 5}, ok_servers[1].pk], listener_port=8443)
    plan = alice_api.post(PLAN, body, format="json").json()
    assert alice_api.post(f"{LBS}?dry_run=1", body, format="json").json() == plan
    assert LoadBalancer.objects.count() == 0
    assert sandbox().get_list() == []

    record = create(alice_api, body["servers"], name="shop", listener_port=8443)
    wait_for(alice_api, record, "ACTIVE")

    assert as_json(running(record)) == plan["provider"]["operations"][0]["params"]["resource"]


@pytest.mark.django_db(transaction=True)
def test_a_change_does_at_the_provider_exactly_what_its_plan_said(alice_api, ok_servers, celery_worker, published):
    a, b, c = (s.pk for s in ok_servers)
    record = create(alice_api, [a, {"server": b, "weight": 2}])
    wait_for(alice_api, record, "ACTIVE")
    before_record = alice_api.get(url_of(record)).json()
    before_running = running(record)
    change = {"algorithm": "LEAST_CONNECTIONS", "servers": [{"server": b, "weight": 9}, c]}
    published.clear()

    response = alice_api.post(f"{url_of(record)}plan/", change, format="json")

    assert response.status_code == 200, response.content
    plan = response.json()
    assert (plan["action"], plan["allowed"], plan["error"], plan["id"], plan["name"]) == (
        "update",
        True,
        None,
        record["id"],
        "shop",
    )
    assert {"field": "algorithm", "before": "ROUND_ROBIN", "after": "LEAST_CONNECTIONS"} in plan["changes"]
    side = plan["provider"]
    assert (side["name"], side["ref"]) == ("sandbox", ref_of(record))
    fields = {c["field"]: c for c in side["changes"]}
    assert fields["algorithm"] == {"field": "algorithm", "before": "ROUND_ROBIN", "after": "LEAST_CONNECTIONS"}
    assert fields[f"member {ok_servers[0].address}:8080"]["after"] is None  # a goes
    assert fields[f"member {ok_servers[1].address}:8080 weight"] == {
        "field": f"member {ok_servers[1].address}:8080 weight",
        "before": 2,
        "after": 9,
    }
    assert fields[f"member {ok_servers[2].address}:8080"]["before"] is None  # c comes
    assert [op["name"] for op in side["operations"]] == ["update load balancer"]
    # Nothing stored, nothing sent, nothing written at the provider.
    assert alice_api.get(url_of(record)).json() == before_record
    assert running(record) == before_running
    assert sandbox().get(ref_of(record)).provisioning_status == "ACTIVE"
    assert published == []
    assert alice_api.patch(f"{url_of(record)}?dry_run=true", change, format="json").json() == plan

    changed = alice_api.patch(url_of(record), change, format="json")

    assert changed.status_code == 202, changed.content
    wait_for(alice_api, record, "ACTIVE")
    after_running = running(record)
    assert changes_between(before_running, after_running) == side["changes"]
    assert as_json(after_running) == side["operations"][0]["params"]["resource"]
    assert after_running.algorithm == "LEAST_CONNECTIONS"


# -- drift ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_drift_at_the_provider_is_shown_and_repaired_on_request(alice_api, ok_servers, celery_worker):
    record = create(alice_api, [ok_servers[0].pk, ok_servers[1].pk])
    wait_for(alice_api, record, "ACTIVE")
    desired = running(record)
    assert reconcile().drifted == []
    tamper(record, another_algorithm_and_weight)
    member = f"member {ok_servers[0].address}:8080 weight"

    found = reconcile()

    assert found.drifted == [UUID(record["id"])]
    assert found.repaired == []
    shown = alice_api.get(url_of(record)).json()
    assert shown["provisioning_status"] == "ACTIVE"
    assert [(d["field"], d["desired"], d["actual"]) for d in shown["drift"]] == [
        ("algorithm", "ROUND_ROBIN", "LEAST_CONNECTIONS"),
        (member, 1, 7),
    ]
    assert seen_at(shown["drift"], "first_seen_at") == seen_at(shown["drift"], "last_seen_at")
    assert drift_trail(record["id"]) == [FOUND]
    assert next(r for r in alice_api.get(LBS).json()["items"] if r["id"] == record["id"])["drift"] == shown["drift"]

    # Reported, not repaired: the provider keeps running what it runs; seen again.
    again = reconcile()
    assert again.drifted == [UUID(record["id"])]
    assert again.repaired == []
    assert running(record).algorithm == "LEAST_CONNECTIONS"
    seen_again = alice_api.get(url_of(record)).json()["drift"]
    assert seen_at(seen_again, "first_seen_at") == seen_at(shown["drift"], "first_seen_at")
    first_look, second_look = seen_at(shown["drift"], "last_seen_at"), seen_at(seen_again, "last_seen_at")
    assert all(second > first for first, second in zip(first_look, second_look, strict=True))
    assert drift_trail(record["id"]) == [FOUND]  # told once

    repaired = alice_api.post(f"{url_of(record)}repair/")

    assert repaired.status_code == 202, repaired.content
    assert repaired.json()["provisioning_status"] == "PENDING_UPDATE"
    assert drift_trail(record["id"]) == [FOUND, ("load_balancer.repair_requested", "alice", "api")]
    wait_for(alice_api, record, "ACTIVE")
    assert running(record) == desired
    assert reconcile().drifted == []
    assert alice_api.get(url_of(record)).json()["drift"] == []
    assert drift_trail(record["id"]) == [FOUND, ("load_balancer.repair_requested", "alice", "api"), RESOLVED]


def test_a_repair_is_refused_unless_active_and_yours(alice_api, bob_api, ok_servers, shop):
    pending = create(alice_api, [ok_servers[0].pk], name="pending")
    bobs = create(bob_api, [ok_servers[0].pk], name="bobs")
    settle(bobs)
    shops = create(client_for(shop.member), [ok_servers[0].pk], name="shops", team="shop")
    settle(shops)
    before = rows()

    assert_error(alice_api.post(f"{url_of(pending)}repair/"), 409, "LoadBalancerPending")
    assert_error(alice_api.post(f"{url_of(bobs)}repair/"), 404, "LoadBalancerNotFound")
    assert_error(alice_api.post(f"{LBS}{uuid4()}/repair/"), 404, "LoadBalancerNotFound")
    assert_error(client_for(shop.viewer).post(f"{url_of(shops)}repair/"), 403, "NotAllowed")
    assert rows() == before


@pytest.mark.django_db(transaction=True)
def test_under_the_repair_policy_the_reconciler_repairs_drift_by_itself(settings, alice_api, ok_servers, celery_worker):
    settings.DRIFT_POLICY = "repair"
    record = create(alice_api, [ok_servers[0].pk, ok_servers[1].pk])
    wait_for(alice_api, record, "ACTIVE")
    desired = running(record)
    tamper(record, another_algorithm_and_weight)

    found = reconcile()

    assert found.drifted == found.repaired == [UUID(record["id"])]
    # Found and repaired in one commit: both told (in the order the unit of work publishes them).
    assert sorted(drift_trail(record["id"])) == [FOUND, REPAIRED_BY_RECONCILER]
    shown = alice_api.get(url_of(record)).json()
    assert shown["provisioning_status"] in ("PENDING_UPDATE", "ACTIVE")  # the worker may be done already
    assert [d["field"] for d in shown["drift"]] == ["algorithm", f"member {ok_servers[0].address}:8080 weight"]
    wait_for(alice_api, record, "ACTIVE")
    assert running(record) == desired
    settled = reconcile()
    assert settled.drifted == settled.repaired == []
    assert alice_api.get(url_of(record)).json()["drift"] == []
    assert sorted(drift_trail(record["id"])[:2]) == [FOUND, REPAIRED_BY_RECONCILER]
    assert drift_trail(record["id"])[2:] == [RESOLVED]


@pytest.mark.django_db(transaction=True)
def test_under_the_repair_policy_a_repair_that_did_not_hold_is_reported_not_repeated(
    settings, alice_api, ok_servers, celery_worker, published
):
    settings.DRIFT_POLICY = "repair"
    record = create(alice_api, [ok_servers[0].pk, ok_servers[1].pk])
    wait_for(alice_api, record, "ACTIVE")
    tamper(record, another_algorithm_and_weight)
    assert reconcile().repaired == [UUID(record["id"])]
    wait_for(alice_api, record, "ACTIVE")
    tamper(record, another_algorithm_and_weight)  # undone again before the reconciler looked
    published.clear()

    found = reconcile()

    assert found.drifted == [UUID(record["id"])]
    assert found.repaired == []
    assert published == []
    assert status_of(alice_api, record) == "ACTIVE"
    assert running(record).algorithm == "LEAST_CONNECTIONS"
    assert [d["field"] for d in alice_api.get(url_of(record)).json()["drift"]] == [
        "algorithm",
        f"member {ok_servers[0].address}:8080 weight",
    ]
    assert sorted(drift_trail(record["id"])) == [FOUND, REPAIRED_BY_RECONCILER]  # told once, repaired once


# -- credentials ------------------------------------------------------------------------------


def _new_endpoints(lb_id: str, server: int) -> list[tuple[str, str, object]]:
    """Every endpoint this feature added: method, path, body."""
    url = f"{LBS}{lb_id}/"
    return [
        ("post", BATCH, {"items": [item("fresh", [server])]}),
        ("post", BATCH_DELETE, {"ids": [lb_id]}),
        ("post", PLAN, item("fresh", [server])),
        ("post", f"{url}plan/", {"algorithm": "LEAST_CONNECTIONS"}),
        ("post", f"{url}repair/", None),
        ("post", f"{LBS}?dry_run=true", item("fresh", [server])),
        ("patch", f"{url}?dry_run=true", {"algorithm": "LEAST_CONNECTIONS"}),
    ]


def test_every_new_endpoint_answers_401_without_credentials(alice, ok_servers):
    lb = LoadBalancerRowFactory(created_by=alice)
    before = rows()

    for method, path, body in _new_endpoints(str(lb.pk), ok_servers[0].pk):
        response = getattr(APIClient(), method)(path, body, format="json")
        assert_error(response, 401, "NotAuthenticated")
    assert rows() == before


def test_every_new_endpoint_refuses_a_read_only_token(alice, ok_servers):
    lb = LoadBalancerRowFactory(created_by=alice)
    reader = client_for(alice, write=False)
    before = rows()

    for method, path, body in _new_endpoints(str(lb.pk), ok_servers[0].pk):
        response = getattr(reader, method)(path, body, format="json")
        data = assert_error(response, 403, "ReadOnlyToken")
        assert "read-only" in data["message"], (method, path)
    assert rows() == before
    assert reader.get(f"{LBS}{lb.pk}/").json()["drift"] == []  # it still reads
