"""What recording every change costs a write: the audit entry (with its retention rule
pruning as it goes) and the notifier's look for webhooks, per event and per load
balancer update, against a throw-away SQLite database (or DATABASE_URL if set).

    .venv/bin/python bench/events.py [--writes 2000] [--rows 1000]

Prints the latency of one audit write (median, p95, max: the prunes fall in the tail),
how many entries the trail holds at the end, and a load balancer update through the
service with and without the audit trail and notifications subscribed (the difference is
what the events cost a user's request; the work at the provider is not part of it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import django_ready, var_dir


def figures(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):6.2f} ms   p95 {p95:6.2f} ms   max {ordered[-1]:6.2f} ms"


class _NoScheduler:
    """The workers' hand-over is not what is measured here."""

    def provision(self, lb_id):  # type: ignore[no-untyped-def]
        pass

    apply_update = deprovision = provision

    def follow(self, lb_id, *, delay):  # type: ignore[no-untyped-def]
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=2000, help="audit entries to write")
    parser.add_argument("--rows", type=int, default=1000, help="AUDIT_RETENTION_ROWS")
    parser.add_argument("--updates", type=int, default=200, help="load balancer updates, each way")
    args = parser.parse_args()

    var_dir("bench-")
    django_ready()
    from dataclasses import replace

    from django.db import connection
    from django.utils import timezone

    from audit import bootstrap as audit_bootstrap
    from audit import models as audit_models
    from audit.domain.model import RetentionPolicy
    from loadbalancers import bootstrap
    from loadbalancers.application.payloads import CreateLoadBalancer, UpdateLoadBalancer
    from loadbalancers.domain.model import LoadBalancer
    from portal.kernel.events import Change, Context
    from servers.domain.events import ServerStatusChanged
    from tests.factories import ServerFactory, UserFactory

    audit = audit_bootstrap.build(policy=RetentionPolicy(rows=args.rows))
    context = Context(actor_id=1, actor="bench", source="api", request_id="bench", at=timezone.now())
    event = replace(
        ServerStatusChanged(target_id="1", target_name="web-1", changes=(Change("status", "OK", "DOWN"),)),
        context=context,
    )
    timings = []
    for _ in range(args.writes):
        start = time.perf_counter()
        audit.record(event)
        timings.append((time.perf_counter() - start) * 1000)
    print(
        f"database: {connection.vendor}; AUDIT_RETENTION_ROWS={args.rows} (pruned every {audit._policy.every} writes)"
    )
    print(f"one audit write ({args.writes}):        {figures(timings)}")
    print(f"entries kept: {audit_models.AuditEntry.objects.count()}")

    user = UserFactory(username="bench-events")
    servers = [s.pk for s in ServerFactory.create_batch(3)]
    actor = bootstrap.actor_of(user)
    results = {}
    for label, subscribers in (("without events' subscribers", {}), ("with audit + notifications", None)):
        overrides = {"scheduler": _NoScheduler()}
        if subscribers is not None:
            overrides["subscribers"] = subscribers
        service = bootstrap.build(**overrides).load_balancers
        steps = bootstrap.build(**overrides).provisioning
        view = service.create_one(actor, CreateLoadBalancer(name=f"bench-{len(results)}", servers=servers[:2]))
        timings = []
        for n in range(args.updates):
            steps.record(
                view.id,
                lambda lb: LoadBalancer.mark_active(
                    lb, vip_address="198.51.100.1", operating_status=lb.operating_status
                ),
            )
            start = time.perf_counter()
            service.update_one(actor, view.id, UpdateLoadBalancer(description=f"update {n}"))
            timings.append((time.perf_counter() - start) * 1000)
        results[label] = statistics.median(timings)
        print(f"load balancer update, {label:<28} {figures(timings)}")
    extra = results["with audit + notifications"] - results["without events' subscribers"]
    print(f"what the events add to a user's write (median): {extra:+.2f} ms")


if __name__ == "__main__":
    main()
