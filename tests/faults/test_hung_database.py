"""A database server that accepts connections and never answers: /readyz says so
within its bound (PostgreSQL's connect_timeout), and /healthz still answers."""

from __future__ import annotations

from tests.faults.conftest import gunicorn
from tests.processes import call, free_port

BOUND = 30.0  # generous for a busy machine; without connect_timeout the probe never returns


def test_readyz_names_a_database_that_never_answers(world, processes, hung_broker):
    base = gunicorn(processes, world, free_port(), DATABASE_URL=f"postgres://portal@127.0.0.1:{hung_broker}/portal")

    ready = call("GET", f"{base}/readyz", timeout=120)

    assert (ready.status, ready.seconds < BOUND) == (503, True), ready
    assert "timeout expired" in ready.body["details"]["database"]
    assert call("GET", f"{base}/healthz", timeout=30).status == 200
