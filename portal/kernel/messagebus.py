"""Routes domain events to their handlers once the change that raised them has
committed.  Every app's events go through one bus; each app, the audit trail and
notifications contribute handlers for the events they care about (``subscribe``).

The change has committed when a handler runs, so a handler that fails must not undo
it nor fail the request that made it: its failure is logged, and the other handlers
still run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

logger = logging.getLogger("portal.events")

Handler = Callable[[object], None]


class MessageBus:
    def __init__(self, handlers: Mapping[type, list[Handler]] | None = None):
        self._handlers: dict[type, list[Handler]] = {kind: list(found) for kind, found in (handlers or {}).items()}

    def subscribe(self, kind: type, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def handle(self, happened: Iterable[object]) -> None:
        """Each event goes to the handlers of its kind and of every kind it extends."""
        for event in happened:
            logger.info("%s", _described(event))
            for kind in type(event).__mro__:
                for handler in self._handlers.get(kind, []):
                    try:
                        handler(event)
                    except Exception:
                        logger.exception("handling %s failed", type(event).__name__)


def _described(event: object) -> str:
    """One line per event in the log: what, about which record, by whom."""
    context = getattr(event, "context", None)
    who = f" by {context.actor} via {context.source}" if context is not None else ""
    what = getattr(event, "action", type(event).__name__)
    target = getattr(event, "target_id", "")
    return f"{what} {target}{who}".strip()
