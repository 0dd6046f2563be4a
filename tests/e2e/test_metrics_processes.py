"""/metrics of the portal as `make run` starts it (`manage.py runportal`: two gunicorn
workers, a Celery worker with its pool): whichever web worker answers a scrape, it adds
up what every process counted, and the counts of an earlier start are gone."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.processes import ROOT, call, free_port, wait_for

TOKEN = "metrics-token-of-the-test-0123456789"


def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_every_process_of_the_portal_counts_into_one_scrape(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        PORTAL_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        SANDBOX_LBAAS_DELAY="0.3",
        LBAAS_POLL_INTERVAL="0.2",
        DEMO_ADMIN_PASSWORD="demo-pass",
        METRICS_TOKEN=TOKEN,
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=120)
    seeded = subprocess.run(
        [*manage, "seed_demo"], env=env, check=True, cwd=ROOT, timeout=60, capture_output=True, text=True
    )
    token = next(line.split()[-1] for line in seeded.stdout.splitlines() if line.startswith("API token:"))
    stale = tmp_path / "metrics" / "counter_999999.db"  # left by an earlier start
    stale.parent.mkdir()
    stale.write_bytes(b"\0" * 16)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    portal = subprocess.Popen(
        [*manage, "runportal", f"127.0.0.1:{port}", "--web-workers", "2"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: call("GET", f"{base}/healthz", timeout=2).status == 200, "the portal started", timeout=90)
        assert not stale.exists()

        servers = call("GET", f"{base}/api/v1/servers/?status=OK", token).body["items"]
        created = call("POST", f"{base}/api/v1/load-balancers/", token, {"name": "shop", "servers": [servers[0]["id"]]})
        assert created.status == 202
        url = f"{base}/api/v1/load-balancers/{created.body['id']}/"
        looks = 0

        def active() -> bool:
            nonlocal looks
            looks += 1
            return call("GET", url, token).body["provisioning_status"] == "ACTIVE"

        wait_for(active, "ACTIVE", timeout=90)
        # Counted by the Celery worker's pool, seen by the web worker that answers.
        found = wait_for(
            lambda: (
                (s := scrape(base)).get(
                    (
                        "portal_provisioning_duration_seconds_count",
                        (("operation", "create"), ("outcome", "active"), ("provider", "sandbox")),
                    )
                )
                and s
            ),
            "the worker's count in a scrape",
            timeout=30,
        )

        # Every look, whichever of the two web workers answered it.
        looked = (("method", "GET"), ("status", "2xx"), ("view", "load-balancer-detail"))
        assert found[("portal_http_request_duration_seconds_count", looked)] == looks
        posted = (("method", "POST"), ("status", "2xx"), ("view", "load-balancer-list"))
        assert found[("portal_http_request_duration_seconds_count", posted)] == 1
        create = (("method", "create"), ("provider", "sandbox"))
        assert found[("portal_provider_call_duration_seconds_count", create)] == 1
        assert list((tmp_path / "metrics").glob("*.db"))
    finally:
        group = os.getpgid(portal.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGINT)  # Ctrl-C: runportal stops what it started
        try:
            portal.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            portal.wait(timeout=10)
