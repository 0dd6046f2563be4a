"""Serve the portal with its background worker and scheduler in one command, the way
`make run` does: gunicorn (the production WSGI server) for the web, a Celery worker
with the beat scheduler beside it.  This process supervises both: when either stops,
for whatever reason, it stops the other and exits with an error, so the portal never
goes on answering 202 with nobody to do the work.  Ctrl-C (SIGINT), SIGTERM and
SIGHUP stop them all, whatever signal dispositions the shell started it with."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE = 15.0
# A bind address that means every address of the machine: a browser reaches it on loopback.
EVERY_ADDRESS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}


def served_url(addrport: str) -> str:
    """The address a browser on this machine opens for a bind address ("0.0.0.0:8080":
    http://127.0.0.1:8080)."""
    host, _, port = addrport.rpartition(":")
    return f"http://{EVERY_ADDRESS.get(host, host)}:{port}"


def how_to_use(url: str, username: str) -> str:
    """Where to sign in and what to try first, at the address the portal serves on."""
    return (
        f"the portal is starting on {url}/ (Ctrl-C stops it)\n"
        f"  Sign in:     {url}/accounts/login/  (the demo admin: {username}; staff: {url}/admin/)\n"
        f"  A token:     curl -s -X POST {url}/api/v1/auth/token/ -H 'Content-Type: application/json' \\\n"
        f'                    -d \'{{"username": "{username}", "password": "<its password>"}}\'\n'
        f"  The API:     curl -s -H 'Authorization: Token <the token>' {url}/api/v1/load-balancers/\n"
        f"  In a browser: {url}/api/v1/ (every endpoint), {url}/api/v1/docs/ (interactive docs)"
    )


class Command(BaseCommand):
    help = "Run gunicorn, a Celery worker and the Celery scheduler together until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
        parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2)")

    def handle(self, *args: object, addrport: str, concurrency: int, web_workers: int, **options: object) -> None:
        if concurrency < 1 or web_workers < 1:
            raise CommandError("--concurrency and --web-workers must be at least 1")
        if ":" not in addrport:
            addrport = f"127.0.0.1:{addrport}"
        self._count_metrics_together()
        stopping: list[int] = []
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda signum, _frame: stopping.append(signum))
        children = {
            "web server": self._start(
                "gunicorn",
                "config.wsgi:application",
                "--config",
                "python:config.gunicorn",
                "--bind",
                addrport,
                "--workers",
                str(web_workers),
                "--threads",
                "4",
                "--graceful-timeout",
                "10",
                "--access-logfile",
                "-",
            ),
            "Celery worker": self._start(
                "celery",
                "-A",
                "config",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
            ),
        }
        self.stdout.write(how_to_use(served_url(addrport), os.environ.get("DEMO_ADMIN_USERNAME") or "admin"))
        failed = None
        while not stopping and failed is None:
            failed = next(((name, child) for name, child in children.items() if child.poll() is not None), None)
            time.sleep(0.2)
        if failed is not None:
            name, child = failed
            self.stderr.write(f"the {name} stopped with exit code {child.returncode}; stopping the portal")
        else:
            self.stdout.write("stopping the portal")
        self._stop(list(children.values()))
        if failed is not None:
            sys.exit(1)

    @staticmethod
    def _count_metrics_together() -> None:
        """Every process started from here writes its metrics to one folder, emptied now
        (prometheus_client's multiprocess mode, chosen by the environment variable that the
        processes inherit), so that /metrics of any web process adds up all of them."""
        from django.conf import settings

        from portal import metrics

        metrics.prepare_folder(settings.METRICS_DIR)
        os.environ[metrics.MULTIPROC_DIR] = str(settings.METRICS_DIR)

    @staticmethod
    def _start(module: str, *arguments: str) -> subprocess.Popen:
        # Each child leads a process group of its own, so that stopping it stops what it
        # started too (a worker killed with -9 leaves its pool and beat behind otherwise).
        # This process handles the stop signals by now, so the children start with the
        # default dispositions (exec resets handled signals; only ignored ones stay so).
        return subprocess.Popen([sys.executable, "-m", module, *arguments], process_group=0)

    @staticmethod
    def _stop(children: list[subprocess.Popen]) -> None:
        # The leader first, so that it stops its own children in order (Celery's warm
        # shutdown finishes the tasks under way); whatever is left then is killed.
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + GRACE
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(child, signal.SIGKILL)  # whatever is left of the group
            child.wait()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)
