"""Hands follow-up work to Celery, only once the current transaction commits, so a
task never runs for a row that was rolled back.  Tasks are sent by name: the adapter
needs nothing of the tasks module (whose tasks build the services, which use this).

The hand-over waits on the broker for at most BROKER_TIMEOUT seconds; if the broker
refuses, fails or does not answer, the request still succeeds and the reconciler sends
the work later (the row is committed in PENDING_* and nobody has looked at it), and for
BROKER_COOLDOWN seconds this process does not ask the broker again."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import transaction

from loadbalancers.application.ports import TaskScheduler
from portal.broker import Breaker, call_within

logger = logging.getLogger(__name__)


class CeleryTaskScheduler(TaskScheduler):
    def __init__(self, app: Any = current_app) -> None:
        self._app = app

    def provision(self, lb_id: UUID) -> None:
        self._send("loadbalancers.provision", lb_id)

    def apply_update(self, lb_id: UUID) -> None:
        self._send("loadbalancers.apply_update", lb_id)

    def deprovision(self, lb_id: UUID) -> None:
        self._send("loadbalancers.deprovision", lb_id)

    def follow(self, lb_id: UUID, *, delay: float) -> None:
        self._send("loadbalancers.follow", lb_id, countdown=delay)

    def follow_inventory(self, server_id: int) -> None:
        self._send("loadbalancers.follow_inventory", server_id)

    def _send(self, task: str, lb_id: UUID | int, countdown: float | None = None) -> None:
        def publish() -> None:
            if not BREAKER.allows():
                logger.warning("%s for load balancer %s not sent: the broker failed just now", task, lb_id)
                return
            try:
                call_within(
                    settings.BROKER_TIMEOUT,
                    lambda: self._app.send_task(
                        task, args=[lb_id if isinstance(lb_id, int) else str(lb_id)], countdown=countdown
                    ),
                    what=f"sending {task}",
                )
            except Exception as exc:  # noqa: BLE001 - any broker failure: the reconciler sends it later
                BREAKER.failed(settings.BROKER_COOLDOWN)
                logger.warning("%s for load balancer %s not sent (the reconciler will): %s", task, lb_id, exc)

        transaction.on_commit(publish)


# One per process: after a failure, the requests of the next BROKER_COOLDOWN seconds do
# not wait on the broker (a hung one would hold a web thread BROKER_TIMEOUT each).
BREAKER = Breaker()
