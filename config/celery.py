import os

from celery import Celery
from celery.signals import worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_shutdown.connect
def _metrics_of_a_pool_process_end(pid: int | None = None, **_: object) -> None:
    """A process of the worker's pool ended: its metrics that count live processes only
    are dropped (its counters stay in the sums of /metrics)."""
    from portal.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())
