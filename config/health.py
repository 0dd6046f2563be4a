"""Liveness and readiness probes for load balancers and orchestrators in front of
the portal: no authentication, JSON answers."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.celery import app


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
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means not ready
        return f"broker unreachable: {exc}"
    return None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "broker": _broker()}
    problems = {name: problem for name, problem in checks.items() if problem}
    if problems:
        return JsonResponse(
            {"error": "DependencyUnavailable", "message": "; ".join(problems.values()), "details": problems},
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": dict.fromkeys(checks, "ok")})
