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
from uuid import UUID

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from loadbalancers import bootstrap
from loadbalancers.domain.errors import LoadBalancerNotFound
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
            service.fail(UUID(lb_id), f"{message} (gave up after {task.request.retries + 1} attempts)")
            return
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
            logger.warning("follow_inventory for server %s gave up (the reconciler catches up): %s", server_id, exc)
            return
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="loadbalancers.reconcile")
def reconcile() -> dict[str, int]:
    report = bootstrap.build().reconciliation.reconcile()
    counts = {name: len(found) for name, found in vars(report).items()}
    if any(counts.values()):
        logger.info("reconciled: %s", report)
    return counts
