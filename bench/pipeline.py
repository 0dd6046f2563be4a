"""Provisioning throughput: how many creates per second reach ACTIVE through the real
broker and N Celery worker processes against the sandbox LBaaS, for N = 1, 2, 3, 4.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pipeline \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 \\
    .venv/bin/python bench/pipeline.py [--workers 1,2,3,4] [--per-worker 40] [--latency 0.2]
                                       [--delay 0] [--poll-interval 1.0] [--mode processes|prefork]

Needs PostgreSQL (DATABASE_URL; the database must exist, it is migrated) and Redis
(CELERY_BROKER_URL, a database number of its own: it must be empty at the start and is
emptied at the end; the tasks go through a queue named after the bench's process, so that
another user of the same database neither takes them nor hands the workers its own).
SQLite is refused: its single writer is what would be measured.

For each N, the bench starts the workers (``--mode processes``: N separate ``celery
worker`` processes with a prefork pool of one each, as one scales out on more machines;
``--mode prefork``: one ``celery worker --concurrency N``, as ``manage.py runportal``
runs), waits until each answers a ping, then submits K = per-worker x N creates through
the load balancer service (as the API does: a row in PENDING_CREATE, the provision task
handed to the broker when the transaction commits) and waits until every one is ACTIVE.
It prints, per N: the creates, the seconds from the first submit to the last ACTIVE,
creates per second over that span, the steady rate (between the 10th and the 90th
percentile of the ACTIVE times), the target (0.8 x N / latency: each worker busy with
one provider round trip per create) and the ratio of the measured rate to it, and the
provider calls each create made (the workers count every call the sandbox receives).

``--delay`` is how long the sandbox keeps a create PENDING (SANDBOX_LBAAS_DELAY).  The
target assumes one provider round trip per create, which holds when the provider answers
a create with ACTIVE (delay 0, the default here); with a delay, the create and at least
one look after it are two round trips, so N / (2 x latency) is the ceiling (ratio 0.5)
and the poll interval decides how many more looks there are.

The workers are stopped at the end whatever happens (Ctrl-C included), the bench's load
balancers are deleted from the database and the broker's Redis database is emptied.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import var_dir

ROOT = Path(__file__).resolve().parent.parent
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")


class BenchError(Exception):
    """A reason the bench cannot run, for the person who started it."""


# -- the worker side ------------------------------------------------------------------------


def run_worker(calls_file: str, argv: list[str]) -> None:
    """A Celery worker exactly as ``celery -A config worker`` runs, except that every call
    the sandbox receives is also written to ``calls_file`` (one line each, by step)."""
    from loadbalancers.adapters.lbaas import sandbox

    simulate = sandbox.SandboxLBaaS._simulate_network

    def counted(self, step):  # type: ignore[no-untyped-def]
        with open(calls_file, "a") as out:
            out.write(f"{step}\n")
        return simulate(self, step)

    sandbox.SandboxLBaaS._simulate_network = counted  # type: ignore[method-assign]
    from config.celery import app

    app.conf.task_default_queue = os.environ["BENCH_PIPELINE_QUEUE"]
    app.worker_main(["worker", "--queues", app.conf.task_default_queue, *argv])


# -- the bench side -------------------------------------------------------------------------


def parse_counts(text: str) -> list[int]:
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers takes numbers separated by commas, not {text!r}") from None
    if not counts or counts[0] < 1 or counts[-1] > 16:
        raise argparse.ArgumentTypeError("--workers takes numbers between 1 and 16")
    return counts


def positive(kind: type) -> object:
    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text!r} is negative")
        return value

    return parse


def check_environment() -> tuple[str, str]:
    """The database and broker URLs, or BenchError saying what is missing."""
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith(("postgres://", "postgresql://")):
        raise BenchError(
            "this bench needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/<a database of your own>"
            " (SQLite's single writer would be what is measured)"
        )
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        raise BenchError(
            "this bench needs a Redis broker: set CELERY_BROKER_URL=redis://127.0.0.1:6379/<a database number of"
            " your own> (it is emptied at the end)"
        )
    return database, broker


def redis_of(broker: str):  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(broker, socket_timeout=5, socket_connect_timeout=5)
    try:
        size = client.dbsize()
    except redis.RedisError as exc:
        raise BenchError(f"cannot reach the broker at {broker}: {exc}") from None
    if size:
        raise BenchError(
            f"the broker's Redis database ({broker}) holds {size} keys: give the bench an empty database number of"
            " its own (it empties it at the end), or empty this one if it is yours"
        )
    return client


def clean_broker(client) -> None:  # type: ignore[no-untyped-def]
    """Empty the broker's database, unless someone else has used it meanwhile (a queue
    other than the bench's own): then only the bench's queue goes."""
    queue = os.environ["BENCH_PIPELINE_QUEUE"]
    keys = [key.decode() for key in client.scan_iter(count=1000)]
    ours = ("_kombu.binding", "unacked", queue)
    foreign = [key for key in keys if not key.startswith(ours) and not key.endswith(".reply.celery.pidbox")]
    if not foreign:
        client.flushdb()
        return
    client.delete(queue)
    print(
        f"pipeline bench: the broker's database also holds {', '.join(sorted(foreign)[:5])}: someone else uses it;"
        " only the bench's queue was deleted (give the bench a database of its own)",
        file=sys.stderr,
    )


class Workers:
    """Celery worker processes, each leading a process group of its own, stopped (and
    killed if they do not stop) whatever happens."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env = env
        self._log = log
        self._started: list[subprocess.Popen] = []

    def start(self, count: int, mode: str, calls_file: Path) -> list[str]:
        """Start ``count`` workers (or one of ``count`` processes); their node names."""
        common = ["--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--pool", "prefork"]
        if mode == "prefork":
            plans = [(f"bench-prefork{count}@%h", [*common, "--concurrency", str(count)])]
        else:
            plans = [(f"bench-{i}@%h", [*common, "--concurrency", "1"]) for i in range(count)]
        names = []
        for name, argv in plans:
            out = self._log.open("ab")
            self._started.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--as-worker", str(calls_file), "--", "-n", name, *argv],
                    env=self._env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    process_group=0,
                )
            )
            out.close()
            names.append(name.replace("%h", platform.node()))
        return names

    def wait_ready(self, names: list[str], timeout: float = 60.0) -> None:
        from config.celery import app

        deadline = time.monotonic() + timeout
        answered: set[str] = set()
        while set(names) - answered:
            for process in self._started:
                if process.poll() is not None:
                    raise BenchError(f"a worker stopped with exit code {process.returncode}: see {self._log}")
            if time.monotonic() > deadline:
                raise BenchError(f"workers {sorted(set(names) - answered)} did not answer within {timeout:.0f} s")
            for reply in app.control.ping(destination=names, timeout=0.5) or []:
                answered.update(reply)

    def stop(self) -> None:
        for process in self._started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self._started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        self._started.clear()


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def one_round(n: int, args: argparse.Namespace, workers: Workers, world: dict, folder: Path) -> dict:  # type: ignore[type-arg]
    from loadbalancers import models
    from loadbalancers.application.payloads import CreateLoadBalancer

    service, actor = world["service"], world["actor"]
    calls_file = folder / f"provider-calls-{n}.txt"
    names = workers.start(n, args.mode, calls_file)
    try:
        workers.wait_ready(names)
        count = args.per_worker * n
        ids = []
        started = time.time()
        for i in range(count):
            payload = CreateLoadBalancer(name=f"pipe-{n}-{i}", servers=world["servers"], team=world["team"])
            ids.append(service.load_balancers.create_one(actor, payload).id)
        submitted = time.time() - started
        deadline = time.monotonic() + args.timeout
        while True:
            rows = list(models.LoadBalancer.objects.filter(pk__in=ids).values_list("provisioning_status", "updated_at"))
            if not any(status in PENDING for status, _ in rows):
                break
            if time.monotonic() > deadline:
                waiting = sum(status in PENDING for status, _ in rows)
                raise BenchError(f"N={n}: {waiting} of {count} creates still pending after {args.timeout:.0f} s")
            time.sleep(0.05)
    finally:
        workers.stop()
    statuses = Counter(status for status, _ in rows)
    if statuses["ACTIVE"] != count:
        raise BenchError(f"N={n}: not every create reached ACTIVE: {dict(statuses)}")
    done = sorted(updated.timestamp() - started for _, updated in rows)
    low, high = percentile(done, 0.1), percentile(done, 0.9)
    steady_count = round(0.9 * (count - 1)) - round(0.1 * (count - 1))
    calls = Counter(calls_file.read_text().split()) if calls_file.exists() else Counter()
    return {
        "n": n,
        "creates": count,
        "seconds": done[-1],
        "rate": count / done[-1],
        "steady": steady_count / (high - low) if high > low else float("nan"),
        "submitted": submitted,
        "median_latency": statistics.median(done),
        "calls": calls,
    }


def reset(world: dict, sandbox_path: str) -> None:  # type: ignore[type-arg]
    """The bench's load balancers gone from the database and from the sandbox."""
    import sqlite3

    from loadbalancers import models

    models.LoadBalancer.objects.filter(team__slug=world["team"]).delete()
    if Path(sandbox_path).exists():
        with contextlib.closing(sqlite3.connect(sandbox_path)) as db, db:
            db.execute("DELETE FROM load_balancers")


def environment(args: argparse.Namespace, database: str, broker: str, client, members: int) -> None:  # type: ignore[no-untyped-def]
    import celery
    import django
    import kombu
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    db_url = urlsplit(database)
    print(
        f"python {platform.python_version()}, django {django.get_version()}, celery {celery.__version__},"
        f" kombu {kombu.__version__}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"PostgreSQL {pg_version} at {db_url.hostname}:{db_url.port or 5432}{db_url.path};"
        f" Redis {client.info('server')['redis_version']} at {broker}"
    )
    print(
        f"sandbox: latency {args.latency:g} s, delay {args.delay:g} s; LBAAS_POLL_INTERVAL {args.poll_interval:g} s;"
        f" prefetch multiplier {settings.CELERY_WORKER_PREFETCH_MULTIPLIER}, acks late {settings.CELERY_TASK_ACKS_LATE}"
    )
    how = "N separate workers, prefork pool of 1 each" if args.mode == "processes" else "one worker, prefork pool of N"
    print(f"workers: {how}; {args.per_worker} creates per worker, each with {members} members")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--as-worker":
        run_worker(sys.argv[2], sys.argv[4:] if sys.argv[3:4] == ["--"] else sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=parse_counts, default=[1, 2, 3, 4], help="worker counts (default 1,2,3,4)")
    parser.add_argument("--per-worker", type=positive(int), default=40, help="creates per worker (default 40)")
    parser.add_argument("--latency", type=positive(float), default=0.2, help="SANDBOX_LBAAS_LATENCY (default 0.2)")
    parser.add_argument("--delay", type=positive(float), default=0.0, help="SANDBOX_LBAAS_DELAY (default 0)")
    parser.add_argument("--poll-interval", type=positive(float), default=1.0, help="LBAAS_POLL_INTERVAL (default 1)")
    parser.add_argument("--mode", choices=("processes", "prefork"), default="processes", help="how N workers run")
    parser.add_argument("--timeout", type=positive(float), default=300.0, help="seconds to wait for one round")
    args = parser.parse_args()
    if args.per_worker < 1:
        parser.error("--per-worker must be at least 1")
    if args.latency <= 0:
        parser.error("--latency must be more than 0 (the target is N / latency)")
    if args.poll_interval < 0.01:
        parser.error("--poll-interval must be at least 0.01 (as LBAAS_POLL_INTERVAL)")

    try:
        database, broker = check_environment()
    except BenchError as problem:
        print(f"pipeline bench: {problem}", file=sys.stderr)
        return 2
    folder, _ = var_dir("bench-pipeline-")
    sandbox_path = str(folder / "sandbox-lbaas.sqlite3")
    os.environ.update(
        {
            "SANDBOX_LBAAS_PATH": sandbox_path,
            "SANDBOX_LBAAS_LATENCY": repr(args.latency),
            "SANDBOX_LBAAS_DELAY": repr(args.delay),
            "SANDBOX_LBAAS_VIP_RANGE": "10.128.0.0/16",
            "LBAAS_PROVIDERS": "sandbox",
            "LBAAS_POLL_INTERVAL": repr(args.poll_interval),
            "TEAM_QUOTA_LOAD_BALANCERS": "1000000",
            "PORTAL_INSTANCE_ID": "bench-pipeline",
            # A queue of the bench's own: another user of the same Redis database neither
            # takes the bench's tasks nor hands it theirs.
            "BENCH_PIPELINE_QUEUE": f"bench-pipeline-{os.getpid()}",
            "DRIFT_POLICY": "report",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    workers = Workers(dict(os.environ, PYTHONPATH=str(ROOT)), folder / "workers.log")
    stopping: list[int] = []

    def stop(signum, _frame):  # type: ignore[no-untyped-def]
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    client = None
    world: dict = {}  # type: ignore[type-arg]
    try:
        client = redis_of(broker)
        world = prepare()
        environment(args, database, broker, client, len(world["servers"]))
        results = []
        for n in args.workers:
            reset(world, sandbox_path)
            results.append(one_round(n, args, workers, world, folder))
            clean_broker(client)
        report(results, args)
    except BenchError as problem:
        print(f"pipeline bench: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pipeline bench: interrupted", file=sys.stderr)
        return 130
    finally:
        workers.stop()
        if world:
            with contextlib.suppress(Exception):
                reset(world, sandbox_path)
        if client is not None:
            with contextlib.suppress(Exception):
                clean_broker(client)
    print(f"(worker logs and provider call counts in {folder})")
    return 0


def prepare() -> dict:  # type: ignore[type-arg]
    """Django set up and migrated, and a team with a user and two servers."""
    import django
    from django.db import OperationalError

    django.setup()
    from django.core.management import call_command

    from config.celery import app

    app.conf.task_default_queue = os.environ["BENCH_PIPELINE_QUEUE"]

    try:
        call_command("migrate", verbosity=0)
    except OperationalError as exc:
        raise BenchError(f"cannot use the database of DATABASE_URL: {exc}".strip()) from None
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Team
    from loadbalancers import bootstrap
    from servers.models import Server

    user, _ = get_user_model().objects.get_or_create(username="bench-pipeline")
    team, _ = Team.objects.get_or_create(slug="bench-pipeline", defaults={"name": "Pipeline bench"})
    Membership.objects.get_or_create(team=team, user=user, defaults={"role": "owner"})
    servers = []
    for i in range(2):
        address = {"address": f"10.99.0.{i + 1}", "port": 8080}
        servers.append(Server.objects.get_or_create(name=f"bench-pipeline-{i}", defaults=address)[0].pk)
    return {
        "service": bootstrap.build(),
        "actor": bootstrap.actor_of(user),
        "team": team.slug,
        "servers": servers,
    }


def report(results: list[dict], args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    print()
    print(
        f"{'N':>2} | {'creates':>7} | {'seconds':>7} | {'creates/s':>9} | {'steady/s':>8} | {'target':>6}"
        f" | {'ratio':>5} | {'submit s':>8} | {'median s':>8} | provider calls per create"
    )
    for r in results:
        target = 0.8 * r["n"] / args.latency
        per_create = ", ".join(f"{step} {count / r['creates']:.2f}" for step, count in sorted(r["calls"].items()))
        total = sum(r["calls"].values()) / r["creates"]
        print(
            f"{r['n']:>2} | {r['creates']:>7} | {r['seconds']:>7.2f} | {r['rate']:>9.2f} | {r['steady']:>8.2f} |"
            f" {target:>6.1f} | {r['rate'] / target:>5.2f} | {r['submitted']:>8.2f} | {r['median_latency']:>8.2f} |"
            f" {total:.2f} ({per_create})"
        )
    print(
        "seconds: first submit to last ACTIVE; steady/s: between the 10th and 90th percentile of the ACTIVE times;"
        " target: 0.8 x N / latency; submit s: the time the K creates took to submit; median s: submit start to the"
        " median ACTIVE"
    )


if __name__ == "__main__":
    sys.exit(main())
