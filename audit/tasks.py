"""Thin Celery task: the beat scheduler applies the retention rule now and then, so a
quiet installation drops entries past AUDIT_RETENTION_DAYS too."""

from celery import shared_task

from audit import bootstrap


@shared_task(name="audit.prune", ignore_result=True)
def prune() -> int:
    return bootstrap.build().prune()
