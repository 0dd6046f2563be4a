"""Serve the portal with its background worker and scheduler in one command, the way
`make run` does; Ctrl-C stops them all."""

import os
import signal
import subprocess
import sys
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and the Celery scheduler together until interrupted."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")

    def handle(self, *args: object, addrport: str, concurrency: int, **options: object) -> None:
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
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
            ]
        )
        # A polite stop (SIGTERM from a supervisor or `timeout`) must stop the worker too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        threading.Thread(target=self._stop_if_worker_dies, args=(worker,), daemon=True).start()
        try:
            call_command("runserver", addrport, use_reloader=False)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()

    def _stop_if_worker_dies(self, worker: subprocess.Popen) -> None:
        """Serving without a worker would leave every load balancer PENDING: stop."""
        code = worker.wait()
        if code not in (0, -signal.SIGTERM, -signal.SIGINT):
            self.stderr.write(f"the Celery worker stopped with exit code {code}; stopping the portal")
            os.kill(os.getpid(), signal.SIGINT)
