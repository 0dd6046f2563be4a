"""How long the load balancer lists take (API, web page, admin changelist), and how
many queries each costs, on a table of a given size.  Runs against a throw-away SQLite
database (or DATABASE_URL if set).

    .venv/bin/python bench/lists.py [--rows 2000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import django_ready, var_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000, help="load balancers in the table")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page size")
    args = parser.parse_args()

    var_dir("bench-")
    os.environ.setdefault("API_THROTTLE_USER", "1000000/minute")
    django_ready()
    from django.db import connection, transaction
    from django.test import Client

    from loadbalancers import models
    from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory

    user = UserFactory(username="bench", is_staff=True, is_superuser=True)
    servers = ServerFactory.create_batch(5)
    with transaction.atomic():
        rows = LoadBalancerRowFactory.create_batch(args.rows, created_by=user)
    models.Member.objects.bulk_create(
        [models.Member(load_balancer=lb, server=s, position=p) for lb in rows for p, s in enumerate(servers[:3])],
        batch_size=2000,
    )
    client = Client()
    client.force_login(user)

    print(f"database: {connection.vendor}; {args.rows} load balancers with 3 members each; {args.repeat} requests each")
    print(f"{'list':<28} {'queries':>8} {'median ms':>10} {'p95 ms':>8}")
    urls = {f"API, limit {n}": f"/api/v1/load-balancers/?limit={n}" for n in (10, 50, 200, 1000)}
    urls["web page (25 rows)"] = "/load-balancers/"
    urls["admin changelist (100 rows)"] = "/admin/loadbalancers/loadbalancer/"
    for label, url in urls.items():
        queries: list[str] = []
        with connection.execute_wrapper(lambda run, sql, *rest, log=queries: log.append(sql) or run(sql, *rest)):
            assert client.get(url).status_code == 200
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{label:<28} {len(queries):>8} {statistics.median(timings):>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
