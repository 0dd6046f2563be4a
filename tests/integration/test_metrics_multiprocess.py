"""prometheus_client's multiprocess mode as the portal's processes use it: two processes
count into one folder, a third adds them up for /metrics, and a process that ended
keeps its counts in the sums."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from portal.metrics import prepare_folder

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import django
django.setup()
from portal import metrics
from portal.request_metrics import REQUEST_DURATION
from loadbalancers.adapters.metrics import PrometheusObservations
assert metrics.is_multiprocess()
metrics.task_retried("loadbalancers.provision")
PrometheusObservations().provider_called(provider="sandbox", method="get", seconds=0.5, error=None)
PrometheusObservations().provider_called(provider="sandbox", method="get", seconds=2.0, error="unavailable")
REQUEST_DURATION.labels(view="load-balancer-list", method="GET", status="2xx").observe(0.1)
"""

COLLECTOR = """
import django
django.setup()
from django.conf import settings
from portal import metrics
settings.METRICS_COLLECTORS = []  # only what the processes counted
print(metrics.scrape().decode())
"""


def run(script: str, folder: Path, tmp_path: Path) -> str:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PORTAL_VAR_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_processes_count_and_a_third_adds_them_up(tmp_path):
    folder = tmp_path / "metrics"  # made by the first process that counts

    run(WRITER, folder, tmp_path)
    run(WRITER, folder, tmp_path)
    found = samples(run(COLLECTOR, folder, tmp_path))

    assert len(list(folder.glob("*.db"))) >= 2  # a file per process and kind of metric
    assert found[("portal_task_retries_total", (("task", "loadbalancers.provision"),))] == 2
    calls = (("method", "get"), ("provider", "sandbox"))
    assert found[("portal_provider_call_duration_seconds_count", calls)] == 4
    assert found[("portal_provider_call_duration_seconds_sum", calls)] == 5.0
    assert found[("portal_provider_call_duration_seconds_bucket", (("le", "1.0"), *calls))] == 2
    errors = (("error", "unavailable"), ("method", "get"), ("provider", "sandbox"))
    assert found[("portal_provider_call_errors_total", errors)] == 2
    requests = (("method", "GET"), ("status", "2xx"), ("view", "load-balancer-list"))
    assert found[("portal_http_request_duration_seconds_count", requests)] == 2


def test_the_folder_is_emptied_when_the_portal_starts(tmp_path):
    folder = tmp_path / "metrics"
    run(WRITER, folder, tmp_path)

    prepare_folder(folder)

    assert list(folder.glob("*.db")) == []
    assert ("portal_task_retries_total", (("task", "loadbalancers.provision"),)) not in samples(
        run(COLLECTOR, folder, tmp_path)
    )
