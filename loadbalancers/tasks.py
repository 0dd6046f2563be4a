"""Thin Celery tasks: build the service, run one step, apply the retry policy.

Transient failures (the provider or the database briefly unavailable, a concurrent
writer) are retried with capped exponential backoff and jitter; once the retries
are spent the load balancer goes to ERROR with the reason, so no row stays PENDING
because a task gave up.  Permanent provider errors end in ERROR at once (the
service does that).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime
from uuid import UUID

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from loadbalancers import bootstrap
from loadbalancers.adapters import reconcile_passes, status_counts
from loadbalancers.adapters.metrics import FINDINGS
from loadbalancers.domain.errors import LoadBalancerNotFound
from portal import metrics
from portal.kernel.errors import DependencyUnavailable, StaleVersion

logger = logging.getLogger(__name__)

TRANSIENT = (DependencyUnavailable, StaleVersion, OperationalError, InterfaceError)


def backoff(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: 1, 2, 4, ... capped, with jitter."""
    return min(settings.LBAAS_RETRY_BACKOFF_CAP, 2.0**retries) * random.uniform(0.5, 1.0)


def _run_step(task: Task, step: str, lb_id: str) -> None:
    service = bootstrap.build().provisioning
    try:
        getattr(service, step)(UUID(lb_id))
    except LoadBalancerNotFound:
        logger.warning("%s: load balancer %s no longer exists", step, lb_id)
    except TRANSIENT as exc:
        message = getattr(exc, "message", str(exc))
        if task.request.retries >= settings.LBAAS_RETRY_MAX:
            metrics.task_gave_up(task.name)
            service.fail(UUID(lb_id), f"{message} (gave up after {task.request.retries + 1} attempts)")
            return
        metrics.task_retried(task.name)
        raise task.retry(exc=exc, countdown=backoff(task.request.retries)) from exc


@shared_task(bind=True, name="loadbalancers.provision", max_retries=None)
def provision(self: Task, lb_id: str) -> None:
    _run_step(self, "provision", lb_id)


@shared_task(bind=True, name="loadbalancers.apply_update", max_retries=None)
def apply_update(self: Task, lb_id: str) -> None:
    _run_step(self, "apply_update", lb_id)


@shared_task(bind=True, name="loadbalancers.deprovision", max_retries=None)
def deprovision(self: Task, lb_id: str) -> None:
    _run_step(self, "deprovision", lb_id)


@shared_task(bind=True, name="loadbalancers.follow", max_retries=None)
def follow(self: Task, lb_id: str) -> None:
    _run_step(self, "follow", lb_id)


@shared_task(bind=True, name="loadbalancers.follow_inventory", max_retries=None)
def follow_inventory(self: Task, server_id: int) -> None:
    """The load balancers using a server whose status changed follow the inventory.  A
    transient failure is retried a few times; after that the reconciler's pass catches up."""
    try:
        bootstrap.build().provisioning.follow_inventory(server_id=int(server_id))
    except TRANSIENT as exc:
        if self.request.retries >= settings.LBAAS_RETRY_MAX:
            metrics.task_gave_up(self.name)
            logger.warning("follow_inventory for server %s gave up (the reconciler catches up): %s", server_id, exc)
            return
        metrics.task_retried(self.name)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="loadbalancers.reconcile")
def reconcile() -> dict[str, int]:
    """One reconcile pass, measured (metrics) and recorded (a ReconcilePass row), even
    when it stops on an error."""
    started_at, started = timezone.now(), time.perf_counter()
    try:
        report = bootstrap.build().reconciliation.reconcile()
    except Exception as stopped:
        _passed(started_at, started, {}, unreachable=[], failed=[f"the pass stopped: {stopped}"], stopped=True)
        raise
    counts = {name: len(found) for name, found in vars(report).items()}
    _passed(started_at, started, counts, unreachable=report.unreachable, failed=report.failed, stopped=False)
    if any(counts.values()):
        logger.info("reconciled: %s", report)
    return counts


def _passed(
    started_at: datetime,
    started: float,
    counts: dict[str, int],
    *,
    unreachable: list[str],
    failed: list[str],
    stopped: bool,
) -> None:
    findings = {name: counts.get(name, 0) for name in FINDINGS}
    findings.update(unreachable=len(unreachable), failed=len(failed))
    bootstrap.observations().reconcile_passed(seconds=time.perf_counter() - started, findings=findings, failed=stopped)
    try:
        reconcile_passes.create_one(
            started_at=started_at, finished_at=timezone.now(), counts=counts, unreachable=unreachable, failed=failed
        )
    except DatabaseError:
        logger.warning("the reconcile pass was not recorded", exc_info=True)


@shared_task(name="loadbalancers.count_statuses")
def count_statuses() -> int:
    """The snapshot of load balancers by provider and statuses (dashboard, /metrics)."""
    return status_counts.take_snapshot(timezone.now())
