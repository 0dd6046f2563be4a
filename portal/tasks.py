from celery import shared_task

from portal.runtime import WORKER, record_heartbeat


@shared_task(name="portal.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Sent by the scheduler through the broker: when a worker runs it, the whole path
    (scheduler, broker, worker, database) works."""
    record_heartbeat(WORKER)
