"""Errors of teams, roles, quotas and tokens, in the portal's one hierarchy."""

from __future__ import annotations

from portal.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class TeamNotFound(NotFound):
    def __init__(self, slug: object):
        super().__init__(f"team {slug} does not exist", details={"team": str(slug)})


class TeamSlugTaken(Conflict):
    def __init__(self, slug: str):
        super().__init__(f"a team named {slug!r} already exists", details={"slug": [f"{slug!r} is taken"]})


class NotAllowed(PermissionDenied):
    """The caller belongs to the team, but their role does not allow this."""

    def __init__(self, *, team: str, role: str | None, needed: str, action: str):
        has = f"your role there is {role}" if role else "you have no role there"
        super().__init__(
            f"to {action} in team {team} you need the role {needed}; {has}",
            details={"team": team, "role": role, "needed": needed},
        )


class QuotaExceeded(PermissionDenied):
    """A write would take a team past one of its quotas."""

    def __init__(self, *, team: str, limit: str, quota: int, usage: int, requested: int, message: str):
        super().__init__(
            message, details={"team": team, "limit": limit, "quota": quota, "usage": usage, "requested": requested}
        )


class LastOwner(Conflict):
    def __init__(self, team: str, username: str):
        super().__init__(
            f"{username} is the last owner of team {team}: make someone else owner first",
            details={"team": team, "username": username},
        )


class AlreadyMember(Conflict):
    def __init__(self, team: str, username: str, role: str):
        super().__init__(
            f"{username} is already in team {team} (as {role}); change their role instead",
            details={"team": team, "username": username, "role": role},
        )


class MemberNotFound(NotFound):
    def __init__(self, team: str, username: str):
        super().__init__(f"{username} is not a member of team {team}", details={"team": team, "username": username})


class UnknownUser(ValidationFailed):
    def __init__(self, username: str):
        super().__init__(
            f"there is no active user named {username!r}", details={"username": [f"no active user {username!r}"]}
        )


class TokenNotFound(NotFound):
    def __init__(self, token_id: object):
        super().__init__(f"API token {token_id} does not exist", details={"id": str(token_id)})


class ReadOnlyToken(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "this API token is read-only: it may read but not change anything; use a token made with write: true"
        )
