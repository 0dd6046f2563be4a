"""The Celery beat scheduler, which also records its own heartbeat in the database, so
that /readyz can tell a dead scheduler from a dead worker."""

from __future__ import annotations

import logging
import time

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from portal.runtime import SCHEDULER, record_heartbeat

logger = logging.getLogger(__name__)


class HeartbeatScheduler(PersistentScheduler):
    _last_heartbeat = float("-inf")

    def tick(self, *args, **kwargs) -> float:  # type: ignore[no-untyped-def]
        interval = super().tick(*args, **kwargs)
        if time.monotonic() - self._last_heartbeat >= settings.HEARTBEAT_INTERVAL:
            try:
                record_heartbeat(SCHEDULER)
                self._last_heartbeat = time.monotonic()
            except DatabaseError as exc:
                logger.warning("the scheduler could not record its heartbeat: %s", exc)
                close_old_connections()
        return min(interval, settings.HEARTBEAT_INTERVAL)
