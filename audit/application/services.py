"""The audit trail's use cases: record each committed domain event (the bus's
subscriber), prune by the retention rule, and read the trail, scoped like everything
else: people see the entries of their teams' records and of their own actions;
operations with the permission to view the trail see all of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from audit.application.payloads import AuditQuery
from audit.application.ports import AuditReadModel, AuditRepository, TeamDirectory
from audit.domain.errors import AuditEntryNotFound
from audit.domain.model import AuditEntry, RetentionPolicy
from portal.kernel.actors import Actor, Source
from portal.kernel.errors import FieldErrors
from portal.kernel.events import DomainEvent
from portal.kernel.pagination import Page
from portal.kernel.validators import choice_errors

logger = logging.getLogger(__name__)


class AuditService:
    def __init__(
        self,
        *,
        repository: AuditRepository,
        read_model: AuditReadModel,
        teams: TeamDirectory,
        policy: RetentionPolicy,
        now: Callable[[], datetime],
    ):
        self._repository = repository
        self._read_model = read_model
        self._teams = teams
        self._policy = policy
        self._now = now

    # -- writes (the bus, the scheduler) ------------------------------------------------

    def record(self, event: DomainEvent) -> AuditEntry:
        """Append the entry of a committed event; every ``policy.every`` entries, prune."""
        entry = self._repository.create_one(AuditEntry.of(event))
        if entry.id is not None and self._policy.due(entry.id):
            self.prune(batches=1)  # a write deletes one batch at most; the scheduler's pass the rest
        return entry

    def record_many(self, events: list[DomainEvent]) -> list[AuditEntry]:
        """Append the entries of a commit's events (the bus's batch subscriber), stored
        together; when that fails, one by one, so that a bad entry loses only itself.
        Prunes as ``record`` would have after each of them.  Never raises: whatever
        failed is logged (the bus would otherwise hand the events over again)."""
        entries: list[AuditEntry] = []
        for event in events:
            try:
                entries.append(AuditEntry.of(event))
            except Exception:
                logger.exception("audit: no entry for %s", type(event).__name__)
        if len(entries) == 1:  # a single write, as ``record`` stores it
            stored = self._stored_one_by_one(entries)
        elif entries:
            try:
                stored = self._repository.create_batch(entries)
            except Exception:
                logger.exception("audit: storing %d entries together failed: storing them one by one", len(entries))
                stored = self._stored_one_by_one(entries)
        else:
            stored = []
        due = sum(1 for entry in stored if entry.id is not None and self._policy.due(entry.id))
        if due:
            try:
                self.prune(batches=due)
            except Exception:
                logger.exception("audit: pruning after %d entries failed", len(stored))
        return stored

    def _stored_one_by_one(self, entries: list[AuditEntry]) -> list[AuditEntry]:
        stored = []
        for entry in entries:
            try:
                stored.append(self._repository.create_one(entry))
            except Exception:
                logger.exception("audit: the entry of %s %s was not stored", entry.action, entry.target_id)
        return stored

    def prune(self, *, batches: int | None = None) -> int:
        """Apply the retention rule now (``batches``: at most that many batches);
        returns how many entries went."""
        deleted = self._repository.prune(
            keep=self._policy.rows,
            older_than=self._policy.oldest_kept(self._now()),
            batch=self._policy.batch,
            batches=batches,
        )
        if deleted:
            logger.info("audit: pruned %d entries (keeping %d, days %s)", deleted, self._policy.rows, self._policy.days)
        return deleted

    # -- reads ----------------------------------------------------------------------------

    def get_plist(self, actor: Actor, query: AuditQuery) -> Page[AuditEntry]:
        query.page.check(AuditQuery.SORTABLE)
        errors = FieldErrors()
        if query.source is not None:
            for message in choice_errors(query.source, Source, what="source"):
                errors.add("source", message)
        if query.since is not None and query.until is not None and query.since > query.until:
            errors.add("until", "until must not be before since")
        errors.raise_if_any("the audit query is not valid")
        if not actor.sees_all:
            query = replace(query, team_ids=actor.team_ids, or_actor_id=actor.user_id)
        if query.team is not None:
            team_id = self._teams.id_of(query.team)
            if team_id is None:
                return Page(items=[], total=0, limit=query.page.limit, offset=query.page.offset)
            query = replace(query, team=str(team_id))
        return self._named(self._read_model.get_plist(query))

    def get_one(self, actor: Actor, entry_id: int) -> AuditEntry:
        entry = self._read_model.get_one(entry_id)
        if entry is None or not (
            actor.sees_all
            or (entry.team_id is not None and entry.team_id in actor.roles)
            or (entry.actor_id is not None and entry.actor_id == actor.user_id)
        ):
            raise AuditEntryNotFound(entry_id)
        return self._named(Page([entry], 1, 1, 0)).items[0]

    def _named(self, page: Page[AuditEntry]) -> Page[AuditEntry]:
        """The entries with their team's slug (a team renamed shows its current slug)."""
        slugs = self._teams.slugs_of(sorted({e.team_id for e in page.items if e.team_id is not None}))
        items = [replace(e, team=slugs.get(e.team_id)) if e.team_id is not None else e for e in page.items]
        return replace(page, items=items)
