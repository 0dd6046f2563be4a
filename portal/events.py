"""The portal-wide message bus.  Each app's bootstrap builds its units of work on a bus
made of its own handlers and of every subscriber registered here at start-up (the
audit trail, notifications), so those see the events of every app without any app
knowing them, and without importing the apps whose events they hear."""

from __future__ import annotations

from collections.abc import Mapping

from portal.kernel.messagebus import BatchHandler, Handler, MessageBus, batched

_subscribers: dict[type, list[Handler]] = {}


def subscribe(kind: type, handler: Handler) -> None:
    """``handler`` hears every event of ``kind`` (and of its subclasses) of every app."""
    found = _subscribers.setdefault(kind, [])
    if handler not in found:
        found.append(handler)


def subscribe_batch(kind: type, handler: BatchHandler) -> None:
    """``handler`` hears every event of ``kind`` (and of its subclasses) of every app,
    the events of one commit together (a list, in order; see ``MessageBus``)."""
    subscribe(kind, batched(handler))


def subscribers() -> dict[type, list[Handler]]:
    return {kind: list(found) for kind, found in _subscribers.items()}


def bus(own: Mapping[type, list[Handler]], others: Mapping[type, list[Handler]]) -> MessageBus:
    """A bus with an app's own handlers first, then the others'."""
    combined: dict[type, list[Handler]] = {kind: list(found) for kind, found in own.items()}
    for kind, found in others.items():
        combined.setdefault(kind, []).extend(found)
    return MessageBus(combined)
