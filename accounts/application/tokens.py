"""The API token use cases: people make, list and revoke their own tokens (operations:
anyone's); the API's authentication checks a presented key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from accounts.application.payloads import CreateToken
from accounts.application.ports import AccountsUnitOfWork
from accounts.domain.errors import TokenNotFound
from accounts.domain.events import TokenCreated, TokenRevoked
from accounts.domain.tokens import LAST_USED_RESOLUTION, ApiToken
from portal.kernel.actors import Actor, Source
from portal.kernel.events import created, removed


class Clock(Protocol):
    def now(self) -> datetime: ...


class TokenService:
    def __init__(self, *, uow_factory: Callable[[], AccountsUnitOfWork], clock: Clock):
        self._uow_factory = uow_factory
        self._clock = clock

    def get_list(self, actor: Actor) -> list[ApiToken]:
        """The actor's own tokens, newest first."""
        with self._uow_factory() as uow:
            return uow.tokens.get_list(user_id=actor.user_id)

    def get_one(self, actor: Actor, token_id: int) -> ApiToken:
        with self._uow_factory() as uow:
            return self._visible(uow, actor, token_id)

    def create_one(self, actor: Actor, payload: CreateToken) -> tuple[ApiToken, str]:
        """A new token of the actor's and its key, which is never shown again."""
        token, key = ApiToken.new(
            user_id=actor.user_id,
            description=payload.description,
            expires_at=payload.expires_at,
            write=payload.write,
            now=self._clock.now(),
        )
        token.username = actor.username
        with self._uow_factory() as uow:
            token = uow.tokens.create_one(token)
            uow.record(TokenCreated(**_about(token), changes=created(token.described())))
            uow.commit(by=actor)
        return token, key

    def delete_one(self, actor: Actor, token_id: int) -> None:
        """Revoke a token: it stops working at once."""
        with self._uow_factory() as uow:
            token = self._visible(uow, actor, token_id, changing=True)
            uow.tokens.delete_one(token_id)
            uow.record(TokenRevoked(**_about(token), changes=removed(token.described())))
            uow.commit(by=actor)

    def used(self, token: ApiToken) -> bool:
        """Whether a presented token may be used now (not expired); notes when it was
        last used, at most once a minute per token, so requests do not each write."""
        now = self._clock.now()
        if token.is_expired(now):
            return False
        if token.needs_touch(now):
            assert token.id is not None
            with self._uow_factory() as uow:
                uow.tokens.touch(token.id, now=now, not_since=now - LAST_USED_RESOLUTION)
                # Bookkeeping, not a change anyone made: nothing is recorded.
                uow.commit(by=Actor.system(Source.API))
        return True

    @staticmethod
    def _visible(uow: AccountsUnitOfWork, actor: Actor, token_id: int, *, changing: bool = False) -> ApiToken:
        token = uow.tokens.get_one(token_id)
        allowed = actor.changes_all if changing else actor.sees_all
        if token.user_id != actor.user_id and not allowed:
            raise TokenNotFound(token_id)
        return token


def _about(token: ApiToken) -> dict[str, object]:
    return {"target_id": str(token.id), "target_name": token.prefix, "owner": token.username}
