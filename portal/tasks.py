from celery import shared_task

from portal.idempotency import prune_expired
from portal.runtime import WORKER, record_heartbeat


@shared_task(name="portal.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Sent by the scheduler through the broker: when a worker runs it, the whole path
    (scheduler, broker, worker, database) works."""
    record_heartbeat(WORKER)


@shared_task(name="portal.prune_idempotency", ignore_result=True)
def prune_idempotency() -> int:
    """Sent by the scheduler every hour: the answers kept for Idempotency-Keys are
    deleted once they expire (IDEMPOTENCY_TTL)."""
    return prune_expired()
