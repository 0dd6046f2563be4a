"""Thin Celery tasks: deliver one webhook delivery (the service plans its retries with
capped backoff), send one e-mail (retried a few times), and resend what a lost message
left PENDING."""

from __future__ import annotations

import logging
import random
import smtplib

from celery import Task, shared_task
from django.conf import settings

from notifications import bootstrap
from portal import metrics

logger = logging.getLogger(__name__)


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    return str(bootstrap.build().deliveries.deliver(int(delivery_id)))


@shared_task(bind=True, name="notifications.email", max_retries=3, ignore_result=True)
def email(self: Task, recipients: list[str], subject: str, body: str) -> None:
    try:
        bootstrap.mailer().send(list(recipients), subject, body)
    except (smtplib.SMTPException, OSError) as exc:
        countdown = min(settings.WEBHOOK_BACKOFF_CAP, 30 * 2**self.request.retries) * random.uniform(0.5, 1.0)
        logger.warning(
            "e-mail %r to %d people not sent (attempt %d): %s", subject, len(recipients), self.request.retries + 1, exc
        )
        if self.request.retries >= self.max_retries:
            metrics.task_gave_up(self.name)
        else:
            metrics.task_retried(self.name)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="notifications.resend", ignore_result=True)
def resend() -> int:
    return bootstrap.build().deliveries.resend_stale()


@shared_task(name="notifications.prune_log", ignore_result=True)
def prune_log() -> int:
    return bootstrap.build().deliveries.prune_log()
