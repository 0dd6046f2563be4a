"""This installation's identity, and the heartbeats of its background processes."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.models import Heartbeat, Installation

WORKER = "worker"
SCHEDULER = "scheduler"
COMPONENTS = (WORKER, SCHEDULER)

_lock = threading.Lock()
_stored_id: str | None = None


def instance_id() -> str:
    """The identity every provider resource of this installation carries: the
    ``PORTAL_INSTANCE_ID`` setting when given, otherwise generated once, stored in the
    database (so every web and worker process shares it) and read once per process."""
    if settings.PORTAL_INSTANCE_ID:
        return settings.PORTAL_INSTANCE_ID
    global _stored_id
    with _lock:
        if _stored_id is None:
            _stored_id = _stored_instance_id()
        return _stored_id


def _stored_instance_id() -> str:
    row = Installation.objects.order_by("pk").first()
    if row is not None:
        return row.instance_id
    try:
        with transaction.atomic():
            return Installation.objects.create(pk=1, instance_id=f"portal-{secrets.token_hex(8)}").instance_id
    except IntegrityError:  # another process stored it first: that one is the identity
        return Installation.objects.get(pk=1).instance_id


def forget_cached_instance_id() -> None:
    """For tests that start from an empty database."""
    global _stored_id
    with _lock:
        _stored_id = None


def record_heartbeat(component: str, at: datetime | None = None) -> None:
    Heartbeat.objects.update_or_create(component=component, defaults={"seen_at": at or timezone.now()})


def heartbeats() -> dict[str, datetime]:
    """When each background component last showed it was alive (one query)."""
    return dict(Heartbeat.objects.filter(component__in=COMPONENTS).values_list("component", "seen_at"))


def heartbeat_problems(max_age: float, seen: dict[str, datetime] | None = None) -> dict[str, str]:
    """For each background component that has not sent a heartbeat within ``max_age``
    seconds, what is wrong with it (``seen``: the heartbeats, if already read)."""
    now = timezone.now()
    seen = heartbeats() if seen is None else seen
    problems = {}
    for component in COMPONENTS:
        at = seen.get(component)
        if at is None:
            problems[component] = f"no heartbeat from the {component} yet"
        elif (age := (now - at).total_seconds()) > max_age:
            problems[component] = f"the {component}'s last heartbeat was {age:.0f} s ago (more than {max_age:.0f} s)"
    if WORKER in problems:
        # The worker's heartbeat is a task the scheduler sends through the broker.
        problems[WORKER] += (
            ": the scheduler sends it, so it cannot arrive while the scheduler is down"
            if SCHEDULER in problems
            else ": the worker is down, stuck, or the broker does not deliver its messages"
        )
    return problems
