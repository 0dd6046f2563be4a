"""Prometheus metrics: the helpers every app declares its metrics with, and /metrics.

Under ``manage.py runportal`` the web server runs several processes and the Celery worker
several more; each counts on its own, so they all write to files in one folder
(prometheus_client's multiprocess mode), and a scrape of any web process adds the files
up.  prometheus_client chooses its mode when it is first imported, by the environment
variable PROMETHEUS_MULTIPROC_DIR: the process that starts the others (runportal) sets it
and empties the folder first.  Without it (the tests, ``manage.py runserver``) a process
counts in memory and /metrics shows that one process.

What is read from the database rather than counted (the load balancers by status, the
last reconcile pass) is read when /metrics is scraped, by the collectors the setting
METRICS_COLLECTORS names (``module:Class`` or ``module.Class``, each with ``collect()``).
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

# The folder must exist before prometheus_client is imported in a process that uses it.
if _folder := os.environ.get(MULTIPROC_DIR):
    Path(_folder).mkdir(parents=True, exist_ok=True)

from django.conf import settings  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from prometheus_client import REGISTRY, Counter, Histogram, Metric, generate_latest, multiprocess  # noqa: E402
from prometheus_client.exposition import CONTENT_TYPE_LATEST  # noqa: E402

logger = logging.getLogger(__name__)

PREFIX = "portal_"

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Metric",
    "counter",
    "histogram",
    "is_multiprocess",
    "mark_process_dead",
    "metrics_view",
    "prepare_folder",
    "scrape",
    "task_gave_up",
    "task_retried",
]


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    return Counter(_named(name), documentation, list(labels))


def histogram(name: str, documentation: str, labels: Sequence[str], buckets: Sequence[float]) -> Histogram:
    return Histogram(_named(name), documentation, list(labels), buckets=list(buckets))


def _named(name: str) -> str:
    if not name.startswith(PREFIX):
        raise ValueError(f"the portal's metrics are named {PREFIX}*: {name!r}")
    return name


# -- background tasks (every app's) -----------------------------------------------------------

TASK_RETRIES = counter("portal_task_retries_total", "Background tasks retried after a transient failure.", ["task"])
TASK_GIVE_UPS = counter("portal_task_give_ups_total", "Background tasks that gave up after their last retry.", ["task"])


def task_retried(task: str) -> None:
    TASK_RETRIES.labels(task=task).inc()


def task_gave_up(task: str) -> None:
    TASK_GIVE_UPS.labels(task=task).inc()


# -- the processes --------------------------------------------------------------------------


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR))


def prepare_folder(folder: Path) -> None:
    """Make the metrics folder, empty: the counts of processes from an earlier start of
    the portal would otherwise be added to this one's."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    """A process of the portal ended (gunicorn's child_exit, Celery's pool): its gauges
    that count only live processes are dropped; its counters stay in the sums."""
    if is_multiprocess():
        multiprocess.mark_process_dead(pid)


# -- a scrape -------------------------------------------------------------------------------


class _Scrape:
    """What one scrape shows: the counted metrics (this process's, or every process's
    files) and what the collectors read at scrape time."""

    def __init__(self, sources: Iterable[object]) -> None:
        self._sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self._sources:
            yield from source.collect()  # type: ignore[attr-defined]


def scrape() -> bytes:
    """Every metric in the Prometheus text format."""
    counted: object = REGISTRY
    if is_multiprocess():
        counted = multiprocess.MultiProcessCollector(None)
    collectors = [import_string(path.replace(":", "."))() for path in settings.METRICS_COLLECTORS]
    return generate_latest(_Scrape([counted, *collectors]))  # type: ignore[arg-type]


# -- /metrics -------------------------------------------------------------------------------


def _error(name: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": name, "message": message, "details": {}}, status=status)


@csrf_exempt  # a scraper posts nothing; any other method gets the portal's 405, not a CSRF page
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics, for a scraper that sends ``Authorization: Bearer <METRICS_TOKEN>``;
    404 when /metrics is not enabled (no token, and not opened to anyone)."""
    token = settings.METRICS_TOKEN
    if not token and not settings.METRICS_ALLOW_UNAUTHENTICATED:
        return _error("NotFound", f"no such endpoint: {request.path}", 404)
    if request.method not in ("GET", "HEAD"):
        refused = _error("MethodNotAllowed", f"method {request.method} is not allowed on /metrics: use GET", 405)
        refused["Allow"] = "GET, HEAD"
        return refused
    if token and not _bearer_matches(request.headers.get("Authorization", ""), token):
        refused = _error("NotAuthenticated", "send the metrics token: Authorization: Bearer <token>", 401)
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    try:
        body = scrape()
    except Exception:
        logger.exception("/metrics could not be collected")
        return _error("Unavailable", "the metrics could not be collected; see the portal's log", 503)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, sent = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode(), token.encode())
