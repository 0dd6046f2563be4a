"""What one reconcile pass costs over many load balancers against the sandbox LBaaS:
seconds, provider calls (by kind: no call per load balancer), SQL statements and peak
memory, for passes in a row over the same records.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_reconciler \\
    .venv/bin/python bench/reconciler.py [--load-balancers 100000] [--per-team 100000] [--servers 10000]
                                         [--members 4] [--passes 3] [--drift 5] [--lost 5] [--orphans 5]
                                         [--latency 0] [--no-seed] [--profile]

The records are seeded by ``manage.py seed_bench`` (bench teams and servers, replaced
each run; everything else in the database is left alone): load balancers of provider
``sandbox`` with their provider references, ~90% ACTIVE.  The bench then writes the
sandbox's state (a SQLite file of its own) so that every ACTIVE record runs there exactly
as recorded (and every ERROR one is there in error), and changes a handful behind the
portal's back: ``--drift`` load balancers run another algorithm, ``--lost`` are gone, and
``--orphans`` resources of this installation have no record.  ``--no-seed`` keeps the
records there are (from an earlier run) and writes the sandbox's state again.

Each pass runs the reconciler's ``reconcile()`` as the scheduled task does.  The first
pass finds the drift, the lost and the orphans (and stores the health the sandbox reports
for the seeded DEGRADED/OFFLINE ones: the sandbox simulates every monitored member
healthy); later passes find the same resources in the same state (the drift and the
orphans again, nothing new).  The table gives, per pass: seconds, provider calls by kind,
SQL statements, and what it found.  Then one more pass runs under tracemalloc for the
peak memory a pass allocates (tracing slows it down: its seconds are not the figure), and
the process's peak RSS.  Target: at most 10 s per pass.

``--latency`` adds that many seconds to every provider call (SANDBOX_LBAAS_LATENCY): a
pass that made a call per load balancer would show it at once.  ``--profile`` prints the
functions of the last timed pass that took the most time.

PostgreSQL is what the figures are for; without DATABASE_URL the bench runs on a throw-away
SQLite database (slower to seed, and SQLite is not the production database).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import io
import os
import platform
import pstats
import resource
import sqlite3
import sys
import time
import tracemalloc
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import django_ready, var_dir

CHUNK = 5000


class BenchError(Exception):
    """A reason the bench cannot go on, for the person who started it."""


def whole(low: int, high: int):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 10 seconds")
    return value


def seed(args: argparse.Namespace) -> None:
    from django.core.management import call_command, get_commands
    from django.core.management.base import CommandError

    if "seed_bench" not in get_commands():
        raise BenchError("manage.py seed_bench is not there: this bench seeds its records with it")
    started = time.perf_counter()
    try:
        call_command(
            "seed_bench",
            load_balancers=args.load_balancers,
            per_team=args.per_team,
            servers=args.servers,
            members=args.members,
            replace=True,
            verbosity=0,
        )
    except CommandError as exc:
        raise BenchError(f"seed_bench failed: {exc}") from None
    print(f"seeded {args.load_balancers:,} load balancers with seed_bench in {time.perf_counter() - started:.1f} s")


def build_sandbox(args: argparse.Namespace, client, installation: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The sandbox's file made to hold every ACTIVE sandbox record as it is recorded (and
    every ERROR one, in error), then the handful of changes behind the portal's back."""
    from accounts.bootstrap import team_repository
    from loadbalancers import models
    from loadbalancers.adapters.lbaas import sandbox
    from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository
    from loadbalancers.application.provisioning import spec_of
    from loadbalancers.domain.model import Algorithm, ProvisioningStatus
    from servers.bootstrap import server_repository

    started = time.perf_counter()
    client.get_list()  # the file and its schema
    path = Path(client._state._path)
    ids = list(
        models.LoadBalancer.objects.filter(provider="sandbox", provisioning_status__in=["ACTIVE", "ERROR"])
        .exclude(provider_ref=None)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise BenchError("there are no ACTIVE or ERROR sandbox load balancers with a provider reference to reconcile")
    records, servers, teams = DjangoLoadBalancerRepository(), server_repository(), team_repository()
    rows, active = [], []
    for start in range(0, len(ids), CHUNK):
        lbs = records.get_list(ids=ids[start : start + CHUNK])
        known = {s.id: s for s in servers.get_list(sorted({i for lb in lbs for i in lb.server_ids}))}
        projects = teams.projects_of({lb.team_id for lb in lbs})
        for lb in lbs:
            spec = client.as_running(spec_of(lb, known, project=projects.get(lb.team_id)))
            is_active = lb.provisioning_status is ProvisioningStatus.ACTIVE
            vip = lb.vip_address if is_active and lb.vip_address else f"vip-{lb.id}"
            error = None if is_active else (lb.error_reason or "failed at the provider")
            rows.append((lb.provider_ref, str(lb.id), vip, sandbox._dump(spec), "create", 0.0, error, installation))
            if is_active:
                active.append((lb.provider_ref, spec))
    wanted = args.drift + args.lost
    if len(active) < wanted:
        raise BenchError(f"--drift and --lost need {wanted} ACTIVE load balancers; there are {len(active)}")
    # Spread over the list: one at the start, the others further on.
    step = max(1, len(active) // max(1, wanted))
    chosen = [active[i * step] for i in range(wanted)]
    drifted, lost = chosen[: args.drift], chosen[args.drift :]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("DELETE FROM load_balancers")
        db.executemany(
            "INSERT INTO load_balancers (ref, client_token, vip_address, spec, action, ready_at, error, installation)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for ref, spec in drifted:
            other = next(a for a in Algorithm if a.value != spec.algorithm)
            changed = sandbox._dump(dataclasses.replace(spec, algorithm=other.value))
            db.execute("UPDATE load_balancers SET spec = ? WHERE ref = ?", (changed, ref))
        db.executemany("DELETE FROM load_balancers WHERE ref = ?", [(ref,) for ref, _ in lost])
        template = rows[0]
        db.executemany(
            "INSERT INTO load_balancers (ref, client_token, vip_address, spec, action, ready_at, error, installation)"
            " VALUES (?, ?, ?, ?, 'create', 0, NULL, ?)",
            [
                (f"sbx-orphan-{n}", str(uuid.uuid4()), f"vip-orphan-{n}", template[3], installation)
                for n in range(args.orphans)
            ],
        )
    print(
        f"sandbox state: {len(rows) - len(lost) + args.orphans:,} resources ({len(active):,} ACTIVE records,"
        f" {len(rows) - len(active):,} ERROR), {len(drifted)} drifted, {len(lost)} lost, {args.orphans} orphans"
        f" ({time.perf_counter() - started:.1f} s)"
    )
    return {"drift": len(drifted), "lost": len(lost), "orphans": args.orphans}


@contextlib.contextmanager
def provider_calls(client):  # type: ignore[no-untyped-def]
    """Every call the sandbox receives, counted by kind."""
    counts: Counter[str] = Counter()
    original = client._simulate_network

    def counted(step: str) -> None:
        counts[step] += 1
        original(step)

    client._simulate_network = counted
    try:
        yield counts
    finally:
        del client._simulate_network


@contextlib.contextmanager
def sql_statements():  # type: ignore[no-untyped-def]
    from django.db import connection

    counts: Counter[str] = Counter()

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        counts[sql.split(None, 1)[0].upper()] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counts


def clean_state() -> None:
    """What earlier passes of an earlier run stored: drift and orphan records."""
    from loadbalancers import models

    models.Drift.objects.all().delete()
    models.Orphan.objects.all().delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load-balancers", type=whole(1, 10_000_000), default=100_000, help="default 100000")
    parser.add_argument("--per-team", type=whole(1, 10_000_000), default=100_000, help="default 100000")
    parser.add_argument("--servers", type=whole(1, 1_000_000), default=10_000, help="default 10000")
    parser.add_argument("--members", type=whole(1, 64), default=4, help="default 4")
    parser.add_argument("--passes", type=whole(1, 20), default=3, help="timed passes in a row (default 3)")
    parser.add_argument("--drift", type=whole(0, 1000), default=5, help="load balancers drifted (default 5)")
    parser.add_argument("--lost", type=whole(0, 1000), default=5, help="load balancers lost (default 5)")
    parser.add_argument("--orphans", type=whole(0, 1000), default=5, help="orphans (default 5)")
    parser.add_argument("--latency", type=seconds_arg, default=0.0, help="seconds per provider call (default 0)")
    parser.add_argument("--no-seed", action="store_true", help="keep the records there are")
    parser.add_argument("--profile", action="store_true", help="profile the last timed pass")
    args = parser.parse_args()

    database = os.environ.get("DATABASE_URL", "")
    if database and not database.startswith(("postgres://", "postgresql://", "sqlite://")):
        print("reconciler bench: DATABASE_URL must be a postgres:// (or sqlite://) URL", file=sys.stderr)
        return 2
    folder, _ = var_dir("bench-reconciler-")
    os.environ.update(
        {
            "SANDBOX_LBAAS_PATH": str(folder / "sandbox-lbaas.sqlite3"),
            "SANDBOX_LBAAS_LATENCY": repr(args.latency),
            "SANDBOX_LBAAS_DELAY": "0",
            "LBAAS_PROVIDERS": "sandbox",
            "PORTAL_INSTANCE_ID": "bench-reconciler",
            "DRIFT_POLICY": "report",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    try:
        return run(args, folder)
    except BenchError as problem:
        print(f"reconciler bench: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("reconciler bench: interrupted", file=sys.stderr)
        return 130


def run(args: argparse.Namespace, folder: Path) -> int:
    from django.db import OperationalError

    try:
        django_ready()
    except OperationalError as exc:
        raise BenchError(f"cannot use the database: {exc}".strip()) from None
    import django
    from django.db import connection

    from loadbalancers import bootstrap, models
    from loadbalancers.application.reconciliation import ReconcileReport

    if connection.vendor == "sqlite":
        print("note: SQLite (no DATABASE_URL): the figures that count are PostgreSQL's")
    if not args.no_seed:
        seed(args)
    clean_state()
    services = bootstrap.build()
    client = bootstrap.providers().get("sandbox")
    made = build_sandbox(args, client, bootstrap.instance_id())
    with connection.cursor() as cursor:
        version = "SQLite " + sqlite3.sqlite_version
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = "PostgreSQL " + cursor.fetchone()[0]
    records = models.LoadBalancer.objects.filter(provider="sandbox")
    active = records.filter(provisioning_status="ACTIVE").count()
    print(
        f"python {platform.python_version()}, django {django.get_version()}, {version}; {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.2f}; sandbox latency {args.latency:g} s per call"
    )
    print(f"records: {records.count():,} sandbox load balancers, {active:,} ACTIVE, {args.members} members each")
    print()
    header = f"{'pass':>4} | {'seconds':>7} | {'provider calls':<26} | {'SQL':>6} | found"
    print(header)
    print("-" * len(header))
    reports: list[ReconcileReport] = []
    profiler = cProfile.Profile() if args.profile else None
    for number in range(1, args.passes + 1):
        last = number == args.passes
        with provider_calls(client) as calls, sql_statements() as sql:
            if profiler is not None and last:
                profiler.enable()
            started = time.perf_counter()
            report = services.reconciliation.reconcile()
            seconds = time.perf_counter() - started
            if profiler is not None and last:
                profiler.disable()
        reports.append(report)
        found = {name: len(value) for name, value in vars(report).items() if value}
        called = ", ".join(f"{step} {count}" for step, count in sorted(calls.items())) or "none"
        print(
            f"{number:>4} | {seconds:>7.2f} | {called:<26} | {sum(sql.values()):>6} |"
            f" {', '.join(f'{k} {v}' for k, v in found.items()) or 'nothing'}"
        )
    tracemalloc.start()
    with provider_calls(client) as calls, sql_statements() as sql:
        started = time.perf_counter()
        services.reconciliation.reconcile()
        traced = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"peak memory a pass allocates (tracemalloc): {peak / 2**20:.0f} MiB (that pass: {traced:.1f} s traced)")
    print(f"peak RSS of this process (seeding and setup included): {rss:.0f} MiB")
    check(reports, made)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    print(f"(state in {folder})")
    return 0


def check(reports: list, made: dict[str, int]) -> None:  # type: ignore[type-arg]
    """The passes found what was changed behind the portal's back, and nothing failed."""
    first = reports[0]
    problems = []
    if len(first.lost) != made["lost"]:
        problems.append(f"the first pass found {len(first.lost)} lost, not {made['lost']}")
    if len(first.drifted) != made["drift"]:
        problems.append(f"the first pass found {len(first.drifted)} drifted, not {made['drift']}")
    if len(first.orphans_found) != made["orphans"]:
        problems.append(f"the first pass found {len(first.orphans_found)} orphans, not {made['orphans']}")
    for number, report in enumerate(reports, 1):
        if report.failed or report.unreachable:
            problems.append(f"pass {number} failed on {report.failed or report.unreachable}")
        if number > 1 and (report.lost or report.orphans_found or len(report.drifted) != made["drift"]):
            problems.append(f"pass {number} did not find the same state again: {report}")
    if problems:
        raise BenchError("; ".join(problems))
    print("checked: the first pass found every drifted, lost and orphaned one; the later ones the same state again")


if __name__ == "__main__":
    sys.exit(main())
