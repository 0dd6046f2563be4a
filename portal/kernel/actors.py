"""Who asks for a use case, as every app's services know them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """Who is asking: people see and touch the records of their teams, as far as their
    role in each allows (``roles``: team id -> role name); operations staff see all
    records (``sees_all``) and change or delete all of them (``changes_all``) only with
    the permissions the admin asks for the same, so an account has the same power on
    every path."""

    user_id: int
    username: str
    sees_all: bool = False
    changes_all: bool = False
    roles: Mapping[int, str] = field(default_factory=dict)

    @property
    def team_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.roles))
