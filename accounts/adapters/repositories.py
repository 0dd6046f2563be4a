from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts import models
from accounts.adapters import mappers
from accounts.application.ports import TeamRepository, TokenRepository, UserDirectory
from accounts.domain.errors import TeamNotFound, TeamSlugTaken, TokenNotFound
from accounts.domain.model import Team
from accounts.domain.tokens import ApiToken


class DjangoTeamRepository(TeamRepository):
    def get_one(self, team_id: int, *, for_update: bool = False, memberships: bool = True) -> Team:
        return self._get(Q(pk=team_id), team_id, for_update, memberships)

    def get_by_slug(self, slug: str, *, for_update: bool = False, memberships: bool = True) -> Team:
        return self._get(Q(slug=slug), slug, for_update, memberships)

    @staticmethod
    def _get(match: Q, key: object, for_update: bool, memberships: bool) -> Team:
        rows = models.Team.objects.select_for_update(no_key=True) if for_update else models.Team.objects
        row = rows.filter(match).first()
        if row is None:
            raise TeamNotFound(key)
        members = list(row.memberships.select_related("user").order_by("user__username")) if memberships else []
        return mappers.team_to_domain(row, members)

    def create_one(self, team: Team) -> Team:
        try:
            with transaction.atomic():
                row = models.Team.objects.create(**mappers.team_values(team))
        except IntegrityError:
            raise TeamSlugTaken(team.slug) from None
        team.id, team.created_at = row.pk, row.created_at
        self._store_memberships(team)
        return team

    def update_one(self, team: Team) -> Team:
        models.Team.objects.filter(pk=team.id).update(**mappers.team_values(team))
        self._store_memberships(team)
        return team

    def projects_of(self, team_ids: Iterable[int]) -> dict[int, str | None]:
        rows = models.Team.objects.filter(pk__in=set(team_ids)).values_list("pk", "project_id")
        return {team_id: project or None for team_id, project in rows}

    @staticmethod
    def _store_memberships(team: Team) -> None:
        wanted = {m.user_id: m.role.value for m in team.memberships}
        stored = dict(models.Membership.objects.filter(team_id=team.id).values_list("user_id", "role"))
        models.Membership.objects.filter(team_id=team.id, user_id__in=set(stored) - set(wanted)).delete()
        for user_id, role in wanted.items():
            if user_id not in stored:
                models.Membership.objects.create(team_id=team.id, user_id=user_id, role=role)
            elif stored[user_id] != role:
                models.Membership.objects.filter(team_id=team.id, user_id=user_id).update(role=role)


class DjangoUserDirectory(UserDirectory):
    def find(self, username: str) -> int | None:
        return (
            get_user_model()
            .objects.filter(**{get_user_model().USERNAME_FIELD: username, "is_active": True})
            .values_list("pk", flat=True)
            .first()
        )


class DjangoTokenRepository(TokenRepository):
    def get_one(self, token_id: int) -> ApiToken:
        row = models.ApiToken.objects.select_related("user").filter(pk=token_id).first()
        if row is None:
            raise TokenNotFound(token_id)
        return mappers.token_to_domain(row)

    def get_by_digest(self, digest: str) -> ApiToken | None:
        row = models.ApiToken.objects.select_related("user").filter(digest=digest).first()
        return None if row is None else mappers.token_to_domain(row)

    def get_list(self, *, user_id: int | None = None) -> list[ApiToken]:
        rows = models.ApiToken.objects.select_related("user")
        if user_id is not None:
            rows = rows.filter(user_id=user_id)
        return [mappers.token_to_domain(row) for row in rows]

    def create_one(self, token: ApiToken) -> ApiToken:
        token.id = models.ApiToken.objects.create(**mappers.token_values(token)).pk
        return token

    def delete_one(self, token_id: int) -> None:
        models.ApiToken.objects.filter(pk=token_id).delete()

    def touch(self, token_id: int, *, now: datetime, not_since: datetime) -> None:
        models.ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=not_since), pk=token_id
        ).update(last_used_at=now)
