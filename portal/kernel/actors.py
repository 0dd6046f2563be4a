"""Who asks for a use case, as every app's services know them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is asking: people see and touch their own records; operations staff see
    all of them (``sees_all``) and change or delete all of them (``changes_all``) only
    with the permissions the admin asks for the same, so an account has the
    same power on every path."""

    user_id: int
    username: str
    sees_all: bool = False
    changes_all: bool = False
