import json
import sqlite3
from contextlib import closing

import pytest

from loadbalancers.adapters.lbaas.sandbox import SandboxLBaaS
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec, spec_changes
from tests.integration.lbaas.elbv2_fixtures import elbv2_lbaas  # noqa: F401
from tests.integration.lbaas.haproxy_fixtures import haproxy_client, haproxy_lbaas  # noqa: F401
from tests.integration.lbaas.harness import INSTALLATION, Harness
from tests.integration.lbaas.octavia_fixtures import octavia_lbaas  # noqa: F401


@pytest.fixture
def sandbox_lbaas(tmp_path) -> Harness:
    now = [1_000.0]
    path = tmp_path / "sandbox.sqlite3"

    def settle() -> None:
        now[0] += 10

    def tamper(ref: str) -> set[str]:
        """What the simulated service's operator would do: edit the stored resource in the
        sandbox's file, past the adapter (which has no method for it, so neither has the
        portal)."""
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            before = json.loads(db.execute("SELECT spec FROM load_balancers WHERE ref = ?", (ref,)).fetchone()[0])
            after = tampered(before)
            db.execute("UPDATE load_balancers SET spec = ? WHERE ref = ?", (json.dumps(after), ref))
            db.execute("COMMIT")
        return {change.field for change in spec_changes(traffic_spec(before), traffic_spec(after))}

    client = SandboxLBaaS(path=str(path), delay=5, clock=lambda: now[0], installation=INSTALLATION)
    return Harness(
        client=client, members=[MemberSpec(f"10.0.0.{i}", 8080) for i in range(1, 4)], settle=settle, tamper=tamper
    )


def tampered(stored: dict) -> dict:
    """Another algorithm, another weight for the first member, the last member gone (the
    load balancer needs at least two)."""
    first, *middle, _last = stored["members"]
    algorithm = "SOURCE_IP" if stored["algorithm"] == "LEAST_CONNECTIONS" else "LEAST_CONNECTIONS"
    return {
        **stored,
        "algorithm": algorithm,
        "members": [{**first, "weight": first.get("weight", 1) % 256 + 1}, *middle],
    }


def traffic_spec(stored: dict) -> LoadBalancerSpec:
    """The stored JSON as a spec, enough for ``spec_changes`` to name what ``tampered``
    changes (the monitor and the tags it leaves alone)."""
    return LoadBalancerSpec(
        name=stored["name"],
        listener_protocol=stored["listener_protocol"],
        listener_port=stored["listener_port"],
        algorithm=stored["algorithm"],
        members=tuple(MemberSpec(**member) for member in stored["members"]),
    )
