"""The record of reconcile passes (models.ReconcilePass, the ops dashboard): one row a
pass, the newest KEEP kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loadbalancers import models

KEEP = 1000


def create_one(
    *,
    started_at: datetime,
    finished_at: datetime,
    counts: dict[str, int],
    unreachable: Sequence[str],
    failed: Sequence[str],
) -> models.ReconcilePass:
    """Store a pass (``counts``: resumed, timed_out, lost, drifted, repaired,
    orphans_found, orphans_deleted) and forget those older than the newest KEEP."""
    stored = models.ReconcilePass.objects.create(
        started_at=started_at,
        finished_at=finished_at,
        unreachable=list(unreachable),
        failed=[str(line) for line in failed],
        **{name: counts.get(name, 0) for name in COUNTED},
    )
    prune()
    return stored


COUNTED = ("resumed", "timed_out", "lost", "drifted", "repaired", "orphans_found", "orphans_deleted")


def prune(keep: int = KEEP) -> int:
    """Delete all but the newest ``keep`` passes; how many were deleted."""
    oldest_kept = models.ReconcilePass.objects.order_by("-started_at", "-id").values_list("started_at", "id")[
        keep - 1 : keep
    ]
    boundary = next(iter(oldest_kept), None)
    if boundary is None:
        return 0
    started_at, pass_id = boundary
    older = models.ReconcilePass.objects.filter(started_at__lt=started_at) | models.ReconcilePass.objects.filter(
        started_at=started_at, id__lt=pass_id
    )
    deleted, _ = older.delete()
    return deleted
