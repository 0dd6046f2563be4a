"""The embedded broker is a folder: losing it must not kill the worker, and /readyz
must say so while it cannot be used."""

from __future__ import annotations

import shutil

from loadbalancers.models import LoadBalancer
from tests.faults.conftest import runportal
from tests.processes import call, free_port, wait_for


def status_of(lb_id: str) -> str:
    return LoadBalancer.objects.get(pk=lb_id).provisioning_status


def test_the_worker_survives_losing_the_broker_folder_and_readyz_tells_the_truth(world, processes):
    portal, base = runportal(processes, world, free_port())
    queue = world.var / "broker" / "queue"

    shutil.move(queue, world.var / "queue-moved-away")
    created = call("POST", f"{base}/api/v1/load-balancers/", world.token, {"name": "a", "servers": world.server_ids})
    assert created.status == 202
    wait_for(lambda: status_of(created.body["id"]) == "ACTIVE", "ACTIVE after the folder was lost")
    assert queue.is_dir()

    # A file where the folder should be: nothing can be made there.
    shutil.rmtree(queue)
    queue.write_text("not a folder")
    down = wait_for(
        lambda: (answer := call("GET", f"{base}/readyz", timeout=30)).status == 503 and answer, "readyz 503"
    )
    assert set(down.body["details"]) >= {"broker"}
    assert "not writable" in down.body["details"]["broker"]
    refused = call("POST", f"{base}/api/v1/load-balancers/", world.token, {"name": "b", "servers": world.server_ids})
    assert refused.status == 202  # stored; its work waits for the broker

    queue.unlink()
    wait_for(lambda: call("GET", f"{base}/readyz", timeout=30).status == 200, "readyz 200 again")
    wait_for(lambda: status_of(refused.body["id"]) == "ACTIVE", "the waiting work done by the reconciler")
    assert portal.poll() is None, "the portal stopped"
