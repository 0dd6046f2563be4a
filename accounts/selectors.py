"""The read side of accounts: teams with their members, quotas and usage; the roles a
user has (every request's actor); a presented token with its user (every API request
that sends one), each in one query."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Prefetch, Q, QuerySet

from accounts import models
from accounts.adapters import mappers
from accounts.application.payloads import TeamQuery
from accounts.application.read_model import MemberView, TeamReadModel, TeamView
from accounts.domain.model import Quotas
from accounts.domain.tokens import ApiToken
from portal.kernel.pagination import Page
from portal.paging import page_of

Usage = Callable[[Iterable[int]], dict[int, tuple[int, int]]]


# Where a user read with their token carries their roles (``token_with_user``), so that
# the request's actor needs no query of its own.
_ROLES = "_portal_roles"


def roles_of(user_id: int) -> dict[int, str]:
    """team id -> role, for every team of the user."""
    return dict(models.Membership.objects.filter(user_id=user_id).values_list("team_id", "role"))


def roles_of_user(user: AbstractBaseUser) -> dict[int, str]:
    """The user's roles: those read with their token in this request, or else read now."""
    carried = getattr(user, _ROLES, None)
    return dict(carried) if carried is not None else roles_of(user.pk)  # type: ignore[arg-type]


def token_with_user(digest: str) -> tuple[ApiToken, AbstractBaseUser] | None:
    """The token with this digest and its user, who carries their roles: one query (a
    row per team of the user; one row when they are in none)."""
    rows = list(
        models.ApiToken.objects.select_related("user")
        .filter(digest=digest)
        .annotate(member_of=F("user__memberships__team_id"), member_as=F("user__memberships__role"))
        .order_by()
    )
    if not rows:
        return None
    row = rows[0]
    setattr(row.user, _ROLES, {found.member_of: found.member_as for found in rows if found.member_of is not None})
    return mappers.token_to_domain(row), row.user


def slugs_of(team_ids: list[int]) -> dict[int, str]:
    return dict(models.Team.objects.filter(pk__in=team_ids).values_list("pk", "slug")) if team_ids else {}


def all_slugs(*, limit: int) -> list[str]:
    return list(models.Team.objects.order_by("slug").values_list("slug", flat=True)[:limit])


def team_id_of(slug: str) -> int | None:
    return models.Team.objects.filter(slug=slug).values_list("pk", flat=True).first()


def people_of(team_id: int) -> list[tuple[int, str, str, str]]:
    """(user id, username, e-mail, role) of each active member of a team."""
    rows = models.Membership.objects.filter(team_id=team_id, user__is_active=True).select_related("user")
    return [(m.user_id, m.user.get_username(), m.user.email or "", m.role) for m in rows.order_by("user_id")]


def team_rows() -> QuerySet[models.Team]:
    members = models.Membership.objects.select_related("user").order_by("user__username")
    return models.Team.objects.prefetch_related(Prefetch("memberships", queryset=members))


class DjangoTeamReadModel(TeamReadModel):
    def __init__(self, defaults: Quotas, usage: Usage):
        self._defaults = defaults
        self._usage = usage

    def get_one(self, slug: str) -> TeamView | None:
        row = team_rows().filter(slug=slug).first()
        return None if row is None else self._views([row])[0]

    def get_plist(self, query: TeamQuery) -> Page[TeamView]:
        rows = team_rows()
        if query.team_ids is not None:
            rows = rows.filter(pk__in=query.team_ids)
        if query.search:
            rows = rows.filter(Q(slug__icontains=query.search) | Q(name__icontains=query.search))
        return page_of(rows, query.page, self._views)

    def get_slugs(self, team_ids: tuple[int, ...]) -> list[str]:
        return list(models.Team.objects.filter(pk__in=team_ids).order_by("slug").values_list("slug", flat=True))

    def _views(self, rows: list[models.Team]) -> list[TeamView]:
        usage = self._usage([row.pk for row in rows])
        views = []
        for row in rows:
            team = mappers.team_to_domain(row, list(row.memberships.all()))
            views.append(
                TeamView(
                    id=row.pk,
                    slug=row.slug,
                    name=row.name,
                    members=[MemberView(m.username, m.role.value) for m in team.memberships],
                    quotas=team.quotas(self._defaults),
                    default_quotas=tuple(
                        name for name in ("load_balancers", "members") if getattr(row, f"quota_{name}") is None
                    ),
                    usage=Quotas(*usage.get(row.pk, (0, 0))),
                    created_at=row.created_at,
                )
            )
        return views
