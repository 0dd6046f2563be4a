"""What the accounts use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from accounts.domain.model import Team
from accounts.domain.tokens import ApiToken
from portal.kernel.unit_of_work import AbstractUnitOfWork


class TeamRepository(abc.ABC):
    @abc.abstractmethod
    def get_one(self, team_id: int, *, for_update: bool = False, memberships: bool = True) -> Team:
        """The team with its memberships, or TeamNotFound; ``for_update`` locks it
        until commit (writes that count against its quotas take this lock).
        ``memberships=False``: without them (an empty list), for the use cases that
        only read its slug, quotas and project, and must not store it."""

    @abc.abstractmethod
    def get_by_slug(self, slug: str, *, for_update: bool = False, memberships: bool = True) -> Team: ...

    @abc.abstractmethod
    def create_one(self, team: Team) -> Team:
        """Store a new team (and its memberships); TeamSlugTaken."""

    @abc.abstractmethod
    def update_one(self, team: Team) -> Team:
        """Store the team's fields and memberships."""

    @abc.abstractmethod
    def projects_of(self, team_ids: Iterable[int]) -> dict[int, str | None]:
        """Each of these teams' project at providers that keep tenants apart (None: the
        provider's default), by team id, in one query; a team not found is left out."""


class UserDirectory(abc.ABC):
    @abc.abstractmethod
    def find(self, username: str) -> int | None:
        """The id of the active user with this username."""


class TokenRepository(abc.ABC):
    @abc.abstractmethod
    def get_one(self, token_id: int) -> ApiToken:
        """The token, or TokenNotFound."""

    @abc.abstractmethod
    def get_by_digest(self, digest: str) -> ApiToken | None: ...

    @abc.abstractmethod
    def get_list(self, *, user_id: int | None = None) -> list[ApiToken]: ...

    @abc.abstractmethod
    def create_one(self, token: ApiToken) -> ApiToken: ...

    @abc.abstractmethod
    def delete_one(self, token_id: int) -> None: ...

    @abc.abstractmethod
    def touch(self, token_id: int, *, now: datetime, not_since: datetime) -> None:
        """Set last_used_at to ``now`` unless it is already later than ``not_since``."""


class TeamUsage(Protocol):
    """Tells what each team holds (live load balancers, and the most members any one
    has).  Apps that keep a team's records plug one in, so accounts depends on none."""

    def usage_of(self, team_ids: Iterable[int]) -> dict[int, tuple[int, int]]: ...


class AccountsUnitOfWork(AbstractUnitOfWork):
    teams: TeamRepository
    users: UserDirectory
    tokens: TokenRepository
