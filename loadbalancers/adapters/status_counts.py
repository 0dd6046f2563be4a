"""The snapshot of how many load balancers each provider has in each pair of statuses
(models.StatusCount), taken by the scheduler every STATUS_COUNT_INTERVAL seconds: one
grouped count of the table, so that the ops dashboard and /metrics never count it."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count

from loadbalancers import models


def take_snapshot(now: datetime) -> int:
    """Count again and replace the snapshot in one transaction (readers see the old
    one or the new one, never half); the number of load balancers counted."""
    rows = (
        models.LoadBalancer.objects.order_by()
        .values_list("provider", "provisioning_status", "operating_status")
        .annotate(found=Count("pk"))
    )
    counted = [
        models.StatusCount(
            provider=provider,
            provisioning_status=provisioning,
            operating_status=operating,
            count=found,
            counted_at=now,
        )
        for provider, provisioning, operating, found in rows
    ]
    with transaction.atomic():
        models.StatusCount.objects.all().delete()
        models.StatusCount.objects.bulk_create(counted)
    return sum(row.count for row in counted)
