"""Facts about this installation of the portal as a whole: its identity, the
heartbeats of its background processes, and the answers kept for idempotent requests."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Installation(models.Model):
    """One row: the identity this installation stamps on every resource it makes at a
    provider, so that it never mistakes another installation's resources for its own."""

    instance_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.instance_id


class Heartbeat(models.Model):
    """When a background component (the worker, the scheduler) last showed it was alive."""

    component = models.CharField(max_length=32, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.component} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class IdempotentRequest(models.Model):
    """A write request sent with an ``Idempotency-Key`` header, and once it is answered,
    its answer: a repeat of the request gets that answer again instead of running twice
    (portal.idempotency).  ``status_code`` is empty while the first request runs."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # sha256 of the method, the path with its query string and the body (portal.idempotency).
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=16)
    path = models.TextField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)  # the answer's data as JSON text; "null" for none
    headers = models.JSONField(default=dict, blank=True)  # the answer's headers that a repeat gets too
    # When the request holding the key arrived (a take-over of an abandoned one counts as arriving).
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="portal_idempotent_user_key")]
        indexes = [models.Index(fields=["expires_at"], name="portal_idempotent_expires")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
