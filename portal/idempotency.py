"""Idempotent requests: a client that sends a write with an ``Idempotency-Key`` header
may send it again (after a timeout, a lost connection) without doing the work twice.

The first request with a key claims it: one row per user and key, inserted in a write
of its own and committed at once, so that concurrent requests with the key meet at the
unique constraint and exactly one of them runs.  Its answer is kept in the row for
IDEMPOTENCY_TTL seconds; a repeat of the same request gets that answer again, a
different request with the key is refused (422), and a repeat that arrives while the
first still runs is told so (409).  An answer that says "try again" (a 5xx, a crash)
is not kept: the claim is released, and the client may retry with the same key.

What is not covered: a process that dies after its work was committed and before its
answer was kept leaves its claim behind; after ABANDONED_AFTER a repeat takes the claim
over and runs the request again.  (Requests never run that long: a web server's worker
timeout is far shorter.)

The HTTP side (the header, replaying an answer) is ``portal.api.idempotency``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.kernel.errors import Conflict, PortalError
from portal.models import IdempotentRequest

# A claim without an answer this old belongs to a process that died mid-request.
ABANDONED_AFTER = timedelta(minutes=5)
# Each attempt loses only when another request changed the row in between (finished and
# expired, or taken over); past these, the key is as good as in use.
CLAIM_ATTEMPTS = 3


class IdempotencyKeyReused(PortalError):
    """The key was used for another request (another method, path, query or body)."""

    status_code = 422
    default_message = "the Idempotency-Key was already used for another request; send a new key with a new request"


class IdempotencyKeyInProgress(Conflict):
    default_message = (
        "a request with this Idempotency-Key is still in progress; send it again once that one is answered"
    )


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: it runs, and its answer is kept (or the claim released)."""

    row_id: int
    claimed_at: datetime


@dataclass(frozen=True)
class KeptAnswer:
    """The answer to the first request with the key, for a repeat to get again."""

    status_code: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request: the method, the path with its query
    string, and the body, a JSON body compared by content (the order of its keys and the
    white space between its tokens do not count)."""
    digest = hashlib.sha256()
    for part in (method.upper().encode("ascii", "backslashreplace"), path.encode("utf-8", "backslashreplace")):
        digest.update(part)
        digest.update(b"\n")
    digest.update(_canonical(body))
    return digest.hexdigest()


def _canonical(body: bytes) -> bytes:
    if not body:
        return b""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode("ascii")
    except (ValueError, RecursionError):  # not JSON (or too deep to compare): the bytes as sent
        return body


def claim(*, user_id: int, key: str, fingerprint: str, method: str, path: str) -> Claimed | KeptAnswer:
    """Claims the key for this request, or returns the answer kept for the same request.

    Raises IdempotencyKeyReused when the key was used for another request, and
    IdempotencyKeyInProgress when the same request holds it and has not been answered."""
    for _ in range(CLAIM_ATTEMPTS):
        now = timezone.now()
        try:
            # Committed at once (a savepoint only when the caller is in a transaction),
            # so that a concurrent request with the key sees it.
            with transaction.atomic():
                row = IdempotentRequest.objects.create(
                    user_id=user_id,
                    key=key,
                    fingerprint=fingerprint,
                    method=method,
                    path=path,
                    created_at=now,
                    expires_at=now + _ttl(),
                )
            return Claimed(row.pk, now)
        except IntegrityError:
            pass
        held = IdempotentRequest.objects.filter(user_id=user_id, key=key).first()
        if held is None:  # released in the meantime: claim it again
            continue
        if held.expires_at <= now:
            IdempotentRequest.objects.filter(pk=held.pk, expires_at=held.expires_at).delete()
            continue
        if held.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "the Idempotency-Key was already used for another request "
                f"({held.method} {held.path}); send a new key with a new request",
                details={"method": held.method, "path": held.path},
            )
        if held.status_code is not None:
            return KeptAnswer(held.status_code, json.loads(held.body), dict(held.headers))
        if held.created_at > now - ABANDONED_AFTER:
            raise IdempotencyKeyInProgress()
        taken = IdempotentRequest.objects.filter(pk=held.pk, status_code=None, created_at=held.created_at).update(
            created_at=now, expires_at=now + _ttl()
        )
        if taken:
            return Claimed(held.pk, now)
    raise IdempotencyKeyInProgress()


def keep(claimed: Claimed, *, status_code: int, body: str, headers: dict[str, str]) -> None:
    """Keeps the answer of the request that holds the claim, for its repeats: its status,
    its data as JSON text (``body``) and the headers a repeat gets too."""
    IdempotentRequest.objects.filter(pk=claimed.row_id, created_at=claimed.claimed_at, status_code=None).update(
        status_code=status_code, body=body, headers=headers
    )


def release(claimed: Claimed) -> None:
    """Gives the key back: the request failed in a way worth retrying, with the same key."""
    IdempotentRequest.objects.filter(pk=claimed.row_id, created_at=claimed.claimed_at, status_code=None).delete()


def prune_expired() -> int:
    """Deletes the keys (and answers) past their time; returns how many."""
    deleted, _ = IdempotentRequest.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def _ttl() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_TTL)
