"""Webhooks and their deliveries in the admin: operations read them, and disable or
enable a webhook through the service (so the change is on the record)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import bootstrap, models
from notifications.application.payloads import UpdateWebhook
from portal.admin import ReadOnlyRecordsAdmin
from portal.kernel.errors import PortalError


@admin.register(models.Webhook)
class WebhookAdmin(ReadOnlyRecordsAdmin):
    list_display = ("id", "team", "url", "enabled", "failures", "event_types", "created_at")
    list_filter = ("enabled",)
    search_fields = ("url", "description", "team__slug")
    list_select_related = ("team",)
    fields = ("team", "url", "description", "event_types", "enabled", "failures", "disabled_reason", "created_at")
    readonly_fields = fields
    actions = ("disable", "enable")

    def _set(self, request: HttpRequest, queryset: QuerySet, enabled: bool) -> None:
        actor, service = bootstrap.actor(request), bootstrap.build().webhooks
        for webhook_id, slug in queryset.values_list("pk", "team__slug"):
            try:
                service.update_one(actor, slug, webhook_id, UpdateWebhook(enabled=enabled))
            except PortalError as error:
                self.message_user(request, f"Webhook {webhook_id}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Webhook {webhook_id} {'enabled' if enabled else 'disabled'}.")

    @admin.action(description="Disable (stop sending)", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set(request, queryset, False)

    @admin.action(description="Enable (start sending again)", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set(request, queryset, True)


@admin.register(models.Delivery)
class DeliveryAdmin(ReadOnlyRecordsAdmin):
    list_display = ("id", "webhook", "action", "status", "attempts", "response_code", "last_error", "created_at")
    list_filter = ("status",)
    search_fields = ("action", "event_id", "last_error")
    fields = (
        "webhook",
        "event_id",
        "action",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "payload",
        "created_at",
        "updated_at",
        "delivered_at",
    )
    readonly_fields = fields
    actions = ()

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
