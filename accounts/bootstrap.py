"""Composition root of the accounts app: ``build()`` wires the team and token use cases
to the Django adapters and the settings; tests call the same function with fakes.

Apps that keep a team's records tell accounts what each team holds
(``register_usage``), so that team pages show their usage without accounts depending
on those apps."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from accounts import selectors
from accounts.adapters.repositories import DjangoTeamRepository
from accounts.adapters.unit_of_work import DjangoAccountsUnitOfWork
from accounts.application.ports import TeamRepository, TeamUsage
from accounts.application.teams import TeamService
from accounts.application.tokens import TokenService
from accounts.domain.model import Quotas
from portal import events as portal_events
from portal.kernel.actors import Actor, Source
from portal.requests import powers_of, request_id_of, source_of

_usages: list[TeamUsage] = []


def register_usage(usage: TeamUsage) -> None:
    if usage not in _usages:
        _usages.append(usage)


def usage_of(team_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(live load balancers, most members on one) per team, summed over every app."""
    wanted = list(team_ids)
    total: dict[int, tuple[int, int]] = {}
    for usage in _usages:
        for team_id, (count, members) in usage.usage_of(wanted).items():
            before = total.get(team_id, (0, 0))
            total[team_id] = (before[0] + count, max(before[1], members))
    return total


def quota_defaults() -> Quotas:
    """The quotas of a team that has none of its own (TEAM_QUOTA_LOAD_BALANCERS, TEAM_QUOTA_MEMBERS)."""
    return Quotas(load_balancers=settings.TEAM_QUOTA_LOAD_BALANCERS, members=settings.TEAM_QUOTA_MEMBERS)


def team_slugs(team_ids: list[int]) -> dict[int, str]:
    """The slug of each of these teams (for apps that store team ids only)."""
    return selectors.slugs_of(team_ids)


def all_team_slugs(*, limit: int) -> list[str]:
    return selectors.all_slugs(limit=limit)


def team_id(slug: str) -> int | None:
    return selectors.team_id_of(slug)


def team_people(team_id: int) -> list[tuple[int, str, str, str]]:
    """(user id, username, e-mail, role) of each active member of a team (notifications)."""
    return selectors.people_of(team_id)


def team_repository() -> TeamRepository:
    """The teams as another app's unit of work reads (and locks) them, in its transaction."""
    return DjangoTeamRepository()


def actor(request: Any, records: str) -> Actor:
    """The signed-in user of this request as the use cases know them, with their role
    in each team, and where the request came from (for the audit trail).  ``records``
    names the model whose rows the use cases guard ("app_label.model"): staff status
    alone gives no power over other teams' records, the model permissions the admin
    asks for do, so an account can do the same through the API, the pages and the
    admin."""
    return actor_of(request.user, records, source=source_of(request), request_id=request_id_of(request))


def actor_of(
    user: AbstractBaseUser | AnonymousUser, records: str, *, source: str = Source.CLI, request_id: str | None = None
) -> Actor:
    """A user as the use cases know them, outside a request (a management command)."""
    sees_all, changes_all = powers_of(user, records)
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        sees_all=sees_all,
        changes_all=changes_all,
        roles=selectors.roles_of_user(user) if user.pk is not None else {},  # type: ignore[arg-type]
        source=source,
        request_id=request_id,
    )


class _Clock:
    def now(self):  # type: ignore[no-untyped-def]
        return timezone.now()


@dataclass(frozen=True)
class AccountsServices:
    teams: TeamService
    tokens: TokenService


_DEFAULTS: dict[str, Callable[[], Any]] = {
    "unit_of_work": lambda: DjangoAccountsUnitOfWork,
    "read_model": lambda: selectors.DjangoTeamReadModel(quota_defaults(), usage_of),
    "clock": _Clock,
    "subscribers": portal_events.subscribers,
}


def build(**overrides: Any) -> AccountsServices:
    """The accounts use cases.  ``overrides`` replace any of: ``unit_of_work`` (called
    with the message bus, it opens an AccountsUnitOfWork), ``read_model``, ``clock``,
    ``subscribers`` (the handlers of the events committed)."""
    if unknown := set(overrides) - set(_DEFAULTS):
        raise TypeError(f"build() got unknown parts: {', '.join(sorted(unknown))}")
    part = {name: overrides[name] if name in overrides else make() for name, make in _DEFAULTS.items()}
    uow_factory = functools.partial(part["unit_of_work"], portal_events.bus({}, part["subscribers"]))
    return AccountsServices(
        teams=TeamService(uow_factory=uow_factory, read_model=part["read_model"]),
        tokens=TokenService(uow_factory=uow_factory, clock=part["clock"]),
    )
