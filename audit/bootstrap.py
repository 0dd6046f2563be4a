"""Composition root of the audit trail: ``build()`` wires its use cases to the Django
adapters and the settings (AUDIT_RETENTION_ROWS, AUDIT_RETENTION_DAYS); tests call the
same function with fakes.  At start-up the app subscribes ``record_many`` to every
domain event of every app (``apps.AuditConfig.ready``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts import bootstrap as accounts_bootstrap
from audit.adapters.repositories import DjangoAuditRepository
from audit.application.ports import TeamDirectory
from audit.application.services import AuditService
from audit.domain.model import RetentionPolicy
from audit.selectors import DjangoAuditReadModel
from portal.kernel.actors import Actor
from portal.kernel.events import DomainEvent


class _Teams(TeamDirectory):
    def id_of(self, slug: str) -> int | None:
        return accounts_bootstrap.team_id(slug)

    def slugs_of(self, team_ids: list[int]) -> dict[int, str]:
        return accounts_bootstrap.team_slugs(team_ids)


def team_slugs(*, limit: int) -> list[str]:
    """Up to ``limit`` team slugs, in order (the admin's team filter)."""
    return accounts_bootstrap.all_team_slugs(limit=limit)


def team_id(slug: str) -> int | None:
    return accounts_bootstrap.team_id(slug)


def policy() -> RetentionPolicy:
    return RetentionPolicy(rows=settings.AUDIT_RETENTION_ROWS, days=settings.AUDIT_RETENTION_DAYS)


def actor(request: Any, records: str = "audit.auditentry") -> Actor:
    """The signed-in user of this request, as the trail scopes what they read (staff:
    all of it with the permission to view ``records``)."""
    return accounts_bootstrap.actor(request, records)


_DEFAULTS: dict[str, Callable[[], Any]] = {
    "repository": DjangoAuditRepository,
    "read_model": DjangoAuditReadModel,
    "teams": _Teams,
    "policy": policy,
    "now": lambda: timezone.now,
}


def build(**overrides: Any) -> AuditService:
    """The audit use cases.  ``overrides`` replace any of: ``repository``,
    ``read_model``, ``teams``, ``policy``, ``now``."""
    if unknown := set(overrides) - set(_DEFAULTS):
        raise TypeError(f"build() got unknown parts: {', '.join(sorted(unknown))}")
    part = {name: overrides[name] if name in overrides else make() for name, make in _DEFAULTS.items()}
    return AuditService(
        repository=part["repository"],
        read_model=part["read_model"],
        teams=part["teams"],
        policy=part["policy"],
        now=part["now"],
    )


def record(event: object) -> None:
    """Every committed domain event becomes an entry."""
    if isinstance(event, DomainEvent):
        build().record(event)


def record_many(happened: list[object]) -> None:
    """The bus's batch subscriber: a commit's domain events become entries, stored
    together."""
    events = [event for event in happened if isinstance(event, DomainEvent)]
    if events:
        build().record_many(events)
