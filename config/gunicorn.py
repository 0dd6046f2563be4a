"""gunicorn's settings for the portal (``gunicorn -c python:config.gunicorn``, as
``manage.py runportal`` starts it).  The command line still sets the rest."""

from __future__ import annotations

from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """A web worker ended: its metrics that count live processes only are dropped."""
    from portal.metrics import mark_process_dead

    mark_process_dead(worker.pid)
