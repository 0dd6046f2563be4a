"""Liveness and readiness probes for load balancers and orchestrators in front of
the portal: no authentication, JSON answers.

/readyz checks what it claims, each within a bound: the database answers, the broker
takes messages (the embedded broker's folder is writable; a broker server answers
within BROKER_TIMEOUT), and the worker and the scheduler have sent a heartbeat within
HEARTBEAT_MAX_AGE.  A 503 names each part that is down."""

from __future__ import annotations

from pathlib import Path

from celery import current_app as app
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from portal.broker import call_within, folder_problem
from portal.runtime import heartbeat_problems


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"database unreachable: {exc}"
    return None


def _broker() -> str | None:
    options = app.conf.broker_transport_options or {}
    if app.conf.broker_url.startswith("filesystem://"):
        folders = {options.get("data_folder_in"), options.get("data_folder_out"), options.get("control_folder")}
        return folder_problem([Path(folder) for folder in folders if folder])

    def connect() -> None:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.BROKER_TIMEOUT)

    try:
        call_within(settings.BROKER_TIMEOUT, connect, what="checking the broker")
    except Exception as exc:  # noqa: BLE001 - any failure to connect means not ready
        return f"broker unreachable: {exc}"
    return None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str | None] = {"database": _database(), "broker": _broker()}
    if checks["database"] is None:
        checks.update(dict.fromkeys(("worker", "scheduler")))
        checks.update(heartbeat_problems(settings.HEARTBEAT_MAX_AGE))
    else:
        checks.update(dict.fromkeys(("worker", "scheduler"), "unknown: their heartbeats are kept in the database"))
    problems = {name: problem for name, problem in checks.items() if problem}
    if problems:
        return JsonResponse(
            {"error": "DependencyUnavailable", "message": "; ".join(problems.values()), "details": problems},
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": dict.fromkeys(checks, "ok")})
