from __future__ import annotations

import abc
from datetime import datetime

from audit.application.payloads import AuditQuery
from audit.domain.model import AuditEntry
from portal.kernel.pagination import Page


class AuditRepository(abc.ABC):
    """Append-only: entries are added and pruned by the retention rule, never changed."""

    @abc.abstractmethod
    def create_one(self, entry: AuditEntry) -> AuditEntry:
        """Store the entry in its own transaction (or savepoint): a failure here never
        undoes the change it records.  Returns it with its id."""

    @abc.abstractmethod
    def create_batch(self, entries: list[AuditEntry]) -> list[AuditEntry]:
        """Store the entries together, all or none, in a transaction of their own (or a
        savepoint); returns them with their ids, in the same order."""

    @abc.abstractmethod
    def prune(self, *, keep: int, older_than: datetime | None, batch: int, batches: int | None = None) -> int:
        """Delete the entries that are not among the newest ``keep`` (by id), and with
        ``older_than`` those older than it, ``batch`` at a time (at most ``batches``
        batches; None: until none is left), each in its own transaction or savepoint;
        returns how many.  Safe under concurrent writers and pruners: an entry is deleted
        only when ``keep`` newer ones exist."""


class AuditReadModel(abc.ABC):
    @abc.abstractmethod
    def get_plist(self, query: AuditQuery) -> Page[AuditEntry]: ...

    @abc.abstractmethod
    def get_one(self, entry_id: int) -> AuditEntry | None: ...


class TeamDirectory(abc.ABC):
    """The teams' slugs (entries store team ids)."""

    @abc.abstractmethod
    def id_of(self, slug: str) -> int | None: ...

    @abc.abstractmethod
    def slugs_of(self, team_ids: list[int]) -> dict[int, str]: ...
