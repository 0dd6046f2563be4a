"""What the octavia provider costs against the real Octavia API and worker (the tests'
own, tests/octavia/env.py: no-op drivers, so the figures are Octavia's API and worker
plus the adapter, not an amphora's boot).

* create → ACTIVE: the seconds from ``create`` to Octavia's ACTIVE, one at a time;
* an update (new algorithm, one member in, one out, one re-weighted, a monitor added):
  its steps, its Octavia calls and seconds (each step waits for ACTIVE first);
* ``get`` and ``get_list`` over N load balancers: Octavia calls and seconds;
* delete (cascade) → gone.

    .venv/bin/python bench/octavia.py [--load-balancers 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadbalancers.adapters.lbaas.octavia import OctaviaLBaaS  # noqa: E402
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec  # noqa: E402
from loadbalancers.domain.errors import ProviderResourceNotFound  # noqa: E402
from loadbalancers.domain.monitors import HealthMonitor, MonitorType  # noqa: E402
from tests.octavia.env import OctaviaService  # noqa: E402

PROJECT = "b0000000000000000000000000000001"
SUBNET = "8f2b4d3a-7b73-4b5e-9b55-3a4c2b1f0d11"
WAIT = 120.0


class Counted(OctaviaLBaaS):
    """The adapter, counting its calls to Octavia by method."""

    calls: Counter[str]

    def _call(self, method, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls[method] += 1
        return super()._call(method, *args, **kwargs)

    def _list(self, method, *args, **query):  # type: ignore[no-untyped-def]
        self.calls[method] += 1
        return super()._list(method, *args, **query)


def spec(name: str, *members: int, **options: object) -> LoadBalancerSpec:
    return LoadBalancerSpec(
        name=name,
        listener_protocol="HTTP",
        listener_port=80,
        algorithm=str(options.get("algorithm", "ROUND_ROBIN")),
        members=tuple(
            MemberSpec(f"10.50.0.{i}", 8080, int(options.get("weight", 1)) if i == 1 else 1) for i in members
        ),
        health_monitor=options.get("monitor"),  # type: ignore[arg-type]
    )


def until(check, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > WAIT:
            raise SystemExit(f"{what}: not within {WAIT:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load-balancers", type=int, default=20, help="how many for get_list")
    args = parser.parse_args()

    started = time.monotonic()
    service = OctaviaService.start()
    print(f"Octavia API and worker up in {time.monotonic() - started:.1f} s ({service.endpoint})")
    try:
        client = Counted(endpoint=service.endpoint, project_id=PROJECT, vip_subnet_id=SUBNET, poll_interval=0.05)
        client.calls = Counter()

        def status(ref: str) -> str:
            return client.get(ref).provisioning_status.value

        latencies, refs = [], []
        for n in range(args.load_balancers):
            ref = client.create(spec(f"bench-{n}", 1, 2), client_token=str(uuid4())).ref
            latencies.append(until(lambda ref=ref: status(ref) == "ACTIVE", "ACTIVE"))
            refs.append(ref)
        print(
            f"create → ACTIVE, {len(latencies)} one at a time: median {statistics.median(latencies):.2f} s,"
            f" min {min(latencies):.2f} s, max {max(latencies):.2f} s"
        )

        changed = spec("bench-0", 1, 3, algorithm="LEAST_CONNECTIONS", weight=5, monitor=HealthMonitor(MonitorType.TCP))
        steps = client.plan(refs[0], changed).operations
        client.calls.clear()
        began = time.monotonic()
        client.update(refs[0], changed)
        applied = time.monotonic() - began
        settled = until(lambda: status(refs[0]) == "ACTIVE", "ACTIVE after the update")
        print(
            f"update of {len(steps)} steps ({', '.join(s.name for s in steps)}): {applied:.2f} s in update()"
            f" + {settled:.2f} s to ACTIVE; {sum(client.calls.values())} calls ({dict(client.calls)})"
        )

        client.calls.clear()
        began = time.monotonic()
        client.get(refs[1])
        print(f"get: {sum(client.calls.values())} calls, {1000 * (time.monotonic() - began):.0f} ms")
        client.calls.clear()
        began = time.monotonic()
        listed = client.get_list()
        print(
            f"get_list of {len(listed)}: {sum(client.calls.values())} calls"
            f" ({dict(client.calls)}), {1000 * (time.monotonic() - began):.0f} ms"
        )

        def gone(ref: str) -> bool:
            try:
                client.get(ref)
            except ProviderResourceNotFound:
                return True
            return False

        began = time.monotonic()
        for ref in refs:
            client.delete(ref)
        until(lambda: all(gone(ref) for ref in refs), "deleted")
        print(f"cascade delete of {len(refs)} → gone: {time.monotonic() - began:.1f} s")
    finally:
        service.stop()


if __name__ == "__main__":
    main()
