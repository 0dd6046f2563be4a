"""The unit of work every app's own builds on: one business transaction, stored
together or not at all, and the events it raised published only once it has committed."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from types import TracebackType
from typing import Protocol

from portal.kernel.messagebus import MessageBus


class EventSource(Protocol):
    """An aggregate that records what happened to it."""

    def pull_events(self) -> list[object]: ...


class TrackingRepository:
    """A repository of aggregates that raise events: it remembers each aggregate it
    stores, so that its unit of work can publish their events after commit."""

    def __init__(self) -> None:
        self.seen: list[EventSource] = []

    def _track(self, aggregate: EventSource) -> None:
        self.seen.append(aggregate)


class AbstractUnitOfWork(abc.ABC):
    """Rolls back unless ``commit()`` was called: safe by default.  Once the
    transaction has committed, the events of every aggregate its repositories stored
    go to the bus (none when it rolled back), so no use case publishes by hand."""

    def __init__(self, bus: MessageBus | None = None) -> None:
        self.bus = bus or MessageBus()

    def __enter__(self) -> AbstractUnitOfWork:
        self._committed = False
        self._begin()
        for repository in self._tracking():
            repository.seen.clear()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        committed = exc_type is None and self._committed
        self._end(committed, exc_type, exc, tb)
        if committed:
            self.bus.handle(self._collect_events())

    def commit(self) -> None:
        self._committed = True

    @abc.abstractmethod
    def _begin(self) -> None:
        """Open the transaction (and the repositories that work inside it)."""

    @abc.abstractmethod
    def _end(
        self,
        commit: bool,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Commit the transaction when ``commit``, otherwise roll it back."""

    def _tracking(self) -> Iterator[TrackingRepository]:
        return (found for found in vars(self).values() if isinstance(found, TrackingRepository))

    def _collect_events(self) -> Iterator[object]:
        for repository in self._tracking():
            for aggregate in repository.seen:
                yield from aggregate.pull_events()
            repository.seen.clear()
