"""API tokens: shown once when made, stored only as a hash.

A key is 40 random URL-safe characters after the prefix ``lbp_`` (so secret scanners
and people recognise one).  Only its SHA-256 digest is stored: keys are random enough
that a slow hash adds nothing, and one indexed lookup per request finds the token.
The first characters are kept in clear (``prefix``) so that people can tell their
tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.kernel.errors import FieldErrors

KEY_PREFIX = "lbp_"
SHOWN_PREFIX_LENGTH = 12
DESCRIPTION_MAX_LENGTH = 200
MAX_LIFETIME = timedelta(days=3650)
# last_used_at is written at most this often per token: no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class ApiToken:
    id: int | None
    user_id: int
    digest: str
    prefix: str
    description: str = ""
    write: bool = True
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    created_at: datetime | None = None
    username: str = ""

    def described(self) -> dict[str, object]:
        return {
            "user": self.username,
            "prefix": self.prefix,
            "description": self.description,
            "write": self.write,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }

    @classmethod
    def new(
        cls, *, user_id: int, description: str, expires_at: datetime | None, write: bool, now: datetime
    ) -> tuple[ApiToken, str]:
        """A new token and its key (the only time the key exists outside the client)."""
        errors = FieldErrors()
        if not isinstance(description, str):
            errors.add("description", "description must be text")
        elif len(description) > DESCRIPTION_MAX_LENGTH:
            errors.add(
                "description",
                f"description must be at most {DESCRIPTION_MAX_LENGTH} characters (got {len(description)})",
            )
        if expires_at is not None:
            if expires_at.tzinfo is None:
                errors.add("expires_at", "expires_at needs a time zone (e.g. 2027-01-31T00:00:00Z)")
            elif expires_at <= now:
                errors.add("expires_at", "expires_at must be in the future")
            elif expires_at > now + MAX_LIFETIME:
                errors.add("expires_at", f"expires_at must be within {MAX_LIFETIME.days} days")
        if not isinstance(write, bool):
            errors.add("write", "write must be true or false")
        errors.raise_if_any("the token is not valid")
        key = KEY_PREFIX + secrets.token_urlsafe(30)
        token = cls(
            id=None,
            user_id=user_id,
            digest=digest_of(key),
            prefix=key[:SHOWN_PREFIX_LENGTH],
            description=description,
            write=write,
            expires_at=expires_at,
            created_at=now,
        )
        return token, key

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def needs_touch(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at > LAST_USED_RESOLUTION
