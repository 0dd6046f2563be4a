"""What a batch saves, and what drift detection costs the reconciler.

* Creating N load balancers through the API: one ``POST /load-balancers/batch/`` against
  N ``POST /load-balancers/`` (time and queries), and deleting them again with one
  ``POST /load-balancers/batch-delete/``.
* One reconcile pass over R ACTIVE sandbox load balancers: with no drift, and with every
  one of them drifted (each pass then stores its drift records).

Runs against a throw-away SQLite database (or DATABASE_URL if set); the work is handed
to no worker (the broker's hand-over is recorded, not sent).

    .venv/bin/python bench/batch.py [--items 100] [--rows 300]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100, help="load balancers per batch (at most 100)")
    parser.add_argument("--rows", type=int, default=300, help="ACTIVE load balancers for the reconcile pass")
    args = parser.parse_args()

    folder, _ = var_dir("bench-")
    os.environ.setdefault("API_THROTTLE_USER", "1000000/minute")
    os.environ.setdefault("SANDBOX_LBAAS_DELAY", "0")
    os.environ.setdefault("SANDBOX_LBAAS_VIP_RANGE", "198.18.0.0/15")
    os.environ.setdefault("TEAM_QUOTA_LOAD_BALANCERS", "100000")
    django_ready()
    from django.db import connection
    from django.test import Client

    from accounts.models import Membership, Team
    from loadbalancers import models
    from tests.factories import ServerFactory, UserFactory

    user = UserFactory(username="bench", is_staff=True, is_superuser=True)
    team = Team.objects.create(slug="bench-team", name="Bench")
    Membership.objects.create(team=team, user=user, role="owner")
    servers = [s.pk for s in ServerFactory.create_batch(3)]
    client = Client()
    client.force_login(user)
    sent: list[str] = []

    def measure(call):  # type: ignore[no-untyped-def]
        queries: list[str] = []
        with connection.execute_wrapper(lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)):
            start = time.perf_counter()
            result = call()
            elapsed = (time.perf_counter() - start) * 1000
        return result, elapsed, len(queries)

    def body(prefix: str, n: int) -> dict[str, object]:
        return {"name": f"{prefix}-{n}", "servers": servers, "team": "bench-team"}

    print(f"database: {connection.vendor}; {args.items} load balancers of 3 members each")
    print(f"{'what':<44} {'ms':>9} {'queries':>8}")
    # The hand-over to the workers is recorded, not sent: the bench measures the portal.
    with mock.patch("loadbalancers.adapters.scheduler.CeleryTaskScheduler._send", lambda *a, **k: sent.append(a)):
        items = [body("batch", n) for n in range(args.items)]
        response, ms, queries = measure(
            lambda: client.post("/api/v1/load-balancers/batch/", {"items": items}, content_type="application/json")
        )
        assert response.status_code == 202, response.content[:300]
        print(f"{f'one batch of {args.items}':<44} {ms:>9.1f} {queries:>8}")

        def one_by_one():  # type: ignore[no-untyped-def]
            for n in range(args.items):
                answer = client.post("/api/v1/load-balancers/", body("single", n), content_type="application/json")
                assert answer.status_code == 202, answer.content[:300]

        _, ms, queries = measure(one_by_one)
        print(f"{f'{args.items} single creates':<44} {ms:>9.1f} {queries:>8}")

        ids = [
            str(pk) for pk in models.LoadBalancer.objects.filter(name__startswith="batch-").values_list("pk", flat=True)
        ]
        models.LoadBalancer.objects.filter(pk__in=ids).update(provisioning_status="ACTIVE")
        response, ms, queries = measure(
            lambda: client.post("/api/v1/load-balancers/batch-delete/", {"ids": ids}, content_type="application/json")
        )
        assert response.status_code == 202, response.content[:300]
        print(f"{f'one batch delete of {args.items}':<44} {ms:>9.1f} {queries:>8}")

    with mock.patch("loadbalancers.adapters.scheduler.CeleryTaskScheduler._send", lambda *a, **k: sent.append(a)):
        reconcile_pass(args.rows, servers, user, measure)
    print(f"(state in {folder})")


def reconcile_pass(rows: int, servers: list[int], user, measure) -> None:  # type: ignore[no-untyped-def]
    """R load balancers made ACTIVE at the sandbox, then one pass without drift and one
    with every one drifted (the sandbox's file changed behind the portal's back)."""
    import json
    import sqlite3

    from django.conf import settings

    from loadbalancers import bootstrap, models
    from loadbalancers.application.payloads import CreateBatch, CreateLoadBalancer

    service = bootstrap.build()
    actor = bootstrap.actor_of(user)
    made = 0
    while made < rows:
        count = min(100, rows - made)
        items = {
            n: CreateLoadBalancer(name=f"rec-{made + n}", servers=servers, team="bench-team") for n in range(count)
        }
        for view in service.load_balancers.create_batch(actor, CreateBatch(items=items)):
            service.provisioning.provision(view.id)
            service.provisioning.follow(view.id)
        made += count
    active = models.LoadBalancer.objects.filter(name__startswith="rec-", provisioning_status="ACTIVE").count()
    _, ms, queries = measure(service.reconciliation.reconcile)
    print(f"{f'reconcile {active} ACTIVE, no drift':<44} {ms:>9.1f} {queries:>8}")

    with sqlite3.connect(settings.SANDBOX_LBAAS["path"]) as db:
        for ref, spec in db.execute("SELECT ref, spec FROM load_balancers").fetchall():
            changed = {**json.loads(spec), "algorithm": "SOURCE_IP"}
            db.execute("UPDATE load_balancers SET spec = ? WHERE ref = ?", (json.dumps(changed), ref))
    report, ms, queries = measure(service.reconciliation.reconcile)
    print(f"{f'reconcile {active} ACTIVE, all drifted (found)':<44} {ms:>9.1f} {queries:>8}")
    report, ms, queries = measure(service.reconciliation.reconcile)
    print(f"{f'reconcile {active} ACTIVE, all drifted (again)':<44} {ms:>9.1f} {queries:>8}")
    assert len(report.drifted) == active, (len(report.drifted), active)


if __name__ == "__main__":
    main()
