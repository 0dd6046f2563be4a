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
        stopping: list[int] = []
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda signum, _frame: stopping.append(signum))
        children = {
            "web server": self._start(
                "gunicorn",
                "config.wsgi:application",
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
        self.stdout.write(f"the portal is starting on http://{addrport}/ (Ctrl-C stops it)")
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
