"""The embedded default as `make run` starts it: web server, Celery worker and beat as
separate processes on SQLite, the sandbox and the filesystem broker.  A load balancer
created over real HTTP becomes ACTIVE across processes, and Ctrl-C stops them all."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.processes import ROOT, call, free_port, process_group_alive


@pytest.fixture
def portal_env(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    env.update(
        PORTAL_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        SANDBOX_LBAAS_DELAY="0.3",
        LBAAS_POLL_INTERVAL="0.2",
        DEMO_ADMIN_PASSWORD="demo-pass",
    )
    return env


def test_make_run_serves_provisions_across_processes_and_stops_on_ctrl_c(portal_env):
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=portal_env, check=True, cwd=ROOT, timeout=120)
    seeded = subprocess.run(
        [*manage, "seed_demo"], env=portal_env, check=True, cwd=ROOT, timeout=60, capture_output=True, text=True
    )
    token = next(line.split()[-1] for line in seeded.stdout.splitlines() if line.startswith("API token:"))
    again = subprocess.run([*manage, "seed_demo"], env=portal_env, cwd=ROOT, capture_output=True, text=True)
    assert "created" not in again.stdout  # idempotent

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    portal = subprocess.Popen(
        [*manage, "runportal", f"127.0.0.1:{port}"],
        env=portal_env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pgid = os.getpgid(portal.pid)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "the portal did not start"
                time.sleep(0.3)

        demo = call("GET", f"{base}/api/v1/teams/demo/", token).body
        assert {m["username"]: m["role"] for m in demo["members"]} == {
            "admin": "owner",
            "dev": "member",
            "viewer": "viewer",
        }
        servers = call("GET", f"{base}/api/v1/servers/?status=OK", token)
        assert servers.status == 200
        assert servers.body["total"] >= 2
        ids = [s["id"] for s in servers.body["items"][:2]]
        created = call("POST", f"{base}/api/v1/load-balancers/", token, {"name": "shop", "servers": ids})
        record = created.body
        assert (created.status, record["provisioning_status"]) == (202, "PENDING_CREATE")

        deadline = time.monotonic() + 60
        while record["provisioning_status"] != "ACTIVE":
            assert time.monotonic() < deadline, f"still {record['provisioning_status']}"
            time.sleep(0.3)
            record = call("GET", f"{base}/api/v1/load-balancers/{record['id']}/", token).body
        assert record["vip_address"].startswith("198.51.100.")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGINT)  # what Ctrl-C in the terminal does
        with contextlib.suppress(subprocess.TimeoutExpired):
            portal.wait(timeout=30)
        deadline = time.monotonic() + 20
        while process_group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        outlived = process_group_alive(pgid)
        if outlived:  # never leave them running for the rest of the suite
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            portal.wait(timeout=10)
    assert not outlived, "a process of the portal outlived Ctrl-C"
