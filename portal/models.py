"""Facts about this installation of the portal as a whole: its identity and the
heartbeats of its background processes."""

from django.db import models


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
