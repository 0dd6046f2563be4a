"""The portal's API against a hand-tuned floor (``bench/floor``: plain Django views that
answer the same JSON over the same database), side by side on this machine, in
interleaved rounds; prints the paired ratios (portal req/s / floor req/s), median and
min-max, and the SQL statements each answer costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/benchapi .venv/bin/python bench/api.py \\
        [--rounds 10] [--duration 10] [--connections 16] [--threads 2] [--workers 2] \\
        [--load-balancers 10000] [--per-team 10000] [--reuse] [--redis-db 9]

What it does:

* migrates the database and seeds it (``manage.py seed_bench``; ``--reuse`` keeps the
  bench data already there if it has the asked size), and makes an API token for the
  user ``bench`` (member of team bench-1, which holds ``--per-team`` load balancers);
* starts two gunicorn servers on free loopback ports, each with ``--workers`` sync
  workers and the same production settings (the floor's differ only in ROOT_URLCONF):
  DEBUG off, a rate limit that never throttles, the cache and the Celery broker in
  Redis database ``--redis-db`` (creates hand work over to it; nothing consumes it; the
  database is flushed at the end);
* checks that both answer the same JSON for list page 1, a deep page and a detail
  (stops with the differences otherwise);
* counts the SQL statements of each endpoint in this process (django.test.Client);
* for each round and endpoint, runs ``wrk`` against the portal and the floor (which goes
  first alternates by round); a create run's rows are deleted after it, so every round
  starts from the same data.  Any answer outside 2xx makes that figure invalid: it is
  shown, and the run fails at the end.

Needs PostgreSQL (DATABASE_URL), Redis on 127.0.0.1:6379 and wrk.  Nothing of the portal
asserts timings: this prints figures, it does not judge them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORTAL_URLS, FLOOR_URLS = "config.urls", "bench.floor.urls"
PORTAL_SETTINGS, FLOOR_SETTINGS = "config.settings.prod", "bench.floor.settings"
LIST = "/api/v1/load-balancers/"
PAGE = 50
DEEP_OFFSET = 7_450
CREATED_PREFIX = "wrk-"  # every load balancer the create runs make is named so
MEMBERS_PER_CREATE = 4
BENCH_TEAMS = r"^bench-[0-9]+$"  # seed_bench's teams
SERVERS = 10_000
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# DRF keeps every request's time of the last period in the cache: per second, the history
# stays short; a million a second is never reached.
NEVER_THROTTLE = "1000000/second"
READY_TIMEOUT = 90.0


class Stop(Exception):
    """The run cannot go on: say why (no traceback)."""


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    method: str
    path: str


@dataclass
class Figure:
    requests_per_second: float
    not_2xx: int
    first_status: int
    socket_errors: str

    @property
    def valid(self) -> bool:
        return self.not_2xx == 0


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Results:
    figures: dict[tuple[str, str], list[Figure]] = field(default_factory=dict)

    def add(self, endpoint: str, side: str, figure: Figure) -> None:
        self.figures.setdefault((endpoint, side), []).append(figure)


# -- arguments and environment ---------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers of each server (default 2)")
    parser.add_argument("--load-balancers", type=int, default=10_000, help="load balancers seeded in all")
    parser.add_argument("--per-team", type=int, default=10_000, help="load balancers of team bench-1 (the user's)")
    parser.add_argument("--reuse", action="store_true", help="keep the bench data there if it has this size")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database for cache and broker (flushed)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["page1", "deep", "detail", "create"],
        help="measure only these endpoints (default: all four)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk per endpoint and server first")
    args = parser.parse_args()
    for name, low, high in (
        ("rounds", 1, 1000),
        ("duration", 1, 3600),
        ("connections", 1, 10_000),
        ("threads", 1, 256),
        ("workers", 1, 64),
        ("load_balancers", 1, 100_000_000),
        ("per_team", 1, 100_000_000),
        ("redis_db", 0, 15),
        ("warmup", 0, 600),
    ):
        value = getattr(args, name)
        if not low <= value <= high:
            parser.error(f"--{name.replace('_', '-')} must be from {low} to {high} (got {value})")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk gives each thread its connections)")
    if min(args.per_team, args.load_balancers) <= DEEP_OFFSET + PAGE:
        parser.error(f"the user's list must be longer than the deep page: --per-team above {DEEP_OFFSET + PAGE}")
    return args


def environment(args: argparse.Namespace, var: Path) -> dict[str, str]:
    """The environment of both servers and of this process (production settings)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise Stop(
            "PostgreSQL is needed: set DATABASE_URL=postgres://user@host:5432/dbname (a database of its"
            " own; SQLite takes one writer at a time, which would measure its lock rather than the code)"
            + (f"; got {url.split('://', 1)[0]}://..." if url else "")
        )
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise Stop(f"{tool} is not installed (apt-get install {tool})")
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2).close()
    except OSError as exc:
        raise Stop(
            f"Redis must answer on {REDIS_HOST}:{REDIS_PORT} (cache and broker of both servers): {exc}"
        ) from None
    redis = f"redis://{REDIS_HOST}:{REDIS_PORT}/{args.redis_db}"
    return {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": PORTAL_SETTINGS,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
        "CACHE_URL": redis,
        "CELERY_BROKER_URL": redis,
        "API_THROTTLE_USER": NEVER_THROTTLE,
        "PORTAL_VAR_DIR": str(var),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


# -- the data ----------------------------------------------------------------------------------


def seeded(args: argparse.Namespace) -> dict[str, int]:
    """Seed (unless --reuse finds the data there); the row counts."""
    from django.core.management import call_command

    delete_created()
    counts = bench_counts()
    teams = -(-args.load_balancers // args.per_team)
    wanted = {"load_balancers": args.load_balancers, "teams": teams, "servers": SERVERS}
    if args.reuse and all(counts[name] == value for name, value in wanted.items()) and counts["user_lbs"]:
        print(f"reusing the bench data: {counts['load_balancers']:,} load balancers, {counts['servers']:,} servers")
    else:
        if args.reuse:
            print(f"the bench data there ({counts['load_balancers']:,} load balancers) is not the size asked: seeding")
        call_command(
            "seed_bench",
            load_balancers=args.load_balancers,
            per_team=args.per_team,
            servers=SERVERS,
            members=MEMBERS_PER_CREATE,
            replace=True,
        )
        counts = bench_counts()
    if not counts["user_lbs"]:
        raise Stop(
            "the user 'bench' sees no load balancer after seeding: seed_bench did not do what bench/api.py expects"
        )
    return counts


def bench_counts() -> dict[str, int]:
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Team
    from loadbalancers.models import LoadBalancer, Member
    from servers.models import Server as ServerRow

    user = get_user_model().objects.filter(username="bench").first()
    teams = list(Membership.objects.filter(user=user).values_list("team_id", flat=True)) if user else []
    bench_teams = Team.objects.filter(slug__regex=BENCH_TEAMS)
    return {
        "load_balancers": LoadBalancer.objects.filter(team__in=bench_teams).count(),
        "teams": bench_teams.count(),
        "all_load_balancers": LoadBalancer.objects.count(),
        "user_lbs": LoadBalancer.objects.filter(team_id__in=teams).exclude(provisioning_status="DELETED").count(),
        "members": Member.objects.count(),
        "servers": ServerRow.objects.filter(name__startswith="bench-srv-", status="OK").count(),
    }


def delete_created() -> int:
    """Delete the load balancers the create runs made (their members, tags, drift and
    audit entries too); then VACUUM ANALYZE, so the next round finds the tables as before."""
    from django.db import connection

    from audit.models import AuditEntry
    from loadbalancers.models import Drift, LoadBalancer, Member, Tag

    made = LoadBalancer.objects.filter(name__startswith=CREATED_PREFIX)
    for model in (Member, Tag, Drift):
        model.objects.filter(load_balancer__in=made.values("pk")).delete()
    AuditEntry.objects.filter(target_name__startswith=CREATED_PREFIX).delete()
    deleted, _ = made.delete()
    if deleted:
        with connection.cursor() as cursor:
            for model in (LoadBalancer, Member, Tag, Drift, AuditEntry):
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    return deleted


def make_token() -> tuple[str, int]:
    from django.contrib.auth import get_user_model

    from accounts import bootstrap
    from accounts.application.payloads import CreateToken

    user = get_user_model().objects.get(username="bench")
    actor = bootstrap.actor_of(user, "accounts.apitoken")
    token, key = bootstrap.build().tokens.create_one(actor, CreateToken(description="bench/api.py"))
    return key, token.id  # type: ignore[return-value]


def revoke_token(token_id: int) -> None:
    from django.contrib.auth import get_user_model

    from accounts import bootstrap

    user = get_user_model().objects.get(username="bench")
    bootstrap.build().tokens.delete_one(bootstrap.actor_of(user, "accounts.apitoken"), token_id)


def fixed_ids() -> tuple[str, list[int]]:
    """A load balancer in the middle of the user's list (the detail), and the OK servers
    the creates pick from."""
    from accounts.models import Membership
    from loadbalancers.models import LoadBalancer
    from servers.models import Server as ServerRow

    teams = Membership.objects.filter(user__username="bench").values("team_id")
    visible = LoadBalancer.objects.filter(team_id__in=teams).exclude(provisioning_status="DELETED")
    middle = visible.count() // 2
    detail = visible.order_by("-created_at", "-id").values_list("id", flat=True)[middle]
    servers = list(
        ServerRow.objects.filter(name__startswith="bench-srv-", status="OK").order_by("pk").values_list("pk", flat=True)
    )
    if len(servers) < MEMBERS_PER_CREATE:
        raise Stop(f"creates need at least {MEMBERS_PER_CREATE} OK bench servers (found {len(servers)})")
    return str(detail), servers


# -- the servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(name: str, app: str, settings_module: str, workers: int, env: dict[str, str], var: Path) -> Server:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    if not gunicorn.exists():
        raise Stop(f"gunicorn is not installed next to {sys.executable} (pip install -e .)")
    port = free_port()
    log = var / f"{name}.log"
    command = [
        str(gunicorn),
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        "--log-level",
        "warning",
        app,
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings_module},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches this script, which stops it
        )
    return Server(name=name, process=process, port=port, log=log)


def wait_ready(server: Server, key: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise Stop(f"the {server.name} server stopped (exit {server.process.returncode}):\n{tail(server.log)}")
        try:
            status, _ = fetch(server, f"{LIST}?limit=1", key)
            if status == 200:
                return
            raise Stop(f"the {server.name} server answers {status} to {LIST}?limit=1:\n{tail(server.log)}")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise Stop(f"the {server.name} server did not answer within {READY_TIMEOUT:.0f} s:\n{tail(server.log)}")
        time.sleep(0.2)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()  # gunicorn's graceful stop of its workers
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(server: Server, path: str, key: str) -> tuple[int, Any]:
    request = urllib.request.Request(server.base + path, headers={"Authorization": f"Token {key}"})
    try:
        with _opener.open(request, timeout=30) as answer:
            # Each server's links name its own address: compared as the same.
            return answer.status, json.loads(answer.read().decode().replace(server.base, "http://<server>"))
    except urllib.error.HTTPError as failed:
        return failed.code, failed.read()[:500]


# -- the same bodies ---------------------------------------------------------------------------


def differences(portal: Any, floor: Any, where: str = "$") -> Iterator[str]:
    if type(portal) is not type(floor):
        yield f"{where}: portal {portal!r:.120} / floor {floor!r:.120}"
    elif isinstance(portal, dict):
        for key in sorted(set(portal) | set(floor)):
            if key not in floor:
                yield f"{where}.{key}: only the portal has it ({portal[key]!r:.120})"
            elif key not in portal:
                yield f"{where}.{key}: only the floor has it ({floor[key]!r:.120})"
            else:
                yield from differences(portal[key], floor[key], f"{where}.{key}")
    elif isinstance(portal, list):
        if len(portal) != len(floor):
            yield f"{where}: {len(portal)} items from the portal, {len(floor)} from the floor"
        for n, (a, b) in enumerate(zip(portal, floor, strict=False)):
            yield from differences(a, b, f"{where}[{n}]")
    elif portal != floor:
        yield f"{where}: portal {portal!r:.120} / floor {floor!r:.120}"


def check_same_bodies(portal: Server, floor: Server, endpoints: list[Endpoint], key: str) -> None:
    for endpoint in endpoints:
        if endpoint.method != "GET":
            continue
        (portal_status, portal_body), (floor_status, floor_body) = (
            fetch(portal, endpoint.path, key),
            fetch(floor, endpoint.path, key),
        )
        if (portal_status, floor_status) != (200, 200):
            raise Stop(f"{endpoint.label}: the portal answers {portal_status}, the floor {floor_status}")
        found = list(differences(portal_body, floor_body))
        if found:
            shown = "\n  ".join(found[:25]) + (f"\n  ... {len(found) - 25} more" if len(found) > 25 else "")
            raise Stop(
                f"the portal and the floor answer {endpoint.label} ({endpoint.path}) differently: the floor must"
                f" answer the portal's body (bench/floor/views.py)\n  {shown}"
            )
        print(f"same body from both: {endpoint.label}")


# -- SQL per request --------------------------------------------------------------------------


def statements(endpoints: list[Endpoint], key: str, servers: list[int]) -> dict[tuple[str, str], int]:
    """The SQL statements of each endpoint's answer, portal's and floor's (in this process,
    the fewest of two requests after a first one that warms caches)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    counts = {}
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    for side, urls in (("portal", PORTAL_URLS), ("floor", FLOOR_URLS)):
        with override_settings(ROOT_URLCONF=urls):
            for endpoint in endpoints:
                seen: list[str] = []
                counted = []
                for attempt in range(3):
                    seen.clear()
                    with connection.execute_wrapper(
                        lambda run, sql, *rest, log=seen: log.append(sql) or run(sql, *rest)
                    ):
                        if endpoint.method == "POST":
                            body = {
                                "name": f"{CREATED_PREFIX}sql-{side}-{attempt}-{secrets.token_hex(4)}",
                                "servers": servers[attempt * 4 : attempt * 4 + MEMBERS_PER_CREATE],
                            }
                            answer = client.post(endpoint.path, body, content_type="application/json")
                        else:
                            answer = client.get(endpoint.path)
                    if answer.status_code // 100 != 2:
                        raise Stop(f"{side} {endpoint.label}: {answer.status_code} {answer.content[:300]!r}")
                    counted.append(len(seen))
                # The first warms the caches; the fewest of the others (a token's first use
                # in a minute also notes when).
                counts[(endpoint.key, side)] = min(counted[1:])
    delete_created()
    return counts


# -- wrk ---------------------------------------------------------------------------------------

_COUNT_NOT_2XX = """
-- Every answer outside 200-299 is counted (wrk's own count leaves 3xx out).
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    not_2xx = not_2xx + 1
    if first_status == 0 then first_status = status end
  end
end
function done(summary, latency, requests)
  local total, first = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("not_2xx")
    local status = thread:get("first_status")
    if first == 0 and status ~= 0 then first = status end
  end
  io.write(string.format("BENCH-NOT-2XX %d %d\\n", total, first))
end
"""

_READ = """
function init(args)
  not_2xx = 0
  first_status = 0
end
"""

_CREATE = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local servers = {%(servers)s}
function init(args)
  not_2xx = 0
  first_status = 0
  counter = 0
  math.randomseed(%(seed)d + id * 7919)
end
function request()
  counter = counter + 1
  local at = math.random(1, #servers - 3)
  local body = string.format('{"name":"%(prefix)s-%%d-%%d-%%d","servers":[%%d,%%d,%%d,%%d]}',
    id, counter, math.random(0, 999999), servers[at], servers[at + 1], servers[at + 2], servers[at + 3])
  return wrk.format(nil, nil, nil, body)
end
"""


def wrk_script(folder: Path, endpoint: Endpoint, servers: list[int], run: str) -> Path:
    if endpoint.method == "POST":
        text = _CREATE % {
            "servers": ",".join(map(str, servers)),
            "seed": secrets.randbelow(2**31),
            "prefix": f"{CREATED_PREFIX}{run}",
        }
    else:
        text = _READ
    path = folder / f"{endpoint.key}-{run}.lua"
    path.write_text(text + _COUNT_NOT_2XX)
    return path


def wrk(server: Server, endpoint: Endpoint, key: str, args: argparse.Namespace, script: Path, seconds: int) -> Figure:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "-s",
        str(script),
        "-H",
        f"Authorization: Token {key}",
        server.base + endpoint.path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    counted = re.search(r"BENCH-NOT-2XX (\d+) (\d+)", out)
    if done.returncode != 0 or rate is None or counted is None:
        raise Stop(f"wrk failed on {server.name} {endpoint.label} (exit {done.returncode}):\n{out}\n{done.stderr}")
    sockets = re.search(r"Socket errors: (.*)", out)
    return Figure(
        requests_per_second=float(rate.group(1)),
        not_2xx=int(counted.group(1)),
        first_status=int(counted.group(2)),
        socket_errors=sockets.group(1) if sockets else "",
    )


# -- the report --------------------------------------------------------------------------------


def describe(figure: Figure) -> str:
    text = f"{figure.requests_per_second:9.1f} req/s"
    if not figure.valid:
        text += f" INVALID: {figure.not_2xx} answers outside 2xx (first: {figure.first_status})"
    if figure.socket_errors:
        text += f" (socket errors: {figure.socket_errors})"
    return text


def report(
    results: Results,
    endpoints: list[Endpoint],
    sql: dict[tuple[str, str], int],
    args: argparse.Namespace,
    counts: dict[str, int],
) -> bool:
    """The table and the environment; whether every figure is valid."""
    import django
    import rest_framework
    from django.db import connection

    rows = []
    valid = True
    for endpoint in endpoints:
        portal = results.figures.get((endpoint.key, "portal"), [])
        floor = results.figures.get((endpoint.key, "floor"), [])
        if not portal or len(portal) != len(floor):
            continue
        ratios = [p.requests_per_second / f.requests_per_second for p, f in zip(portal, floor, strict=True)]
        ok = all(p.valid for p in portal) and all(f.valid for f in floor)
        valid = valid and ok
        rows.append(
            (
                endpoint.label,
                f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})" + ("" if ok else " INVALID"),
                f"{statistics.median(p.requests_per_second for p in portal):.1f}",
                f"{statistics.median(f.requests_per_second for f in floor):.1f}",
                f"{sql[(endpoint.key, 'portal')]} / {sql[(endpoint.key, 'floor')]}",
            )
        )
    header = ("endpoint", "portal / floor: median (min-max)", "portal req/s", "floor req/s", "SQL portal / floor")
    widths = [max(len(str(row[n])) for row in [header, *rows]) for n in range(len(header))]
    print()
    for n, row in enumerate([header, *rows]):
        print("| " + " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    gunicorn = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    print()
    print(
        f"Python {platform.python_version()}, Django {django.get_version()}, DRF {rest_framework.VERSION},"
        f" PostgreSQL {postgres}, {gunicorn} ({args.workers} sync workers each), {os.cpu_count()} CPUs"
    )
    print(
        f"{wrk_version.strip()}: -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds"
        f" (which goes first alternates), settings {PORTAL_SETTINGS} (floor: {FLOOR_SETTINGS})"
    )
    print(
        f"rows: {counts['all_load_balancers']:,} load balancers ({counts['load_balancers']:,} in bench teams,"
        f" {counts['user_lbs']:,} live ones seen by the user), {counts['members']:,} members,"
        f" {counts['servers']:,} OK bench servers; creates: {MEMBERS_PER_CREATE} servers each"
    )
    print(
        "SQL: statements per request through django.test.Client in this process (the connection health"
        " check's SELECT 1 under gunicorn, outside Django's cursor wrappers, is not counted)"
    )
    return valid


# -- the run -----------------------------------------------------------------------------------


def run(args: argparse.Namespace, var: Path) -> bool:
    env = environment(args, var)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    print("migrating and seeding ...")
    call_command("migrate", verbosity=0)
    counts = seeded(args)
    key, token_id = make_token()
    detail, servers = fixed_ids()
    endpoints = [
        Endpoint("page1", f"list page 1 ({PAGE})", "GET", f"{LIST}?limit={PAGE}"),
        Endpoint("deep", f"list at offset {DEEP_OFFSET:,}", "GET", f"{LIST}?limit={PAGE}&offset={DEEP_OFFSET}"),
        Endpoint("detail", "detail", "GET", f"{LIST}{detail}/"),
        Endpoint("create", "create", "POST", LIST),
    ]
    if args.only:
        endpoints = [endpoint for endpoint in endpoints if endpoint.key in args.only]
    started: list[Server] = []
    try:
        started.append(start("portal", "config.wsgi:application", PORTAL_SETTINGS, args.workers, env, var))
        started.append(start("floor", "bench.floor.wsgi:application", FLOOR_SETTINGS, args.workers, env, var))
        portal, floor = started
        for server in started:
            wait_ready(server, key)
        print(f"portal on {portal.base}, floor on {floor.base} ({args.workers} sync workers each)")
        check_same_bodies(portal, floor, endpoints, key)
        sql = statements(endpoints, key, servers)
        if args.warmup:
            for endpoint in endpoints:
                for server in started:
                    wrk(
                        server,
                        endpoint,
                        key,
                        args,
                        wrk_script(var, endpoint, servers, f"w{server.name[0]}"),
                        args.warmup,
                    )
            delete_created()
        results = Results()
        for number in range(1, args.rounds + 1):
            order = started if number % 2 else list(reversed(started))
            for endpoint in endpoints:
                for server in order:
                    script = wrk_script(var, endpoint, servers, f"r{number}{server.name[0]}")
                    figure = wrk(server, endpoint, key, args, script, args.duration)
                    results.add(endpoint.key, server.name, figure)
                    print(f"round {number:>2} {endpoint.label:<24} {server.name:<6} {describe(figure)}")
                    if endpoint.method == "POST":
                        time.sleep(0.5)  # the last requests wrk left behind are answered
                        delete_created()
        return report(results, endpoints, sql, args, counts)
    finally:
        for server in started:
            stop(server)
        for step, what in (
            (delete_created, "delete the rows the creates made"),
            (lambda: revoke_token(token_id), "revoke the token"),
        ):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - cleaning up: say what was left, go on
                print(f"bench/api.py: could not {what}: {exc}", file=sys.stderr)
        try:
            flush_redis(args.redis_db)
        except Exception as exc:  # noqa: BLE001
            print(f"bench/api.py: could not flush Redis database {args.redis_db}: {exc}", file=sys.stderr)


def flush_redis(db: int) -> None:
    import redis

    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=5).flushdb()


def main() -> None:
    args = arguments()

    def stopped(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stopped)
    var = Path(tempfile.mkdtemp(prefix="bench-api-"))
    (var / "static").mkdir()
    try:
        valid = run(args, var)
    except Stop as stopped_because:
        print(f"bench/api.py: {stopped_because}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench/api.py: interrupted; the servers are stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        shutil.rmtree(var, ignore_errors=True)
    if not valid:
        print("bench/api.py: some figures are INVALID (answers outside 2xx): see the rounds above", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
