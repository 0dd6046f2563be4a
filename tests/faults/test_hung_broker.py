"""A broker that accepts connections and never answers must not freeze the portal:
requests hand their work over within BROKER_TIMEOUT or go on without it, /readyz says
the broker is down within its own bound, and the reconciler sends the work later."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from loadbalancers.models import LoadBalancer
from tests.faults.conftest import gunicorn
from tests.processes import call, free_port, wait_for

# Generous for a busy machine; without the bound, these requests never return at all.
BOUND = 15.0


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_no_request_waits_on_a_broker_that_never_answers(scheme, world, processes, hung_broker):
    url = f"{scheme}://127.0.0.1:{hung_broker}/0" if scheme == "redis" else f"amqp://127.0.0.1:{hung_broker}//"
    base = gunicorn(processes, world, free_port(), CELERY_BROKER_URL=url, BROKER_TIMEOUT="1")

    def create(n: int):  # type: ignore[no-untyped-def]
        body = {"name": f"lb-{n}", "servers": world.server_ids}
        return call("POST", f"{base}/api/v1/load-balancers/", world.token, body, timeout=120)

    with ThreadPoolExecutor(max_workers=12) as pool:  # more than the web server's threads
        answers = list(pool.map(create, range(12)))
    ready = call("GET", f"{base}/readyz", timeout=120)
    listing = call("GET", f"{base}/api/v1/load-balancers/", world.token, timeout=120)

    assert [a.status for a in answers] == [202] * 12
    assert max(a.seconds for a in answers) < BOUND, [round(a.seconds, 1) for a in answers]
    assert (ready.status, ready.seconds < BOUND) == (503, True)
    assert "broker" in ready.body["details"]
    assert (listing.status, listing.body["total"]) == (200, 12)
    assert set(LoadBalancer.objects.values_list("provisioning_status", flat=True)) == {"PENDING_CREATE"}


def test_work_a_hung_broker_did_not_take_is_sent_by_the_reconciler(
    world, processes, hung_broker, settings, celery_worker
):
    base = gunicorn(
        processes, world, free_port(), CELERY_BROKER_URL=f"redis://127.0.0.1:{hung_broker}/0", BROKER_TIMEOUT="1"
    )
    created = call("POST", f"{base}/api/v1/load-balancers/", world.token, {"name": "late", "servers": world.server_ids})
    assert created.status == 202

    # The broker is back (this process's worker and broker work); the reconciler finds
    # the work nobody took once LBAAS_STUCK_AFTER has passed.
    from loadbalancers import bootstrap

    settings.LBAAS_STUCK_AFTER = 0.001
    report = bootstrap.build().reconciliation.reconcile()

    assert [str(lb_id) for lb_id in report.resumed] == [created.body["id"]]
    wait_for(
        lambda: LoadBalancer.objects.get(pk=created.body["id"]).provisioning_status == "ACTIVE", "ACTIVE", timeout=60
    )
