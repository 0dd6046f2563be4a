"""The happy path through HTTP with a real Celery worker and the sandbox LBaaS:
create -> ACTIVE -> update -> ACTIVE -> delete -> DELETED."""

import ipaddress
import time

import pytest

from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def status_of(api, url):
    return api.get(url).json()["provisioning_status"]


def test_create_update_delete_through_the_api(alice_api, ok_servers, celery_worker):
    first, second, third = (s.pk for s in ok_servers)

    created = alice_api.post(
        "/api/v1/load-balancers/",
        {
            "name": "shop-frontend",
            "servers": [first, second],
            "listener_protocol": "HTTP",
            "listener_port": 80,
            "algorithm": "ROUND_ROBIN",
            "description": "the shop",
            "health_monitor": {"type": "HTTP", "http_path": "/health"},
        },
        format="json",
    )
    assert created.status_code == 202, created.json()
    record = created.json()
    assert record["provisioning_status"] == "PENDING_CREATE"
    assert (record["team"], record["created_by"], record["owner"]) == ("alice", "alice", "alice")
    assert [s["id"] for s in record["servers"]] == [first, second]
    url = created["Location"]
    assert url.endswith(f"/api/v1/load-balancers/{record['id']}/")

    wait_until(lambda: status_of(alice_api, url) == "ACTIVE")
    active = alice_api.get(url).json()
    assert ipaddress.ip_address(active["vip_address"]) in ipaddress.ip_network("198.51.100.0/24")
    assert active["operating_status"] == "ONLINE"  # the sandbox's simulated checks pass
    assert [m["operating_status"] for m in active["servers"]] == ["ONLINE", "ONLINE"]

    updated = alice_api.patch(url, {"servers": [second, third], "algorithm": "LEAST_CONNECTIONS"}, format="json")
    assert updated.status_code == 202, updated.json()
    assert updated.json()["provisioning_status"] == "PENDING_UPDATE"
    wait_until(lambda: status_of(alice_api, url) == "ACTIVE")
    after_update = alice_api.get(url).json()
    assert [s["id"] for s in after_update["servers"]] == [second, third]
    assert after_update["algorithm"] == "LEAST_CONNECTIONS"
    assert after_update["version"] > active["version"]

    deleted = alice_api.delete(url)
    assert deleted.status_code == 202
    assert deleted.json()["provisioning_status"] == "PENDING_DELETE"
    wait_until(lambda: status_of(alice_api, url) == "DELETED")
    assert alice_api.get("/api/v1/load-balancers/").json()["total"] == 0


def test_a_provider_failure_ends_in_error_with_a_reason_and_can_be_deleted(
    settings, alice_api, ok_servers, celery_worker
):
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "fail_at": "activate"}

    url = alice_api.post("/api/v1/load-balancers/", {"name": "doomed", "servers": [ok_servers[0].pk]}, format="json")[
        "Location"
    ]

    wait_until(lambda: status_of(alice_api, url) == "ERROR")
    assert "simulated failure" in alice_api.get(url).json()["error_reason"]
    assert alice_api.delete(url).status_code == 202
    wait_until(lambda: status_of(alice_api, url) == "DELETED")


def test_transient_provider_errors_are_retried_until_they_give_up(settings, alice_api, ok_servers, celery_worker):
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "error_rate": 1.0}
    settings.LBAAS_RETRY_MAX = 2
    settings.LBAAS_RETRY_BACKOFF_CAP = 0.05

    url = alice_api.post("/api/v1/load-balancers/", {"name": "flaky", "servers": [ok_servers[0].pk]}, format="json")[
        "Location"
    ]

    wait_until(lambda: status_of(alice_api, url) == "ERROR")
    assert "gave up after 3 attempts" in alice_api.get(url).json()["error_reason"]


def test_work_left_when_a_test_ends_is_cancelled_before_its_database_goes(
    settings, alice_api, ok_servers, celery_worker, worker_gate
):
    """The harness's promise to every end-to-end test: a load balancer still pending
    when the test ends keeps no follow task alive to run against a flushed database."""
    from celery import states
    from celery.signals import task_postrun

    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "delay": 60}
    url = alice_api.post("/api/v1/load-balancers/", {"name": "slow", "servers": [ok_servers[0].pk]}, format="json")[
        "Location"
    ]
    ran: list[str] = []

    def record(sender=None, state=None, **_):  # type: ignore[no-untyped-def]
        if state != states.IGNORED:  # the gate stops a cancelled task before its body runs
            ran.append(sender.name)

    task_postrun.connect(record, weak=False)
    try:
        wait_until(lambda: ran.count("loadbalancers.follow") >= 2)  # it is polling

        worker_gate.drain()
        ran.clear()
        time.sleep(0.5)  # ten poll intervals: a follow left running would show

        assert ran == []
    finally:
        task_postrun.disconnect(record)
    assert status_of(alice_api, url) == "PENDING_CREATE"
