"""Webhooks, their deliveries and people's e-mail choices: persistence only.  Teams
and users are referred to by the models' labels, never imported."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Webhook(models.Model):
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=2000)
    secret = models.CharField(max_length=200)
    event_types = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("team_id", "id")
        indexes = [models.Index(fields=["team", "enabled"], name="webhook_team_enabled")]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    id = models.BigAutoField(primary_key=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64)
    action = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, default="PENDING")
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_newest"),
            models.Index(fields=["created_at"], name="delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.action} to webhook {self.webhook_id}: {self.status}"


class EmailPreference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="one_email_preference_per_team")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id}: {'on' if self.enabled else 'off'}"
