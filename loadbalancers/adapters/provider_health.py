"""Each provider's recent calls as every process of the portal sees them
(models.ProviderHealth, the ops dashboard): the last success, the last failure and its
error, and the calls and failures of the current minute and of the one before.

One statement per call, an upsert in autocommit: the row is never locked for longer
than that statement, and never inside a transaction (where it would stay locked until
the transaction ends, and every other process's calls would queue behind it).  Keeping
this record never fails the call it records."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, connection

from loadbalancers import models

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 1000


def record_call(provider: str, *, at: datetime, error: str | None) -> bool:
    """Count one call to ``provider`` made at ``at`` (``error``: why it failed; None: it
    answered).  When the minute of ``at`` is later than the row's, the row's minute rolls
    into previous_* first (zeros when the row's is older than the minute before).  False
    when nothing was recorded: inside a transaction, or the database failed."""
    if connection.in_atomic_block:
        return False
    minute = at.replace(second=0, microsecond=0)
    ops = connection.ops
    table = ops.quote_name(models.ProviderHealth._meta.db_table)
    failed = error is not None
    values = {
        "provider": provider,
        "success_at": None if failed else ops.adapt_datetimefield_value(at),
        "failure_at": ops.adapt_datetimefield_value(at) if failed else None,
        "error": (error or "")[:ERROR_MAX_LENGTH],
        "minute": ops.adapt_datetimefield_value(minute),
        "previous_minute": ops.adapt_datetimefield_value(minute - timedelta(minutes=1)),
        "failures": 1 if failed else 0,
    }
    # t: the row as it was; excluded: the row this call would insert.  A call from a
    # process whose minute is behind the row's (clocks a little apart) counts in the row's.
    newer = f"({table}.minute IS NULL OR {table}.minute < excluded.minute)"
    statement = f"""
        INSERT INTO {table} (provider, last_success_at, last_failure_at, last_error, minute,
                             calls, failures, previous_calls, previous_failures)
        VALUES (%(provider)s, %(success_at)s, %(failure_at)s, %(error)s, %(minute)s, 1, %(failures)s, 0, 0)
        ON CONFLICT (provider) DO UPDATE SET
            last_success_at = COALESCE(excluded.last_success_at, {table}.last_success_at),
            last_failure_at = COALESCE(excluded.last_failure_at, {table}.last_failure_at),
            last_error = CASE WHEN excluded.last_failure_at IS NULL THEN {table}.last_error
                              ELSE excluded.last_error END,
            previous_calls = CASE WHEN {table}.minute = %(previous_minute)s THEN {table}.calls
                                  WHEN {newer} THEN 0 ELSE {table}.previous_calls END,
            previous_failures = CASE WHEN {table}.minute = %(previous_minute)s THEN {table}.failures
                                     WHEN {newer} THEN 0 ELSE {table}.previous_failures END,
            calls = CASE WHEN {newer} THEN 1 ELSE {table}.calls + 1 END,
            failures = CASE WHEN {newer} THEN excluded.failures ELSE {table}.failures + excluded.failures END,
            minute = CASE WHEN {newer} THEN excluded.minute ELSE {table}.minute END
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, values)
    except DatabaseError:
        logger.warning("the health of provider %s was not recorded", provider, exc_info=True)
        return False
    return True
