"""The audit trail against the real database: the retention rule keeps the newest
entries (and none past its age), also while many writers and pruners run at once; an
entry is part of its caller's transaction, and its failure never breaks that one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from audit import bootstrap
from audit import models as audit_models
from audit.adapters.repositories import DjangoAuditRepository
from audit.domain.model import AuditEntry, RetentionPolicy
from portal.kernel.events import Change, Context
from servers.domain.events import ServerCreated, ServerStatusChanged
from tests.conftest import needs_postgres

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def event(n: int, *, at: datetime = NOW) -> ServerCreated:
    """A committed event, as the unit of work hands it to the bus."""
    return ServerCreated(
        target_id=str(n),
        target_name=f"web-{n}",
        changes=(Change("name", None, f"web-{n}"),),
        context=Context(actor_id=7, actor="ops", source="admin", request_id=f"req-{n}", at=at),
    )


def write(count: int, *, at: datetime = NOW) -> list[int]:
    """``count`` entries written straight through the repository (no pruning); their ids."""
    repository = DjangoAuditRepository()
    return [repository.create_one(AuditEntry.of(event(n, at=at))).id for n in range(count)]


def trail(**overrides) -> object:  # type: ignore[no-untyped-def]
    return bootstrap.build(now=lambda: NOW, **overrides)


def stored_ids() -> list[int]:
    return sorted(audit_models.AuditEntry.objects.values_list("id", flat=True))


# -- the retention rule ---------------------------------------------------------------------------


def test_prune_keeps_exactly_the_newest_rows():
    ids = write(25)

    deleted = trail(policy=RetentionPolicy(rows=10)).prune()

    assert deleted == 15
    assert stored_ids() == sorted(ids)[-10:]


def test_prune_with_an_age_drops_the_older_entries_whatever_their_id():
    recent = write(3, at=NOW - timedelta(days=1))
    old = write(4, at=NOW - timedelta(days=10))  # newer ids, older times
    more_recent = write(2, at=NOW - timedelta(days=6, hours=23))

    deleted = trail(policy=RetentionPolicy(rows=100, days=7)).prune()

    assert deleted == len(old)
    assert stored_ids() == sorted(recent + more_recent)


def test_prune_applies_the_row_limit_and_the_age_together():
    old = write(3, at=NOW - timedelta(days=30))
    recent = write(6, at=NOW - timedelta(hours=1))

    deleted = trail(policy=RetentionPolicy(rows=4, days=7)).prune()

    assert deleted == len(old) + 2
    assert stored_ids() == sorted(recent)[-4:]


def test_a_batch_smaller_than_the_excess_still_deletes_all_of_it():
    ids = write(30)

    deleted = trail(policy=RetentionPolicy(rows=5, batch=4)).prune()

    assert deleted == 25
    assert stored_ids() == sorted(ids)[-5:]


def test_a_batch_smaller_than_the_excess_of_old_entries_still_deletes_all_of_them():
    write(11, at=NOW - timedelta(days=9))
    recent = write(2)

    deleted = trail(policy=RetentionPolicy(rows=100, days=7, batch=3)).prune()

    assert deleted == 11
    assert stored_ids() == sorted(recent)


def test_prune_on_fewer_entries_than_kept_deletes_nothing():
    assert trail(policy=RetentionPolicy(rows=10)).prune() == 0  # an empty trail

    ids = write(9)

    assert trail(policy=RetentionPolicy(rows=10)).prune() == 0
    assert trail(policy=RetentionPolicy(rows=9)).prune() == 0
    assert stored_ids() == sorted(ids)


def test_recording_prunes_every_so_many_entries():
    service = trail(policy=RetentionPolicy(rows=10))  # every = 1: each entry prunes

    recorded = [service.record(event(n)).id for n in range(15)]

    assert stored_ids() == sorted(recorded)[-10:]


def test_an_entry_reads_back_as_it_was_recorded():
    recorded = trail().record(
        ServerStatusChanged(
            target_id="42",
            target_name="web-42",
            changes=(Change("status", "OK", "DOWN"),),
            context=Context(actor_id=7, actor="ops", source="admin", request_id="abc-123", at=NOW),
        )
    )

    row = audit_models.AuditEntry.objects.get(pk=recorded.id)
    assert (row.actor_id, row.actor, row.source, row.request_id, row.at) == (7, "ops", "admin", "abc-123", NOW)
    assert (row.action, row.target_type, row.target_id, row.target_name) == (
        "server.status_changed",
        "server",
        "42",
        "web-42",
    )
    assert row.message == "server web-42 is now DOWN (was OK)"
    assert row.changes == [{"field": "status", "before": "OK", "after": "DOWN"}]


# -- many at once (PostgreSQL: SQLite serialises every writer) --------------------------------------


def together(*calls):  # type: ignore[no-untyped-def]
    """Run the calls at the same moment, each in its own thread and connection; their
    results (an exception in any of them fails the test)."""
    barrier = threading.Barrier(len(calls))

    def run(call):  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


WRITERS = 8
EACH = 50
KEEP = 40


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_that_prune_never_drop_one_of_the_newest_entries():
    def writer(number: int):  # type: ignore[no-untyped-def]
        def write_all() -> list[int]:
            service = bootstrap.build(policy=RetentionPolicy(rows=KEEP))  # prunes every 4 entries
            return [service.record(event(number * 1000 + n)).id for n in range(EACH)]

        return write_all

    written = sorted(i for ids in together(*(writer(w) for w in range(WRITERS))) for i in ids)

    assert len(written) == len(set(written)) == WRITERS * EACH
    survivors = stored_ids()
    deleted = sorted(set(written) - set(survivors))
    assert deleted, "the writers pruned nothing: the test proves nothing"
    newest = written[-KEEP:]
    assert set(newest) <= set(survivors)
    for gone in deleted:
        assert sum(1 for kept in survivors if kept > gone) >= KEEP, f"entry {gone} went with too few newer ones"

    bootstrap.build(policy=RetentionPolicy(rows=KEEP)).prune()

    assert stored_ids() == newest


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_pruners_together_leave_exactly_the_newest_entries():
    with transaction.atomic():
        ids = write(500)
    policy = RetentionPolicy(rows=100, batch=37)

    deleted = together(*[lambda: bootstrap.build(policy=policy).prune()] * 6)

    assert sum(deleted) == 400
    assert stored_ids() == sorted(ids)[-100:]


# -- transactions -----------------------------------------------------------------------------------


class Rollback(Exception):
    pass


def test_an_entry_written_in_a_transaction_that_rolls_back_is_gone():
    written = []

    def write_then_fail() -> None:
        with transaction.atomic():
            written.append(trail().record(event(1)).id)
            written.append(audit_models.AuditEntry.objects.filter(pk=written[0]).count())
            raise Rollback

    with pytest.raises(Rollback):
        write_then_fail()

    assert written[1] == 1  # it was there inside the transaction
    assert audit_models.AuditEntry.objects.count() == 0


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_an_entry_that_fails_to_write_leaves_the_callers_transaction_usable(monkeypatch):
    def failing_create(**values):  # type: ignore[no-untyped-def]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # a real error: PostgreSQL aborts the transaction

    with transaction.atomic():
        before = trail().record(event(1))
        with monkeypatch.context() as patched:
            patched.setattr(audit_models.AuditEntry.objects, "create", failing_create)
            with pytest.raises(DatabaseError):
                trail().record(event(2))
        after = trail().record(event(3))  # the transaction still works after the failure

    assert [row.target_id for row in audit_models.AuditEntry.objects.order_by("id")] == ["1", "3"]
    assert stored_ids() == [before.id, after.id]
