"""The workers' thin tasks of the audit trail and notifications, run in-process against
the real database and Django's e-mail backend (locmem under the tests)."""

from __future__ import annotations

import smtplib
from dataclasses import replace

import pytest
from django.core import mail
from django.utils import timezone

from audit import models as audit_models
from audit import tasks as audit_tasks
from notifications import tasks as notification_tasks
from portal.kernel.events import Change, Context
from servers.domain.events import ServerStatusChanged

pytestmark = pytest.mark.django_db


def test_the_email_task_sends_through_djangos_backend():
    notification_tasks.email.apply(args=[["alice@example.com"], "[web] load balancer shop is in ERROR", "boom"])

    (sent,) = mail.outbox
    assert (sent.to, sent.subject, sent.body) == (["alice@example.com"], "[web] load balancer shop is in ERROR", "boom")


def test_an_smtp_failure_is_retried_a_few_times_then_given_up(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(1)
        raise smtplib.SMTPServerDisconnected("the server went away")

    monkeypatch.setattr("notifications.adapters.outbox.send_mail", refuse)

    result = notification_tasks.email.apply(args=[["alice@example.com"], "subject", "body"])

    assert result.failed()
    assert len(calls) == 1 + notification_tasks.email.max_retries
    assert mail.outbox == []


def test_the_scheduled_prune_applies_the_retention_rule(settings):
    settings.AUDIT_RETENTION_ROWS = 5
    context = Context(actor_id=None, actor="system", source="worker", request_id=None, at=timezone.now())
    event = replace(
        ServerStatusChanged(target_id="1", target_name="web-1", changes=(Change("status", "OK", "DOWN"),)),
        context=context,
    )
    audit_models.AuditEntry.objects.bulk_create(
        audit_models.AuditEntry(
            at=context.at,
            actor="system",
            source="worker",
            action=event.action,
            target_type="server",
            target_id="1",
            target_name="web-1",
            message=event.message,
        )
        for _ in range(12)
    )
    newest = list(audit_models.AuditEntry.objects.order_by("-id").values_list("id", flat=True)[:5])

    assert audit_tasks.prune.apply().get() == 7

    assert sorted(audit_models.AuditEntry.objects.values_list("id", flat=True)) == sorted(newest)


def test_the_scheduled_delivery_tasks_run_on_an_empty_log():
    assert notification_tasks.resend.apply().get() == 0
    assert notification_tasks.prune_log.apply().get() == 0
