"""Routes domain events to their handlers once the change that raised them has
committed.  Every app's events go through one bus; each app, the audit trail and
notifications contribute handlers for the events they care about (``subscribe``).

The change has committed when a handler runs, so a handler that fails must not undo
it nor fail the request that made it: its failure is logged, and the other handlers
still run.

A subscriber that does better with many events at once (one INSERT for many audit
entries, one look-up for many events' teams) subscribes with ``subscribe_batch``: it
hears the events of its kind of one ``handle()`` call (one commit) together, in order,
at most ``batch_size`` at a time, once the one-by-one handlers have heard them.  A
batch handler stores all of a batch or nothing of it (or deals with its own failures):
when it raises, the bus logs it and hands it each event of that batch alone, so that
one bad event loses only itself, as with one-by-one handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

logger = logging.getLogger("portal.events")

Handler = Callable[[object], None]
BatchHandler = Callable[[list[object]], None]

BATCH_SIZE = 1000
"""The most events a batch handler hears in one call."""


class _Batched:
    """A batch handler where a handler stands: called with one event, it hears a
    batch of one; the bus hands it many at once."""

    def __init__(self, handler: BatchHandler) -> None:
        self.handler = handler

    def __call__(self, event: object) -> None:
        self.handler([event])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Batched) and other.handler == self.handler

    def __hash__(self) -> int:
        return hash(self.handler)

    def __repr__(self) -> str:
        return f"batched({self.handler!r})"


def batched(handler: BatchHandler) -> Handler:
    """``handler`` (which takes a list of events) as a handler the bus hands a commit's
    events together; where handlers are given as a mapping (``MessageBus(handlers)``)."""
    return _Batched(handler)


class MessageBus:
    def __init__(self, handlers: Mapping[type, list[Handler]] | None = None, *, batch_size: int = BATCH_SIZE):
        self._handlers: dict[type, list[Handler]] = {kind: list(found) for kind, found in (handlers or {}).items()}
        self._batch_size = batch_size

    def subscribe(self, kind: type, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def subscribe_batch(self, kind: type, handler: BatchHandler) -> None:
        """``handler`` hears the events of ``kind`` of each ``handle()`` call as a list."""
        self.subscribe(kind, batched(handler))

    def handle(self, happened: Iterable[object]) -> None:
        """Each event goes to the handlers of its kind and of every kind it extends;
        batch handlers hear a batch's events together after the others."""
        events = list(happened)
        for start in range(0, len(events), self._batch_size):
            self._handle_batch(events[start : start + self._batch_size])

    def _handle_batch(self, events: list[object]) -> None:
        pending: dict[_Batched, list[object]] = {}
        for event in events:
            logger.info("%s", _described(event))
            for kind in type(event).__mro__:
                for handler in self._handlers.get(kind, []):
                    if isinstance(handler, _Batched) and len(events) > 1:
                        pending.setdefault(handler, []).append(event)
                    else:
                        _call(handler, event)
        for handler, heard in pending.items():
            try:
                handler.handler(heard)
            except Exception:
                logger.exception("handling %d events together failed: handing them one by one", len(heard))
                for event in heard:
                    _call(handler, event)


def _call(handler: Handler, event: object) -> None:
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
