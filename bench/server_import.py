"""What a server inventory import and export cost.

* Importing N new servers from one CSV file through ``POST /api/v1/servers/import/``.
* Importing the same file again with every status changed (N updates: the events, the
  audit trail and the load balancers' follow-up hand-over, as with single writes).
* Importing it once more unchanged (only the checks).
* Exporting the inventory as CSV (``GET /api/v1/servers/?format=csv``), streamed.

Runs against a throw-away SQLite database (or DATABASE_URL if set); the work is handed
to no worker (the broker's hand-over is recorded, not sent).

    .venv/bin/python bench/server_import.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import django_ready, var_dir


def csv_file(rows: int, status: str, prefix: str = "imp", network: int = 64) -> bytes:
    """``rows`` servers named ``prefix-000000``… in 100.``network``.0.0/10 (shared address
    space, which no other bench data uses)."""
    lines = ["name,address,port,status"]
    lines += [
        f"{prefix}-{n:06},100.{network + n // 65536 % 32}.{n // 256 % 256}.{n % 256},8080,{status}" for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000, help="servers in the file")
    args = parser.parse_args()

    folder, _ = var_dir("bench-")
    os.environ.setdefault("API_THROTTLE_USER", "1000000/minute")
    os.environ.setdefault("SERVER_IMPORT_MAX_ROWS", str(max(args.rows, 50_000)))
    django_ready()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from audit.models import AuditEntry
    from servers.models import Server
    from tests.factories import UserFactory

    user = get_user_model().objects.filter(username="bench-import").first() or UserFactory(
        username="bench-import", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    Server.objects.filter(name__startswith="imp-").delete()  # an earlier run's
    Server.objects.filter(name__startswith="impcore-").delete()
    sent: list[object] = []

    def measure(call):  # type: ignore[no-untyped-def]
        queries: list[str] = []
        with connection.execute_wrapper(lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)):
            start = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - start
        return result, elapsed, len(queries)

    def imported(body: bytes):  # type: ignore[no-untyped-def]
        answer = client.post("/api/v1/servers/import/", body, content_type="text/csv")
        assert answer.status_code == 200, answer.content[:500]
        return answer.json()

    def exported() -> int:
        answer = client.get("/api/v1/servers/?format=csv&search=imp-")
        return sum(len(chunk) for chunk in answer.streaming_content)

    first, changed = csv_file(args.rows, "OK"), csv_file(args.rows, "MAINTENANCE")
    print(f"database: {connection.vendor}; {args.rows} servers, file {len(first) / 1e6:.2f} MB")
    print(f"{'what':<40} {'seconds':>8} {'queries':>8}  answer")
    audit_before = AuditEntry.objects.count()
    with mock.patch("loadbalancers.adapters.scheduler.CeleryTaskScheduler._send", lambda *a, **k: sent.append(a)):
        for what, body in (("import, all new", first), ("import, every status changed", changed)):
            result, seconds, queries = measure(lambda body=body: imported(body))
            print(f"{what:<40} {seconds:>8.2f} {queries:>8}  {result}")
        result, seconds, queries = measure(lambda: imported(changed))
        print(f"{'import, unchanged':<40} {seconds:>8.2f} {queries:>8}  {result}")
        size, seconds, queries = measure(exported)
        print(f"{'export CSV (streamed)':<40} {seconds:>8.2f} {queries:>8}  {size / 1e6:.2f} MB")
    core_import(args.rows, measure)
    print(f"audit entries written: {AuditEntry.objects.count() - audit_before}; hand-overs to workers: {len(sent)}")
    print(f"(state in {folder})")


def core_import(rows: int, measure) -> None:  # type: ignore[no-untyped-def]
    """The import use case alone, with no subscriber hearing its events: what the
    import costs itself (parse, checks, lookups, bulk writes), beside what the audit
    trail and notifications cost after commit (one event per server, as single writes)."""
    from portal.kernel.actors import Actor
    from servers import bootstrap
    from servers.application.files import read_import

    body = csv_file(rows, "OK", prefix="impcore", network=96)
    actor = Actor(user_id=None, username="bench", sees_all=True, changes_all=True)
    service = bootstrap.build(subscribers={})
    payload, seconds, _ = measure(lambda: read_import(body, "csv", bootstrap.import_limits()))
    print(f"{'read the CSV file (core)':<40} {seconds:>8.2f}")
    result, seconds, queries = measure(lambda: service.import_batch(actor, payload))
    print(f"{'import, all new, no subscribers (core)':<40} {seconds:>8.2f} {queries:>8}  {result}")


if __name__ == "__main__":
    main()
