"""Routes domain events to their handlers after a use case has committed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from loadbalancers.application.ports import TaskScheduler
from loadbalancers.domain import events

logger = logging.getLogger("loadbalancers.events")

Handler = Callable[[events.Event], None]


class MessageBus:
    def __init__(self, handlers: dict[type[events.Event], list[Handler]]):
        self._handlers = handlers

    def handle(self, happened: Iterable[events.Event]) -> None:
        for event in happened:
            logger.info("%s %s", type(event).__name__, event)
            for handler in self._handlers.get(type(event), []):
                handler(event)


def provisioning_handlers(scheduler: TaskScheduler) -> dict[type[events.Event], list[Handler]]:
    """Each request a user makes starts its background work at the provider."""
    return {
        events.CreationRequested: [lambda e: scheduler.provision(e.lb_id)],
        events.UpdateRequested: [lambda e: scheduler.apply_update(e.lb_id)],
        events.DeletionRequested: [lambda e: scheduler.deprovision(e.lb_id)],
    }
