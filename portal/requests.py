"""Where a request came from, for the record of what it changed: its id (taken from a
trusted proxy's ``X-Request-ID`` when it is well formed, made up otherwise, and sent
back on every response) and the door it came through (API, pages, admin)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse

from portal.kernel.actors import Actor, Source

HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(HEADER, "")
        request.request_id = given if _WELL_FORMED.fullmatch(given) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        return response


def source_of(request: Any) -> Source:
    path = getattr(request, "path", "") or ""
    if path.startswith("/admin/"):
        return Source.ADMIN
    if path.startswith(("/api/", "/api-auth/")):
        return Source.API
    return Source.PAGE


def request_id_of(request: Any) -> str | None:
    return getattr(request, "request_id", None)


def powers_of(user: AbstractBaseUser | AnonymousUser, records: str) -> tuple[bool, bool]:
    """Whether a user sees and changes every row of ``records`` ("app_label.model"):
    active staff with the model permissions the admin asks for (the permission to
    change includes the one to see), so an account has the same power on every path."""
    app_label, model = records.split(".")
    operations = bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))
    changes_all = operations and user.has_perm(f"{app_label}.change_{model}")
    return changes_all or (operations and user.has_perm(f"{app_label}.view_{model}")), changes_all


def staff_actor(request: Any, records: str) -> Actor:
    """The signed-in user, for use cases that only operations staff may call (the
    server inventory): their powers over ``records``, no teams."""
    user: AbstractBaseUser | AnonymousUser = request.user
    sees_all, changes_all = powers_of(user, records)
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        sees_all=sees_all,
        changes_all=changes_all,
        source=source_of(request),
        request_id=request_id_of(request),
    )
