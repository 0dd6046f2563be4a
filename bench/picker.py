"""How long the server picker takes with a large inventory: the create page (which renders
the first matching servers) and the search endpoint its script calls as the user types,
with the queries each costs and the size of what it sends.  Runs against a throw-away
SQLite database (or DATABASE_URL if set).

    .venv/bin/python bench/picker.py [--servers 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import django_ready, var_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=100_000, help="servers in the inventory")
    parser.add_argument("--repeat", type=int, default=20, help="requests per address")
    args = parser.parse_args()

    folder, throw_away = var_dir("bench-picker-")
    try:
        measure(args)
    finally:
        if throw_away:  # its SQLite database holds the whole inventory: leave nothing behind
            shutil.rmtree(folder, ignore_errors=True)


def measure(args: argparse.Namespace) -> None:
    django_ready()
    from django.db import connection, transaction
    from django.test import Client

    from servers.models import Server
    from tests.factories import UserFactory

    Server.objects.all().delete()
    start = time.perf_counter()
    with transaction.atomic():
        Server.objects.bulk_create(
            (
                Server(
                    name=f"web-{i:06d}",
                    address=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                    port=8080,
                    status="DOWN" if i % 10 == 0 else "OK",
                )
                for i in range(1, args.servers + 1)
            ),
            batch_size=5000,
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE servers_server")
    seeded = time.perf_counter() - start
    user = UserFactory(username="bench-picker")
    client = Client()
    client.force_login(user)

    last = f"web-{args.servers:06d}"
    urls = {
        "create page": "/load-balancers/new/",
        f"create page, search {last}": f"/load-balancers/new/?server_search={last}",
        "search endpoint, no search": "/load-balancers/server-choices/",
        "search endpoint, 'web-01' (many)": "/load-balancers/server-choices/?server_search=web-01",
        f"search endpoint, {last} (one)": f"/load-balancers/server-choices/?server_search={last}",
        "search endpoint, DOWN status": "/load-balancers/server-choices/?server_status=DOWN",
        "search endpoint, no match": "/load-balancers/server-choices/?server_search=nothing-like-it",
    }
    print(f"database: {connection.vendor}; {args.servers:,} servers (made in {seeded:.1f} s); {args.repeat} requests")
    print(f"{'request':<42} {'queries':>8} {'KiB':>6} {'median ms':>10} {'p95 ms':>8}")
    for label, url in urls.items():
        assert client.get(url).status_code == 200, url  # what only a first request does is not counted
        queries: list[str] = []
        with connection.execute_wrapper(lambda run, sql, *rest, log=queries: log.append(sql) or run(sql, *rest)):
            first = client.get(url)
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
        size = len(first.content) / 1024
        print(f"{label:<42} {len(queries):>8} {size:>6.1f} {statistics.median(timings):>10.1f} {p95:>8.1f}")
    connection.close()


if __name__ == "__main__":
    main()
