"""The Django unit of work every app's own builds on."""

from __future__ import annotations

from types import TracebackType

from django.db import transaction
from django.utils import timezone

from portal.kernel.messagebus import MessageBus
from portal.kernel.unit_of_work import AbstractUnitOfWork


class AtomicUnitOfWork(AbstractUnitOfWork):
    """A database transaction (``transaction.atomic()``); each app's unit of work opens
    its repositories in ``_open_repositories``."""

    def __init__(self, bus: MessageBus | None = None) -> None:
        super().__init__(bus, now=timezone.now)

    def _begin(self) -> None:
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._open_repositories()

    def _end(
        self,
        commit: bool,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and not commit:
            transaction.set_rollback(True)
        self._atomic.__exit__(exc_type, exc, tb)

    def _open_repositories(self) -> None:
        raise NotImplementedError
