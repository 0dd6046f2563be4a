"""Where a create's time goes, against the floor: one client in this process (no wrk, no
gunicorn), interleaved rounds of three variants over the same data as ``bench/api.py``:

* ``portal``: ``POST /api/v1/load-balancers/`` through the portal (DRF, the service, the
  domain model, the unit of work and the after-commit steps);
* ``floor``: the same request through the floor (``bench/floor``: token, servers,
  INSERT, members' INSERT, one transaction);
* ``floor + design``: the floor plus only the steps ARCHITECTURE.md and the quotas require
  of every create, written as plainly as the floor: the team locked and its usage read in
  the transaction; after commit, the work handed to the broker (the portal's Celery
  scheduler, on Redis), the audit entry stored and the team's webhooks read.

The last ratio is the most any implementation of that design can reach over the floor's
code; the portal's own code (DRF, the service, the domain model) comes on top of it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/benchapi .venv/bin/python bench/create_budget.py \\
        [--rounds 5] [--requests 400] [--reuse]

Needs PostgreSQL (DATABASE_URL) and Redis on 127.0.0.1:6379 (database 9, flushed at
the end).  It prints figures; nothing asserts them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import api  # noqa: E402

VARIANTS = ("portal", "floor", "floor + design")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--requests", type=int, default=400, help="creates per variant and round (default 400)")
    parser.add_argument("--reuse", action="store_true", help="keep the bench data there if it has this size")
    args = parser.parse_args()
    for name, low, high in (("rounds", 1, 100), ("requests", 10, 100_000)):
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name} must be between {low} and {high}")
    return args


@contextlib.contextmanager
def design_steps(team_id: int) -> Iterator[None]:
    """The floor's transaction with the design's steps around it (see the docstring)."""
    from django.db import transaction
    from django.utils import timezone

    import bench.floor.views as floor
    from accounts.models import Team
    from audit.models import AuditEntry
    from loadbalancers.adapters.scheduler import CeleryTaskScheduler
    from loadbalancers.models import TeamUsage
    from notifications.adapters.repositories import DjangoSubscriptions

    scheduler = CeleryTaskScheduler()

    @contextlib.contextmanager
    def atomic() -> Iterator[None]:
        with transaction.atomic():
            list(Team.objects.select_for_update().filter(pk=team_id).values_list("id", "slug"))
            TeamUsage.objects.filter(team_id=team_id).values_list("live_load_balancers", flat=True).first()
            yield
            scheduler.provision(uuid4())  # sent on commit, bounded, as the portal sends it
        name = f"{api.CREATED_PREFIX}budget"
        AuditEntry.objects.create(
            at=timezone.now(),
            actor_id=None,
            actor="bench",
            source="api",
            team_id=team_id,
            action="load_balancer.created",
            target_type="load_balancer",
            target_id=name,
            target_name=name,
            message="created",
        )
        DjangoSubscriptions().enabled([team_id])

    plain = floor.transaction
    floor.transaction = SimpleNamespace(atomic=atomic)  # type: ignore[assignment]
    try:
        yield
    finally:
        floor.transaction = plain


def timed(creates: int, post: Callable[[int], None]) -> float:
    """Milliseconds per create."""
    started = time.perf_counter()
    for number in range(creates):
        post(number)
    return (time.perf_counter() - started) / creates * 1000


def main() -> int:
    args = arguments()
    var = Path(tempfile.mkdtemp(prefix="create-budget-"))
    env = api.environment(SimpleNamespace(redis_db=9), var)  # type: ignore[arg-type]
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.models import Team

    call_command("migrate", verbosity=0)
    api.seeded(SimpleNamespace(load_balancers=10_000, per_team=10_000, reuse=args.reuse))
    key, token_id = api.make_token()
    _, servers = api.fixed_ids()
    team_id = Team.objects.get(slug="bench-1").id
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    shuffle = random.Random(7)

    def post(number: int) -> None:
        at = shuffle.randrange(len(servers) - api.MEMBERS_PER_CREATE)
        body = {
            "name": f"{api.CREATED_PREFIX}b-{number}-{shuffle.randrange(10**9)}",
            "servers": servers[at : at + api.MEMBERS_PER_CREATE],
        }
        answer = client.post(api.LIST, body, content_type="application/json")
        if answer.status_code != 202:
            raise api.Stop(f"a create answered {answer.status_code}: {answer.content[:300]!r}")

    def variant(name: str) -> contextlib.AbstractContextManager[object]:
        if name == "portal":
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        stack.enter_context(override_settings(ROOT_URLCONF=api.FLOOR_URLS))
        if name == "floor + design":
            stack.enter_context(design_steps(team_id))
        return stack

    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        for name in VARIANTS:  # warm-up: imports, connections, compiled plans
            with variant(name):
                timed(30, post)
        for number in range(1, args.rounds + 1):
            order = VARIANTS if number % 2 else VARIANTS[::-1]
            for name in order:
                with variant(name):
                    times[name].append(timed(args.requests, post))
            print(f"round {number}: " + ", ".join(f"{name} {times[name][-1]:.2f} ms" for name in VARIANTS))
            api.delete_created()
    finally:
        api.revoke_token(token_id)
        api.delete_created()
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()

    def ratio(faster: str, slower: str) -> str:
        found = [times[faster][n] / times[slower][n] for n in range(args.rounds)]
        return f"{statistics.median(found):.2f} ({min(found):.2f}-{max(found):.2f})"

    print()
    print("| variant | ms per create, median | floor / variant: median (min-max) |")
    print("|---|---|---|")
    for name in VARIANTS:
        print(f"| {name} | {statistics.median(times[name]):.2f} | {ratio('floor', name)} |")
    print(f"\nportal / (floor + design): {ratio('floor + design', 'portal')}")
    print(f"one client in this process, {args.rounds} interleaved rounds of {args.requests} creates each")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except api.Stop as stop:
        print(f"bench/create_budget.py: {stop}", file=sys.stderr)
        sys.exit(2)
