from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from audit import models
from audit.adapters import mappers
from audit.application.ports import AuditRepository
from audit.domain.model import AuditEntry


class DjangoAuditRepository(AuditRepository):
    def create_one(self, entry: AuditEntry) -> AuditEntry:
        if transaction.get_connection().in_atomic_block:
            # A savepoint inside a caller's transaction: a failure here rolls back only this.
            with transaction.atomic():
                row = models.AuditEntry.objects.create(**mappers.to_values(entry))
        else:  # one INSERT, atomic by itself: no BEGIN and COMMIT around it
            row = models.AuditEntry.objects.create(**mappers.to_values(entry))
        return mappers.to_domain(row)

    def create_batch(self, entries: list[AuditEntry]) -> list[AuditEntry]:
        rows = [models.AuditEntry(**mappers.to_values(entry)) for entry in entries]
        with transaction.atomic():  # all or none (a savepoint inside a caller's transaction)
            rows = models.AuditEntry.objects.bulk_create(rows)
        return [mappers.to_domain(row) for row in rows]

    def prune(self, *, keep: int, older_than: datetime | None, batch: int, batches: int | None = None) -> int:
        # The id of the keep-th newest entry: it and every newer one stay.  Concurrent
        # pruners see as many or more entries, so each one's cut is at or above this;
        # nobody deletes an entry that has fewer than ``keep`` newer ones.
        cut = models.AuditEntry.objects.order_by("-id").values_list("id", flat=True)[keep - 1 : keep].first()
        doomed = Q(id__lt=cut) if cut is not None else Q(pk__in=[])
        if older_than is not None:
            doomed |= Q(at__lt=older_than)
        deleted, done = 0, 0
        while batches is None or done < batches:
            done += 1
            with transaction.atomic():  # a savepoint inside a caller's transaction
                ids = list(models.AuditEntry.objects.filter(doomed).order_by("id").values_list("id", flat=True)[:batch])
                if not ids:
                    return deleted
                deleted += models.AuditEntry.objects.filter(id__in=ids).delete()[0]
        return deleted
