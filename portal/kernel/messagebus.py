"""Routes domain events to their handlers once the change that raised them has
committed.  Every app's events go through one bus; each app (and later the audit
trail and notifications) contributes handlers for the events it cares about."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

logger = logging.getLogger("portal.events")

Handler = Callable[[object], None]


class MessageBus:
    def __init__(self, handlers: Mapping[type, list[Handler]] | None = None):
        self._handlers: dict[type, list[Handler]] = {kind: list(found) for kind, found in (handlers or {}).items()}

    def handle(self, happened: Iterable[object]) -> None:
        """Each event goes to the handlers of its kind and of every kind it extends."""
        for event in happened:
            logger.info("%s %s", type(event).__name__, event)
            for kind in type(event).__mro__:
                for handler in self._handlers.get(kind, []):
                    handler(event)
