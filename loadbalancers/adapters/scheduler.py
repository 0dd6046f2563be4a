"""Hands follow-up work to Celery, only once the current transaction commits, so a
task never runs for a row that was rolled back.  If the broker cannot be reached,
the request still succeeds: the reconciler restarts the work later."""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction

from loadbalancers import tasks
from loadbalancers.application.ports import TaskScheduler

logger = logging.getLogger(__name__)


class CeleryTaskScheduler(TaskScheduler):
    def provision(self, lb_id: UUID) -> None:
        self._send(tasks.provision, lb_id)

    def apply_update(self, lb_id: UUID) -> None:
        self._send(tasks.apply_update, lb_id)

    def deprovision(self, lb_id: UUID) -> None:
        self._send(tasks.deprovision, lb_id)

    def follow(self, lb_id: UUID, *, delay: float) -> None:
        self._send(tasks.follow, lb_id, countdown=delay)

    @staticmethod
    def _send(task, lb_id: UUID, countdown: float | None = None) -> None:  # type: ignore[no-untyped-def]
        transaction.on_commit(lambda: task.apply_async(args=[str(lb_id)], countdown=countdown), robust=True)
