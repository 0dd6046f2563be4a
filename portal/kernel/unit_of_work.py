"""The unit of work every app's own builds on: one business transaction, stored
together or not at all, and the events it raised published only once it has committed."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

from portal.kernel.actors import Actor
from portal.kernel.events import Context, DomainEvent
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AbstractUnitOfWork(abc.ABC):
    """Rolls back unless ``commit(by=actor)`` was called: safe by default.  Once the
    transaction has committed, the events of every aggregate its repositories stored,
    and those the use case recorded itself (``record``), go to the bus stamped with who
    committed them (none when it rolled back), so no use case publishes by hand and no
    change goes unattributed."""

    def __init__(self, bus: MessageBus | None = None, *, now: Callable[[], datetime] = _utc_now) -> None:
        self.bus = bus or MessageBus()
        self._now = now

    def __enter__(self) -> AbstractUnitOfWork:
        self._committed = False
        self._by: Actor | None = None
        self._recorded: list[object] = []
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

    def commit(self, by: Actor) -> None:
        """Store the changes made, on behalf of ``by`` (a person, or Actor.system())."""
        self._committed = True
        self._by = by

    def record(self, *happened: object) -> None:
        """Events of the use case itself, for changes no stored aggregate carries (a row
        removed, a token made); published with the aggregates' after commit."""
        self._recorded.extend(happened)

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

    def _collect_events(self) -> list[object]:
        """Every event of this unit of work, stamped, all taken before any handler runs
        (a handler may open another unit of work)."""
        by = self._by
        assert by is not None
        context = Context(by.user_id, by.username, str(by.source), by.request_id, self._now())
        happened: list[object] = []
        for repository in self._tracking():
            for aggregate in repository.seen:
                happened.extend(aggregate.pull_events())
            repository.seen.clear()
        happened.extend(self._recorded)
        self._recorded = []
        return [replace(event, context=context) if isinstance(event, DomainEvent) else event for event in happened]
