"""The one place where accounts rows and domain objects are converted."""

from __future__ import annotations

from accounts import models
from accounts.domain.model import Membership, Role, Team
from accounts.domain.tokens import ApiToken

_TOKEN_FIELDS = ("user_id", "digest", "prefix", "description", "write", "expires_at", "last_used_at", "created_at")


def team_to_domain(row: models.Team, memberships: list[models.Membership]) -> Team:
    return Team(
        id=row.pk,
        slug=row.slug,
        name=row.name,
        quota_load_balancers=row.quota_load_balancers,
        quota_members=row.quota_members,
        memberships=[Membership(m.user_id, m.user.get_username(), Role(m.role)) for m in memberships],
        created_at=row.created_at,
        project_id=row.project_id or None,
    )


def team_values(team: Team) -> dict[str, object]:
    return {
        "slug": team.slug,
        "name": team.name,
        "quota_load_balancers": team.quota_load_balancers,
        "quota_members": team.quota_members,
        "project_id": team.project_id or "",
    }


def token_to_domain(row: models.ApiToken) -> ApiToken:
    return ApiToken(id=row.pk, username=row.user.get_username(), **{name: getattr(row, name) for name in _TOKEN_FIELDS})


def token_values(token: ApiToken) -> dict[str, object]:
    return {name: getattr(token, name) for name in _TOKEN_FIELDS}
