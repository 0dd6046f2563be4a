"""Whether the lists stay flat as the table grows: the same requests against two
databases seeded by ``manage.py seed_bench`` (a small one and a large one), side by side
in this process (Django's test client, no network), with the p50 and p99 of each and the
large/small ratio of the p99s; and the admin's load balancer changelist.

    .venv/bin/python bench/scale.py \\
        --small postgres://postgres@127.0.0.1:5432/scale_10k \\
        --large postgres://postgres@127.0.0.1:5432/scale_1m \\
        [--seed] [--requests 200]

``--seed`` seeds both first: 10,000 load balancers (all in the bench user's team) and
1,000,000 (100,000 in the user's team), 4 members each.  The requests, as the bench user
(a member of team bench-1) through the API and the pages, and as a superuser in the
admin:

* list page 1; sorted by name; filtered by status (ERROR, about 5%); searched by a name
  fragment (one load balancer's); the page after a cursor deep in the list; the HTML
  list page; a detail; a create (then deleted);
* the admin changelist (100 rows, unfiltered), the admin's index (the ops dashboard) and
  a scrape of /metrics;
* the status snapshot the scheduler takes for the dashboard and /metrics (once).

Prints figures; judges nothing.  PostgreSQL only (the scale is PostgreSQL's to carry).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import var_dir

REQUESTS = {
    "list page 1": "/api/v1/load-balancers/?limit=50",
    "sort by name": "/api/v1/load-balancers/?limit=50&sort_by=name",
    "filter by status": "/api/v1/load-balancers/?limit=50&provisioning_status=ERROR",
    "search by name": "/api/v1/load-balancers/?limit=50&search={fragment}",
    "deep page (cursor)": "/api/v1/load-balancers/?limit=50&cursor={cursor}",
    "HTML list page": "/load-balancers/",
    "detail": "/api/v1/load-balancers/{detail}/",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(client, url: str, count: int, **extra) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    from django.db import connections

    queries: list[str] = []
    with connections["default"].execute_wrapper(lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)):
        response = client.get(url, **extra)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url, **extra)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), percentile(timings, 0.99), len(queries)


def measure_creates(client, count: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Creates of 4 OK servers each, as the bench user; their rows are deleted after."""
    from loadbalancers import models
    from servers.models import Server

    servers = list(Server.objects.filter(name__startswith="bench-srv-", status="OK").values_list("pk", flat=True)[:4])
    timings = []
    try:
        for n in range(count + 1):
            body = {"name": f"scale-new-{n}", "servers": servers}
            start = time.perf_counter()
            response = client.post("/api/v1/load-balancers/", body, content_type="application/json")
            if n:  # the first warms up
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 202, response.content[:300]
    finally:
        models.LoadBalancer.objects.filter(name__startswith="scale-new-").delete()
    return statistics.median(timings), percentile(timings, 0.99), 0


def run_on(url: str, count: int) -> dict[str, tuple[float, float, int]]:
    """The figures of every request against the database at ``url``."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from accounts import bootstrap as accounts
    from loadbalancers import models
    from loadbalancers.adapters import status_counts

    connections.close_all()
    settings.DATABASES["default"].update(_database(url))
    del connections["default"]
    user = get_user_model().objects.get(username="bench")
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    from accounts.application.payloads import CreateToken

    actor = accounts.actor_of(user, "accounts.apitoken")
    _, key = accounts.build().tokens.create_one(actor, CreateToken(description="bench/scale.py"))
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    pages, ops = Client(), Client()
    pages.force_login(user)
    ops.force_login(admin)
    team = models.LoadBalancer.objects.filter(team__slug="bench-1").exclude(provisioning_status="DELETED")
    middle = team.order_by("-created_at", "-pk").values_list("id", "name")[team.count() // 2]
    first = api.get("/api/v1/load-balancers/?limit=50").json()
    deep = first
    for _ in range(3):  # a few pages in; the cursor's cost does not depend on how deep
        deep = api.get(f"/api/v1/load-balancers/?limit=50&cursor={deep['next_cursor']}").json()
    values = {"fragment": middle[1][-9:], "cursor": deep["next_cursor"], "detail": middle[0]}
    figures = {
        label: measure(api if path.startswith("/api") else pages, path.format(**values), count)
        for label, path in REQUESTS.items()
    }
    figures["admin changelist"] = measure(ops, "/admin/loadbalancers/loadbalancer/", max(20, count // 5))
    started = time.perf_counter()
    status_counts.take_snapshot(timezone.now())  # what the scheduler does every STATUS_COUNT_INTERVAL
    snapshot = (time.perf_counter() - started) * 1000
    figures["status snapshot"] = (snapshot, snapshot, 0)
    figures["admin dashboard"] = measure(ops, "/admin/", max(20, count // 5))
    settings.METRICS_TOKEN, settings.METRICS_ALLOW_UNAUTHENTICATED = "", True  # this process only
    figures["/metrics"] = measure(Client(), "/metrics", max(20, count // 5))
    figures["create"] = measure_creates(api, max(20, count // 5))
    figures["list page 1 total"] = (float(first["total"]), float(first["total_is_estimate"]), 0)
    return figures


def _database(url: str) -> dict:  # type: ignore[type-arg]
    import environ

    return environ.Env.db_url_config(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", required=True, help="DATABASE_URL of the small database")
    parser.add_argument("--large", required=True, help="DATABASE_URL of the large database")
    parser.add_argument("--seed", action="store_true", help="seed both first (10,000 and 1,000,000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per figure")
    args = parser.parse_args()
    if not all(url.startswith("postgres") for url in (args.small, args.large)):
        sys.exit("bench/scale.py measures PostgreSQL: give postgres:// URLs")

    var_dir("bench-scale-")
    os.environ["DATABASE_URL"] = args.small
    os.environ.setdefault("API_THROTTLE_USER", "1000000/second")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)  # the events each create logs
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    settings.ALLOWED_HOSTS = ["testserver"]
    sizes = {args.small: (10_000, 10_000), args.large: (1_000_000, 100_000)}
    for url in (args.small, args.large):
        connections.close_all()
        settings.DATABASES["default"].update(_database(url))
        del connections["default"]
        call_command("migrate", verbosity=0)
        if args.seed:
            total, per_team = sizes[url]
            call_command("seed_bench", load_balancers=total, per_team=per_team, replace=True)
            with connections["default"].cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    small, large = run_on(args.small, args.requests), run_on(args.large, args.requests)
    print(f"{'request':<22} {'small p50':>10} {'p99':>8} {'large p50':>10} {'p99':>8} {'p99 ratio':>9} {'queries':>8}")
    for label in [*REQUESTS, "admin changelist", "admin dashboard", "/metrics", "create", "status snapshot"]:
        (p50_s, p99_s, q_s), (p50_l, p99_l, q_l) = small[label], large[label]
        queries = f"{q_s:>3} / {q_l:<3}" if q_s else ("  (writes)" if label == "create" else "")
        ratio = p99_l / p99_s
        print(f"{label:<22} {p50_s:>8.1f}ms {p99_s:>6.1f}ms {p50_l:>8.1f}ms {p99_l:>6.1f}ms {ratio:>9.2f} {queries}")
    for name, figures in (("small", small), ("large", large)):
        total, estimate, _ = figures["list page 1 total"]
        print(f"{name}: list page 1 says total {int(total):,}" + (" (an estimate)" if estimate else " (exact)"))


if __name__ == "__main__":
    main()
