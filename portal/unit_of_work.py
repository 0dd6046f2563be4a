"""The Django unit of work every app's own builds on."""

from __future__ import annotations

from types import TracebackType

from django.db import transaction


class AtomicUnitOfWork:
    """A database transaction that rolls back unless ``commit()`` was called: safe by
    default.  Every Django unit of work of the portal is built on it."""

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._committed = False
        self._open_repositories()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and not self._committed:
            transaction.set_rollback(True)
        self._atomic.__exit__(exc_type, exc, tb)

    def _open_repositories(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self._committed = True

    def rollback(self) -> None:
        transaction.set_rollback(True)
