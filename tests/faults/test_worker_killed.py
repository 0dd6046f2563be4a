"""A worker killed in the middle of a create: `make run` does not go on serving without
it, and once the portal runs again the load balancer reaches a final state."""

from __future__ import annotations

import os
import signal
import time

from loadbalancers.models import LoadBalancer
from tests.faults.conftest import runportal
from tests.processes import call, children_of, command_of, free_port, process_group_alive, wait_for


def _ignore_sigint() -> None:
    # What a shell does to a command started in the background (`make run &`).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_a_killed_worker_stops_the_portal_and_its_work_ends_after_a_restart(world, processes):
    slow = {"SANDBOX_LBAAS_DELAY": "3"}
    portal, base = runportal(processes, world, free_port(), env=slow, preexec_fn=_ignore_sigint)
    groups = children_of(portal.pid)
    [worker] = [pid for pid in groups if "celery" in command_of(pid)]

    created = call("POST", f"{base}/api/v1/load-balancers/", world.token, {"name": "a", "servers": world.server_ids})
    assert created.status == 202
    wait_for(lambda: LoadBalancer.objects.get(pk=created.body["id"]).provider_ref, "asked of the provider")
    os.kill(worker, signal.SIGKILL)  # mid-create: the provider is still creating it

    assert portal.wait(timeout=60) == 1
    deadline = time.monotonic() + 30
    while any(process_group_alive(pgid) for pgid in groups) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(process_group_alive(pgid) for pgid in groups), "a process of the portal outlived it"
    refused = None
    try:
        call("GET", f"{base}/healthz", timeout=5)
    except OSError as exc:
        refused = exc
    assert refused is not None, "the web server still answers without a worker"
    assert "stopped with exit code" in world.log("runportal").read_text()

    runportal(processes, world, free_port(), env=slow)
    wait_for(
        lambda: LoadBalancer.objects.get(pk=created.body["id"]).provisioning_status == "ACTIVE", "ACTIVE", timeout=90
    )
