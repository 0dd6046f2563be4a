from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from notifications import models
from notifications.application.ports import DeliveryRepository, EmailPreferences, WebhookRepository
from notifications.domain.errors import DeliveryNotFound, WebhookNotFound
from notifications.domain.model import Delivery, DeliveryStatus, Webhook

_WEBHOOK_FIELDS = ("url", "secret", "description", "enabled", "failures", "disabled_reason")
_DELIVERY_FIELDS = ("event_id", "action", "payload", "attempts", "response_code", "last_error", "delivered_at")


def webhook_to_domain(row: models.Webhook) -> Webhook:
    return Webhook(
        id=row.pk,
        team_id=row.team_id,
        event_types=tuple(row.event_types or ()),
        created_at=row.created_at,
        **{name: getattr(row, name) for name in _WEBHOOK_FIELDS},
    )


def delivery_to_domain(row: models.Delivery) -> Delivery:
    return Delivery(
        id=row.pk,
        webhook_id=row.webhook_id,
        status=DeliveryStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        **{name: getattr(row, name) for name in _DELIVERY_FIELDS},
    )


class DjangoSubscriptions:
    """The enabled webhooks, read in autocommit (one statement, no transaction)."""

    def enabled(self, team_ids: Iterable[int]) -> list[Webhook]:
        return DjangoWebhookRepository().get_list(team_ids=team_ids, enabled=True)


class DjangoWebhookRepository(WebhookRepository):
    def get_one(self, webhook_id: int, *, for_update: bool = False) -> Webhook:
        rows = models.Webhook.objects.select_for_update() if for_update else models.Webhook.objects
        row = rows.filter(pk=webhook_id).first()
        if row is None:
            raise WebhookNotFound(webhook_id)
        return webhook_to_domain(row)

    def get_list(self, *, team_ids: Iterable[int], enabled: bool | None = None) -> list[Webhook]:
        rows = models.Webhook.objects.filter(team_id__in=list(team_ids))
        if enabled is not None:
            rows = rows.filter(enabled=enabled)
        return [webhook_to_domain(row) for row in rows.order_by("id")]

    def create_one(self, webhook: Webhook) -> Webhook:
        row = models.Webhook.objects.create(
            team_id=webhook.team_id,
            event_types=list(webhook.event_types),
            **{name: getattr(webhook, name) for name in _WEBHOOK_FIELDS},
        )
        return webhook_to_domain(row)

    def update_one(self, webhook: Webhook) -> Webhook:
        models.Webhook.objects.filter(pk=webhook.id).update(
            event_types=list(webhook.event_types),
            updated_at=timezone.now(),  # update() skips auto_now
            **{name: getattr(webhook, name) for name in _WEBHOOK_FIELDS},
        )
        return webhook

    def delete_one(self, webhook_id: int) -> None:
        models.Webhook.objects.filter(pk=webhook_id).delete()


class DjangoDeliveryRepository(DeliveryRepository):
    def get_one(self, delivery_id: int, *, for_update: bool = False) -> Delivery:
        rows = models.Delivery.objects.select_for_update() if for_update else models.Delivery.objects
        row = rows.filter(pk=delivery_id).first()
        if row is None:
            raise DeliveryNotFound(delivery_id)
        return delivery_to_domain(row)

    def get_list(self, *, webhook_id: int, limit: int) -> list[Delivery]:
        rows = models.Delivery.objects.filter(webhook_id=webhook_id).order_by("-id")[:limit]
        return [delivery_to_domain(row) for row in rows]

    def get_list_stale(self, *, not_updated_since: datetime, limit: int) -> list[Delivery]:
        rows = models.Delivery.objects.filter(status=DeliveryStatus.PENDING.value, updated_at__lt=not_updated_since)
        return [delivery_to_domain(row) for row in rows.order_by("id")[:limit]]

    def delete_finished(self, *, before: datetime, batch: int) -> int:
        done = models.Delivery.objects.filter(created_at__lt=before).exclude(status=DeliveryStatus.PENDING.value)
        ids = list(done.order_by("id").values_list("id", flat=True)[:batch])
        return models.Delivery.objects.filter(id__in=ids).delete()[0] if ids else 0

    def create_batch(self, deliveries: list[Delivery]) -> list[Delivery]:
        rows = [
            models.Delivery(
                webhook_id=d.webhook_id,
                status=d.status.value,
                **{name: getattr(d, name) for name in _DELIVERY_FIELDS},
            )
            for d in deliveries
        ]
        return [delivery_to_domain(row) for row in models.Delivery.objects.bulk_create(rows)]

    def update_one(self, delivery: Delivery) -> Delivery:
        models.Delivery.objects.filter(pk=delivery.id).update(
            status=delivery.status.value,
            updated_at=timezone.now(),  # update() skips auto_now: resend_stale reads it
            **{name: getattr(delivery, name) for name in _DELIVERY_FIELDS},
        )
        return delivery


class DjangoEmailPreferences(EmailPreferences):
    def get(self, *, user_id: int, team_id: int) -> bool | None:
        return (
            models.EmailPreference.objects.filter(user_id=user_id, team_id=team_id)
            .values_list("enabled", flat=True)
            .first()
        )

    def set(self, *, user_id: int, team_id: int, enabled: bool) -> None:
        models.EmailPreference.objects.update_or_create(user_id=user_id, team_id=team_id, defaults={"enabled": enabled})

    def chosen(self, team_id: int) -> dict[int, bool]:
        return dict(models.EmailPreference.objects.filter(team_id=team_id).values_list("user_id", "enabled"))
