"""Members with weights and drain, health monitors, tags, deletion protection, retry and
the inventory's drain, through the REST API (real HTTP through DRF's test client, the
real database; a real Celery worker and the sandbox LBaaS where the background work
matters).

What a client that knows none of this sends (server ids alone) keeps working and gets
the defaults; every bad shape is a 400 that says what is wrong, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from loadbalancers.domain.model import OperatingStatus
from loadbalancers.models import LoadBalancer
from servers.models import Server
from tests.conftest import wait_until
from tests.e2e.test_load_balancer_errors import assert_error

pytestmark = pytest.mark.django_db

LBS = "/api/v1/load-balancers/"
SERVERS = "/api/v1/servers/"
MEMBER_KEYS = {
    "id",
    "name",
    "address",
    "port",
    "status",
    "weight",
    "admin_state",
    "operating_status",
    "status_reason",
    "drained_by_inventory",
}
SLOW = 30.0  # seconds: generous, for a busy machine


def url_of(record: dict) -> str:
    return f"{LBS}{record['id']}/"


def create(api, servers, name: str = "shop", **fields) -> dict:  # type: ignore[no-untyped-def]
    response = api.post(LBS, {"name": name, "servers": servers, **fields}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def settle(record: dict, status: str = "ACTIVE") -> None:
    """As the workers would leave it (for tests without a worker)."""
    LoadBalancer.objects.filter(pk=record["id"]).update(provisioning_status=status, pending_since=None)


def text_of(response, field: str) -> str:  # type: ignore[no-untyped-def]
    """What the error's details say of a field, as one text."""
    return json.dumps(response.json()["details"][field])


def members(record: dict) -> list[tuple[int, int, str]]:
    return [(s["id"], s["weight"], s["admin_state"]) for s in record["servers"]]


def stored(record: dict) -> tuple:
    """What a refused request must not have changed."""
    row = LoadBalancer.objects.get(pk=record["id"])
    return (
        row.version,
        row.provisioning_status,
        row.health_monitor,
        row.deletion_protection,
        sorted(row.members.values_list("server_id", "weight", "admin_state")),
        sorted(row.tags.values_list("value", flat=True)),
    )


@pytest.fixture
def published() -> Iterator[list[str]]:
    """The names of the tasks sent to carry a request out at the provider while the test
    runs (the worker's own looks at the provider, ``follow``, are not counted)."""
    from celery.signals import before_task_publish

    names: list[str] = []
    requests = {"loadbalancers.provision", "loadbalancers.apply_update", "loadbalancers.deprovision"}

    def record(sender=None, **_):  # type: ignore[no-untyped-def]
        if sender in requests:
            names.append(sender)

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


# -- existing clients -----------------------------------------------------------------------


def test_a_client_sending_server_ids_alone_gets_the_defaults(alice_api, ok_servers):
    ids = [s.pk for s in ok_servers[:2]]

    created = alice_api.post(LBS, {"name": "shop", "servers": ids}, format="json")

    assert created.status_code == 202, created.content
    for record in (created.json(), alice_api.get(created["Location"]).json()):
        assert [s["id"] for s in record["servers"]] == ids
        for member in record["servers"]:
            assert set(member) == MEMBER_KEYS
            assert (member["weight"], member["admin_state"], member["drained_by_inventory"]) == (1, "enabled", False)
            assert member["operating_status"] in {s.value for s in OperatingStatus}
            assert member["status_reason"] is None
            assert member["status"] == "OK"
        assert record["health_monitor"] is None
        assert record["tags"] == []
        assert record["deletion_protection"] is False
        assert record["notices"] == []
        assert record["owner"] == record["created_by"] == "alice"
        assert record["provisioning_status"] == "PENDING_CREATE"


def test_a_change_with_server_ids_alone_keeps_each_members_weight_and_drain(alice_api, ok_servers):
    a, b, c = (s.pk for s in ok_servers)
    record = create(alice_api, [{"server": a, "weight": 5}, {"server": b, "admin_state": "drain"}])
    settle(record)

    changed = alice_api.patch(url_of(record), {"servers": [a, b, c]}, format="json")

    assert changed.status_code == 202, changed.content
    assert changed.json()["provisioning_status"] == "PENDING_UPDATE"
    assert members(changed.json()) == [(a, 5, "enabled"), (b, 1, "drain"), (c, 1, "enabled")]
    assert members(alice_api.get(url_of(record)).json()) == [(a, 5, "enabled"), (b, 1, "drain"), (c, 1, "enabled")]


# -- members as objects ---------------------------------------------------------------------


def test_members_as_objects_and_ids_mixed_on_create(alice_api, ok_servers):
    a, b, c = (s.pk for s in ok_servers)

    record = create(
        alice_api,
        [{"server": a, "weight": 10}, {"server": b, "weight": 0, "admin_state": "drain"}, c],
    )

    assert members(record) == [(a, 10, "enabled"), (b, 0, "drain"), (c, 1, "enabled")]
    assert members(alice_api.get(url_of(record)).json()) == members(record)
    assert [s["drained_by_inventory"] for s in record["servers"]] == [False, False, False]


def test_members_as_objects_on_a_change_set_what_they_name_and_keep_the_rest(alice_api, ok_servers):
    a, b, c = (s.pk for s in ok_servers)
    record = create(alice_api, [{"server": a, "weight": 5}, {"server": b, "admin_state": "drain"}])
    settle(record)

    changed = alice_api.patch(
        url_of(record),
        {"servers": [{"server": a, "admin_state": "drain"}, {"server": b, "admin_state": "enabled"}, {"server": c}]},
        format="json",
    )

    assert changed.status_code == 202, changed.content
    # a keeps its weight 5 (only its admin state was sent); c is new: the defaults.
    assert members(changed.json()) == [(a, 5, "drain"), (b, 1, "enabled"), (c, 1, "enabled")]
    settle(record)
    again = alice_api.patch(url_of(record), {"servers": [{"server": c, "weight": 256}, a]}, format="json")
    assert again.status_code == 202, again.content
    assert members(again.json()) == [(c, 256, "enabled"), (a, 5, "drain")]


def _bad_members(a: int) -> dict[str, tuple[object, str]]:
    """Each bad ``servers`` value, and what its error must say."""
    return {
        "string item": ([str(a)], "server id"),
        "nested list": ([[a]], "server id"),
        "null item": ([None], "may not be null"),
        "boolean item": ([True], "server id"),
        "weight 300": ([{"server": a, "weight": 300}], "weight must be between 0 and 256 (got 300)"),
        "weight -1": ([{"server": a, "weight": -1}], "weight must be between 0 and 256 (got -1)"),
        "weight as text": ([{"server": a, "weight": "3"}], "weight must be a whole number (got '3')"),
        "weight 1.5": ([{"server": a, "weight": 1.5}], "weight must be a whole number (got 1.5)"),
        "weight true": ([{"server": a, "weight": True}], "weight must be a whole number (got True)"),
        "admin_state off": ([{"server": a, "admin_state": "off"}], "admin_state must be enabled or drain (got 'off')"),
        "unknown key": ([{"server": a, "colour": "blue"}], "'colour' is not a member field"),
        "no server": ([{"weight": 2}], "server must be a server id"),
        "server as text": ([{"server": str(a)}], "server must be a server id"),
        "server listed twice": ([a, {"server": a, "weight": 2}], "each server may be listed once"),
        "empty list": ([], "at least one server is required"),
        "huge weight": ([{"server": a, "weight": 2**70}], "weight must be between 0 and 256"),
        "an object, not a list": ({"server": a}, "list"),
    }


BAD_MEMBERS = list(_bad_members(0))


@pytest.mark.parametrize("case", BAD_MEMBERS)
def test_bad_members_on_create_get_400_saying_what_is_wrong(alice_api, ok_servers, case):
    servers, says = _bad_members(ok_servers[0].pk)[case]

    response = alice_api.post(LBS, {"name": "shop", "servers": servers}, format="json")

    assert_error(response, 400, "ValidationError", "servers")
    assert says in text_of(response, "servers"), response.json()
    assert LoadBalancer.objects.count() == 0


@pytest.mark.parametrize("case", BAD_MEMBERS)
def test_bad_members_on_a_change_get_400_saying_what_is_wrong_and_change_nothing(alice_api, ok_servers, case):
    record = create(alice_api, [{"server": ok_servers[0].pk, "weight": 7}])
    settle(record)
    before = stored(record)
    servers, says = _bad_members(ok_servers[0].pk)[case]

    response = alice_api.patch(url_of(record), {"servers": servers}, format="json")

    assert_error(response, 400, "ValidationError", "servers")
    assert says in text_of(response, "servers"), response.json()
    assert stored(record) == before


def test_every_problem_of_a_member_is_reported_at_once(alice_api, ok_servers):
    a = ok_servers[0].pk

    response = alice_api.post(
        LBS,
        {"name": "shop", "servers": [{"server": a, "weight": 300, "admin_state": "off", "colour": 1}]},
        format="json",
    )

    assert_error(response, 400, "ValidationError", "servers")
    said = text_of(response, "servers")
    for problem in ("weight must be between 0 and 256", "admin_state must be enabled or drain", "'colour'"):
        assert problem in said, said


# -- health monitors ------------------------------------------------------------------------


def test_an_http_monitor_on_create_with_its_path_and_codes(alice_api, ok_servers):
    monitor = {"type": "HTTP", "http_path": "/healthz?full=1", "expected_codes": "200-299,301", "interval": 10}

    record = create(alice_api, [ok_servers[0].pk], health_monitor=monitor)

    expected = {
        "type": "HTTP",
        "interval": 10,
        "timeout": 3,
        "retries_up": 2,
        "retries_down": 3,
        "http_path": "/healthz?full=1",
        "expected_codes": "200-299,301",
    }
    assert record["health_monitor"] == expected
    assert alice_api.get(url_of(record)).json()["health_monitor"] == expected


def test_a_tcp_monitor_on_create_has_no_http_fields(alice_api, ok_servers):
    monitor = {"type": "TCP", "interval": 20, "timeout": 19, "retries_up": 1, "retries_down": 10}

    record = create(alice_api, [ok_servers[0].pk], health_monitor=monitor)

    assert record["health_monitor"] == monitor
    assert alice_api.get(url_of(record)).json()["health_monitor"] == monitor


def test_a_monitor_changes_field_by_field_and_null_removes_it(alice_api, ok_servers):
    http = {"type": "HTTP", "http_path": "/ping", "expected_codes": "204", "interval": 10, "timeout": 5}
    record = create(alice_api, [ok_servers[0].pk], health_monitor=http)
    url = url_of(record)
    settle(record)

    one_field = alice_api.patch(url, {"health_monitor": {"retries_down": 5}}, format="json")

    assert one_field.status_code == 202, one_field.content
    assert one_field.json()["provisioning_status"] == "PENDING_UPDATE"
    assert one_field.json()["health_monitor"] == {**http, "retries_up": 2, "retries_down": 5}
    settle(record)

    untouched = alice_api.patch(url, {"description": "no word of the monitor"}, format="json")
    assert untouched.status_code == 202, untouched.content
    assert untouched.json()["health_monitor"] == one_field.json()["health_monitor"]
    settle(record)

    to_tcp = alice_api.patch(url, {"health_monitor": {"type": "TCP"}}, format="json")
    assert to_tcp.status_code == 202, to_tcp.content
    # Another type keeps the timings; the HTTP fields go.
    assert to_tcp.json()["health_monitor"] == {
        "type": "TCP",
        "interval": 10,
        "timeout": 5,
        "retries_up": 2,
        "retries_down": 5,
    }
    settle(record)

    removed = alice_api.patch(url, {"health_monitor": None}, format="json")
    assert removed.status_code == 202, removed.content
    assert removed.json()["health_monitor"] is None
    assert alice_api.get(url).json()["health_monitor"] is None
    assert LoadBalancer.objects.get(pk=record["id"]).health_monitor is None


def test_a_bad_monitor_gets_400_with_every_problem_at_once(alice_api, ok_servers):
    monitor = {
        "type": "HTTP",
        "interval": 0,
        "timeout": 5,
        "retries_up": 11,
        "retries_down": "3",
        "http_path": "no-slash",
        "expected_codes": "abc",
        "colour": "blue",
    }

    response = alice_api.post(
        LBS, {"name": "shop", "servers": [ok_servers[0].pk], "health_monitor": monitor}, format="json"
    )

    assert_error(response, 400, "ValidationError", "health_monitor")
    problems = response.json()["details"]["health_monitor"]
    said = json.dumps(problems)
    for problem in (
        "'colour' is not a health monitor field",
        "interval must be between 1 and 3600 (got 0)",
        "retries_up must be between 1 and 10 (got 11)",
        "retries_down must be a whole number (got '3')",
        "timeout must be less than interval",
        "http_path must",
        "expected_codes must",
    ):
        assert problem in said, said
    assert len(problems) == 7, problems
    assert LoadBalancer.objects.count() == 0


BAD_MONITORS = {
    "no type": ({"interval": 10}, "type must be HTTP or TCP"),
    "unknown type": ({"type": "UDP"}, "type must be HTTP or TCP (got 'UDP')"),
    "TCP with a path": ({"type": "TCP", "http_path": "/"}, "http_path is only for HTTP monitors"),
    "timeout equal to interval": ({"type": "TCP", "interval": 5, "timeout": 5}, "timeout must be less than interval"),
    "codes out of range": ({"type": "HTTP", "expected_codes": "99"}, "expected_codes"),
    "codes range backwards": ({"type": "HTTP", "expected_codes": "399-200"}, "ends before it starts"),
    "path with a space": ({"type": "HTTP", "http_path": "/a b"}, "http_path must start with /"),
    "path too long": ({"type": "HTTP", "http_path": "/" + "a" * 255}, "at most 255 characters"),
}


@pytest.mark.parametrize("case", list(BAD_MONITORS))
def test_each_bad_monitor_on_create_gets_400_naming_the_problem(alice_api, ok_servers, case):
    monitor, says = BAD_MONITORS[case]

    response = alice_api.post(
        LBS, {"name": "shop", "servers": [ok_servers[0].pk], "health_monitor": monitor}, format="json"
    )

    assert_error(response, 400, "ValidationError", "health_monitor")
    assert says in text_of(response, "health_monitor"), response.json()
    assert LoadBalancer.objects.count() == 0


def test_a_bad_monitor_change_gets_400_and_changes_nothing(alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk])
    settle(record)
    before = stored(record)

    no_type = alice_api.patch(url_of(record), {"health_monitor": {"interval": 10}}, format="json")
    bad_values = alice_api.patch(
        url_of(record),
        {"health_monitor": {"type": "HTTP", "interval": 2, "timeout": 2, "http_path": "x"}},
        format="json",
    )

    assert_error(no_type, 400, "ValidationError", "health_monitor")
    assert "type must be HTTP or TCP (got None)" in text_of(no_type, "health_monitor")
    assert_error(bad_values, 400, "ValidationError", "health_monitor")
    assert len(bad_values.json()["details"]["health_monitor"]) == 2, bad_values.json()
    assert stored(record) == before


@pytest.mark.parametrize("monitor", ["HTTP", ["HTTP"], [{"type": "HTTP"}], 5, True], ids=repr)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_monitor_that_is_not_an_object_gets_400(alice_api, ok_servers, monitor, method):
    if method == "post":
        response = alice_api.post(
            LBS, {"name": "shop", "servers": [ok_servers[0].pk], "health_monitor": monitor}, format="json"
        )
        changed_nothing = LoadBalancer.objects.count() == 0
    else:
        record = create(alice_api, [ok_servers[0].pk])
        settle(record)
        before = stored(record)
        response = alice_api.patch(url_of(record), {"health_monitor": monitor}, format="json")
        changed_nothing = stored(record) == before

    assert_error(response, 400, "ValidationError", "health_monitor")
    assert "health monitor object" in text_of(response, "health_monitor")
    assert changed_nothing


# -- tags ---------------------------------------------------------------------------------


def test_tags_are_set_on_create_and_replaced_on_a_change(alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk], tags=["web", "env=prod", "owner=ops@example.com"])
    assert record["tags"] == ["env=prod", "owner=ops@example.com", "web"]
    settle(record)

    changed = alice_api.patch(url_of(record), {"tags": ["env=dev"]}, format="json")

    assert changed.status_code == 202, changed.content
    assert changed.json()["tags"] == ["env=dev"]
    assert alice_api.get(url_of(record)).json()["tags"] == ["env=dev"]
    settle(record)
    cleared = alice_api.patch(url_of(record), {"tags": []}, format="json")
    assert cleared.status_code == 202, cleared.content
    assert cleared.json()["tags"] == []


def test_the_list_filters_on_every_tag_given(alice_api, bob_api, ok_servers):
    server = ok_servers[0].pk
    both = create(alice_api, [server], name="both", tags=["env=prod", "web"])
    create(alice_api, [server], name="prod-only", tags=["env=prod"])
    create(alice_api, [server], name="web-dev", tags=["web", "env=dev"])
    create(alice_api, [server], name="untagged")
    create(bob_api, [server], name="bobs", tags=["env=prod", "web"])  # another team's: never seen by alice

    def names(query: str) -> list[str]:
        response = alice_api.get(f"{LBS}?sort_by=name&{query}")
        assert response.status_code == 200, response.content
        return [item["name"] for item in response.json()["items"]]

    assert names("tag=env=prod&tag=web") == ["both"]
    assert names("tag=web") == ["both", "web-dev"]
    assert names("tag=env=prod") == ["both", "prod-only"]
    assert names("tag=env%3Dprod&tag=web") == ["both"]
    assert names("tag=env=staging") == []
    assert names("") == ["both", "prod-only", "untagged", "web-dev"]
    assert alice_api.get(f"{LBS}?tag=env=prod&tag=web").json()["items"][0]["id"] == both["id"]


@pytest.mark.parametrize("query", ["tag=bad%21tag", "tag=web&tag=-web", "tag=env%3D", "tag=env=a%21b"])
def test_a_bad_tag_in_the_list_filter_gets_400_naming_tag(alice_api, query):
    response = alice_api.get(f"{LBS}?{query}")

    assert_error(response, 400, "ValidationError", "tag")


BAD_TAGS = {
    "space": (["bad tag"], "is not a tag"),
    "empty value": (["env="], "is not a tag"),
    "starts with a dash": (["-web"], "is not a tag"),
    "reserved portal: key": (["portal:owner=x"], "reserved"),
    "reserved aws: key": (["aws:cloudformation=x"], "reserved"),
    "key twice": (["env=prod", "env=dev"], "each key may appear once"),
    "too many": ([f"t{n}" for n in range(21)], "at most 20 tags"),
    "not text": ([5], "string"),
}


@pytest.mark.parametrize("case", list(BAD_TAGS))
@pytest.mark.parametrize("method", ["post", "patch"])
def test_bad_tags_in_the_body_get_400_naming_tags(alice_api, ok_servers, case, method):
    tags, says = BAD_TAGS[case]
    if method == "post":
        response = alice_api.post(LBS, {"name": "shop", "servers": [ok_servers[0].pk], "tags": tags}, format="json")
        changed_nothing = LoadBalancer.objects.count() == 0
    else:
        record = create(alice_api, [ok_servers[0].pk], tags=["web"])
        settle(record)
        before = stored(record)
        response = alice_api.patch(url_of(record), {"tags": tags}, format="json")
        changed_nothing = stored(record) == before

    assert_error(response, 400, "ValidationError", "tags")
    assert says in text_of(response, "tags"), response.json()
    assert changed_nothing


def test_tags_must_be_a_list(alice_api, ok_servers):
    response = alice_api.post(LBS, {"name": "shop", "servers": [ok_servers[0].pk], "tags": "web"}, format="json")

    assert_error(response, 400, "ValidationError", "tags")


# -- deletion protection --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deletion_protection_refuses_every_delete_until_turned_off(alice_api, ok_servers, celery_worker, published):
    record = create(alice_api, [ok_servers[0].pk], deletion_protection=True)
    url = url_of(record)
    assert record["deletion_protection"] is True
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE", timeout=SLOW)
    active = alice_api.get(url).json()

    refused = alice_api.delete(url)

    data = assert_error(refused, 409, "DeletionProtected")
    assert "deletion protection" in data["message"]
    assert data["details"] == {"deletion_protection": True}
    after = alice_api.get(url).json()
    assert (after["provisioning_status"], after["version"]) == ("ACTIVE", active["version"])

    published.clear()
    turned_off = alice_api.patch(url, {"deletion_protection": False}, format="json")

    assert turned_off.status_code == 202, turned_off.content
    assert turned_off.json()["deletion_protection"] is False
    # The portal's own setting: nothing to do at the provider, so no PENDING_UPDATE and no task.
    assert turned_off.json()["provisioning_status"] == "ACTIVE"
    assert alice_api.get(url).json()["provisioning_status"] == "ACTIVE"
    assert published == []

    deleted = alice_api.delete(url)

    assert deleted.status_code == 202, deleted.content
    assert deleted.json()["provisioning_status"] == "PENDING_DELETE"
    assert "loadbalancers.deprovision" in published
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "DELETED", timeout=SLOW)


def test_deletion_protection_turned_on_later_refuses_deletes_of_an_error_load_balancer(alice_api, ok_servers):
    record = create(alice_api, [ok_servers[0].pk])
    settle(record)

    turned_on = alice_api.patch(url_of(record), {"deletion_protection": True}, format="json")
    assert turned_on.status_code == 202, turned_on.content
    assert (turned_on.json()["deletion_protection"], turned_on.json()["provisioning_status"]) == (True, "ACTIVE")
    settle(record, "ERROR")

    assert_error(alice_api.delete(url_of(record)), 409, "DeletionProtected")
    assert LoadBalancer.objects.get(pk=record["id"]).provisioning_status == "ERROR"


@pytest.mark.parametrize("value", ["false", 0, None, "no"], ids=repr)
def test_deletion_protection_must_be_a_boolean(alice_api, ok_servers, value):
    response = alice_api.post(
        LBS, {"name": "shop", "servers": [ok_servers[0].pk], "deletion_protection": value}, format="json"
    )

    assert_error(response, 400, "ValidationError", "deletion_protection")
    assert LoadBalancer.objects.count() == 0


# -- retry ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("fail_at", "pending"), [("create", "PENDING_CREATE"), ("activate", "PENDING_UPDATE")])
def test_the_owner_retries_an_error_load_balancer_until_it_is_active(
    settings, alice_api, ok_servers, celery_worker, fail_at, pending
):
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "fail_at": fail_at}
    record = create(alice_api, [{"server": ok_servers[0].pk, "weight": 3}], health_monitor={"type": "TCP"})
    url = url_of(record)
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ERROR", timeout=SLOW)
    assert "simulated" in alice_api.get(url).json()["error_reason"]
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "fail_at": ""}

    retried = alice_api.post(f"{url}retry/")

    assert retried.status_code == 202, retried.content
    assert retried.json()["provisioning_status"] == pending
    assert retried.json()["error_reason"] is None
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE", timeout=SLOW)
    active = alice_api.get(url).json()
    assert active["operating_status"] == "ONLINE"
    assert members(active) == [(ok_servers[0].pk, 3, "enabled")]

    again = alice_api.post(f"{url}retry/")

    data = assert_error(again, 409, "InvalidTransition")
    assert "only when ERROR" in data["message"]
    assert data["details"] == {"provisioning_status": "ACTIVE"}
    assert alice_api.get(url).json()["provisioning_status"] == "ACTIVE"


# -- the inventory --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_server_in_maintenance_drains_its_member_until_it_is_ok_again(
    alice_api, staff_api, ok_servers, celery_worker
):
    first, second = ok_servers[:2]
    record = create(alice_api, [{"server": first.pk, "weight": 4}, second.pk])
    url = url_of(record)
    wait_until(lambda: alice_api.get(url).json()["provisioning_status"] == "ACTIVE", timeout=SLOW)

    maintenance = staff_api.patch(f"{SERVERS}{first.pk}/", {"status": "MAINTENANCE"}, format="json")

    assert maintenance.status_code == 200, maintenance.content
    notices = alice_api.get(url).json()["notices"]
    assert len(notices) == 1, notices
    assert notices[0].startswith(f"member {first.name} is in MAINTENANCE in the inventory"), notices

    def drained():  # type: ignore[no-untyped-def]
        now = alice_api.get(url).json()
        member = now["servers"][0]
        done = now["provisioning_status"] == "ACTIVE" and member["drained_by_inventory"]
        return done and member["operating_status"] == "DRAINING" and now

    now = wait_until(drained, timeout=SLOW)
    assert [(s["id"], s["weight"], s["admin_state"], s["drained_by_inventory"]) for s in now["servers"]] == [
        (first.pk, 4, "drain", True),
        (second.pk, 1, "enabled", False),
    ]
    assert now["servers"][0]["status"] == "MAINTENANCE"
    assert now["servers"][1]["operating_status"] == "NO_MONITOR"
    assert now["notices"] == [
        f"member {first.name} is in MAINTENANCE in the inventory: it is drained until operations set the server OK"
        " again"
    ]

    # Its owner cannot enable it meanwhile.
    enable = alice_api.patch(
        url, {"servers": [{"server": first.pk, "admin_state": "enabled"}, second.pk]}, format="json"
    )
    assert_error(enable, 400, "ValidationError", "servers")
    assert "stays in drain until operations set the server OK again" in text_of(enable, "servers")

    ok = staff_api.patch(f"{SERVERS}{first.pk}/", {"status": "OK"}, format="json")

    assert ok.status_code == 200, ok.content

    def enabled():  # type: ignore[no-untyped-def]
        now = alice_api.get(url).json()
        member = now["servers"][0]
        done = now["provisioning_status"] == "ACTIVE" and member["admin_state"] == "enabled"
        return done and member["operating_status"] == "NO_MONITOR" and now

    now = wait_until(enabled, timeout=SLOW)
    assert [(s["id"], s["weight"], s["admin_state"], s["drained_by_inventory"]) for s in now["servers"]] == [
        (first.pk, 4, "enabled", False),
        (second.pk, 1, "enabled", False),
    ]
    assert now["notices"] == []


def test_a_member_whose_server_is_not_ok_shows_a_notice(alice_api, ok_servers):
    """The notice comes from the inventory alone (no worker here, so nothing is drained)."""
    record = create(alice_api, [ok_servers[0].pk, ok_servers[1].pk])
    Server.objects.filter(pk=ok_servers[1].pk).update(status="DOWN")

    record = alice_api.get(url_of(record)).json()

    assert record["notices"] == [f"member {ok_servers[1].name} is in DOWN in the inventory"]
    assert record["servers"][1]["drained_by_inventory"] is False
    listed = alice_api.get(LBS).json()["items"][0]
    assert listed["notices"] == record["notices"]


# -- member health ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_member_health_follows_the_monitor(alice_api, ok_servers, celery_worker):
    a, b, c = (s.pk for s in ok_servers)
    checked = create(
        alice_api,
        [a, {"server": b, "admin_state": "drain"}],
        name="checked",
        health_monitor={"type": "HTTP", "http_path": "/health", "expected_codes": "200,204"},
    )
    unchecked = create(alice_api, [c], name="unchecked")

    for record in (checked, unchecked):
        wait_until(lambda r=record: alice_api.get(url_of(r)).json()["provisioning_status"] == "ACTIVE", timeout=SLOW)
    with_monitor, without = (alice_api.get(url_of(r)).json() for r in (checked, unchecked))

    assert with_monitor["operating_status"] == "ONLINE"
    assert [(s["id"], s["operating_status"]) for s in with_monitor["servers"]] == [(a, "ONLINE"), (b, "DRAINING")]
    assert without["operating_status"] == "NO_MONITOR"
    assert [(s["id"], s["operating_status"]) for s in without["servers"]] == [(c, "NO_MONITOR")]
    assert [s["status_reason"] for s in with_monitor["servers"] + without["servers"]] == [None, None, None]

    # A monitor added, and one removed: the members' health follows once the change is done.
    assert alice_api.patch(url_of(checked), {"health_monitor": None}, format="json").status_code == 202
    assert alice_api.patch(url_of(unchecked), {"health_monitor": {"type": "TCP"}}, format="json").status_code == 202
    for record in (checked, unchecked):
        wait_until(lambda r=record: alice_api.get(url_of(r)).json()["provisioning_status"] == "ACTIVE", timeout=SLOW)
    with_monitor, without = (alice_api.get(url_of(r)).json() for r in (unchecked, checked))

    assert with_monitor["operating_status"] == "ONLINE"
    assert [s["operating_status"] for s in with_monitor["servers"]] == ["ONLINE"]
    assert without["operating_status"] == "NO_MONITOR"
    assert [s["operating_status"] for s in without["servers"]] == ["NO_MONITOR", "DRAINING"]


# -- the OpenAPI schema -----------------------------------------------------------------------


def test_the_schema_documents_members_monitors_and_tags(alice_api):
    response = alice_api.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        if "allOf" in node and len(node["allOf"]) == 1:
            return resolve(node["allOf"][0])
        return node

    for name in ("LoadBalancerCreateInputRequest", "PatchedLoadBalancerUpdateInputRequest"):
        fields = components[name]["properties"]
        items = fields["servers"]["items"]
        kinds = [resolve(option) for option in items["oneOf"]]
        assert [kind["type"] for kind in kinds] == ["integer", "object"], items
        member = kinds[1]
        assert set(member["properties"]) == {"server", "weight", "admin_state"}
        assert member["required"] == ["server"]
        assert (member["properties"]["weight"]["minimum"], member["properties"]["weight"]["maximum"]) == (0, 256)
        assert member["properties"]["admin_state"]["enum"] == ["enabled", "drain"]

        monitor = resolve(fields["health_monitor"])
        assert monitor["type"] == "object"
        assert monitor["nullable"] is True
        assert set(monitor["properties"]) == {
            "type",
            "interval",
            "timeout",
            "retries_up",
            "retries_down",
            "http_path",
            "expected_codes",
        }
        assert monitor["properties"]["type"]["enum"] == ["HTTP", "TCP"]
        assert fields["tags"]["type"] == "array"
        assert fields["deletion_protection"]["type"] == "boolean"

    output = components["LoadBalancerOutput"]["properties"]
    member_out = resolve(output["servers"]["items"])
    assert set(member_out["properties"]) == MEMBER_KEYS
    assert {"health_monitor", "tags", "deletion_protection", "notices"} <= set(output)
    tag_parameter = next(p for p in schema["paths"][LBS]["get"]["parameters"] if p["name"] == "tag")
    assert tag_parameter["schema"]["type"] == "array"
    assert "/api/v1/load-balancers/{id}/retry/" in schema["paths"]


def test_the_schema_documents_the_answers_monitor_as_an_object(alice_api):
    schema = json.loads(alice_api.get("/api/v1/schema/?format=json").content)

    monitor = schema["components"]["schemas"]["LoadBalancerOutput"]["properties"]["health_monitor"]

    assert monitor.get("type") == "object", monitor
    assert monitor.get("nullable") is True
    assert {"type", "interval", "timeout", "retries_up", "retries_down"} <= set(monitor.get("properties", {}))
