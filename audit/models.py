"""The audit trail's table: persistence only.  Entries keep the ids of the people and
teams they name, not foreign keys: the trail outlives both, and nobody's deletion
rewrites it."""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    actor_id = models.IntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150)
    source = models.CharField(max_length=20)
    request_id = models.CharField(max_length=64, blank=True)
    team_id = models.IntegerField(null=True, blank=True)
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=200)
    target_name = models.CharField(max_length=300)
    message = models.CharField(max_length=500)
    changes = models.JSONField(default=list)

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["team_id", "-id"], name="audit_team_newest"),
            models.Index(fields=["actor_id", "-id"], name="audit_actor_newest"),
            models.Index(fields=["target_type", "target_id", "-id"], name="audit_target_newest"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor}: {self.message}"
