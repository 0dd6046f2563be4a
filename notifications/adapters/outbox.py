"""Hands deliveries and e-mails to Celery once the current transaction commits (sent by
name: the adapter needs nothing of the tasks module).  Like the load balancers'
scheduler, a broker that refuses or hangs costs a request at most BROKER_TIMEOUT and
never fails it; a delivery not sent stays PENDING and is sent again by the periodic
``notifications.resend`` task."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from notifications.application.ports import NotificationScheduler
from portal.broker import Breaker, call_within

logger = logging.getLogger(__name__)

BREAKER = Breaker()


class CeleryNotificationScheduler(NotificationScheduler):
    def __init__(self, app: Any = current_app) -> None:
        self._app = app

    def deliver(self, delivery_id: int, *, delay: float = 0) -> None:
        self._send("notifications.deliver", [delivery_id], countdown=delay or None)

    def email(self, recipients: list[str], subject: str, body: str) -> None:
        self._send("notifications.email", [recipients, subject, body])

    def _send(self, task: str, args: list[Any], countdown: float | None = None) -> None:
        def publish() -> None:
            if not BREAKER.allows():
                logger.warning("%s not sent: the broker failed just now", task)
                return
            try:
                call_within(
                    settings.BROKER_TIMEOUT,
                    lambda: self._app.send_task(task, args=args, countdown=countdown),
                    what=f"sending {task}",
                )
            except Exception as exc:  # noqa: BLE001 - any broker failure: sent again later
                BREAKER.failed(settings.BROKER_COOLDOWN)
                logger.warning("%s not sent: %s", task, exc)

        transaction.on_commit(publish)


class DjangoMailer:
    def send(self, recipients: list[str], subject: str, body: str) -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
