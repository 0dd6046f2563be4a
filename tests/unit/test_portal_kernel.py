"""The portal-wide kernel: the unit of work publishes the events of what it stored only
once it has committed, and the bus routes each event to the handlers of its kind."""

from dataclasses import dataclass, field

import pytest

from portal.kernel.messagebus import MessageBus
from portal.kernel.unit_of_work import AbstractUnitOfWork, TrackingRepository
from tests.fakes import OPS


@dataclass
class Thing:
    name: str
    events: list[object] = field(default_factory=list)

    def pull_events(self) -> list[object]:
        pulled, self.events = self.events, []
        return pulled


@dataclass(frozen=True)
class Happened:
    name: str


@dataclass(frozen=True)
class HappenedLoudly(Happened):
    pass


class Things(TrackingRepository):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Thing] = {}

    def save(self, thing: Thing) -> None:
        self._track(thing)
        self.rows[thing.name] = thing


class MemoryUnitOfWork(AbstractUnitOfWork):
    def __init__(self, bus: MessageBus) -> None:
        super().__init__(bus)
        self.things = Things()
        self.stored: dict[str, Thing] = {}

    def _begin(self) -> None:
        self._before = dict(self.stored)

    def _end(self, commit: bool, *exc_info: object) -> None:
        self.stored = {**self._before, **self.things.rows} if commit else self._before
        self.things.rows = {}


@pytest.fixture
def heard() -> list[object]:
    return []


@pytest.fixture
def uow(heard) -> MemoryUnitOfWork:
    return MemoryUnitOfWork(MessageBus({Happened: [heard.append]}))


def test_events_are_published_after_commit_and_only_once(uow, heard):
    thing = Thing("a", events=[Happened("a")])
    with uow:
        uow.things.save(thing)
        uow.commit(by=OPS)
        assert heard == []  # not before the transaction has ended

    assert heard == [Happened("a")]
    assert "a" in uow.stored
    with uow:
        uow.commit(by=OPS)
    assert heard == [Happened("a")]


def test_nothing_is_published_when_the_work_is_not_committed(uow, heard):
    with uow:
        uow.things.save(Thing("a", events=[Happened("a")]))
    assert (heard, uow.stored) == ([], {})


def test_nothing_is_published_when_the_work_fails_after_commit(uow, heard):
    def commit_then_fail() -> None:
        with uow:
            uow.things.save(Thing("a", events=[Happened("a")]))
            uow.commit(by=OPS)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        commit_then_fail()
    assert (heard, uow.stored) == ([], {})


def test_a_handler_of_a_kind_hears_its_subkinds_too(heard):
    loud: list[object] = []
    bus = MessageBus({Happened: [heard.append], HappenedLoudly: [loud.append]})

    bus.handle([Happened("a"), HappenedLoudly("b")])

    assert heard == [Happened("a"), HappenedLoudly("b")]
    assert loud == [HappenedLoudly("b")]
