"""Who may do what with a team's records: the one rule every app applies."""

from __future__ import annotations

from accounts.domain.errors import NotAllowed
from accounts.domain.model import Role
from portal.kernel.actors import Actor
from portal.kernel.errors import NotFound, PermissionDenied


def role_of(actor: Actor, team_id: int) -> Role | None:
    role = actor.roles.get(team_id)
    return None if role is None else Role(role)


def can_see(actor: Actor, team_id: int) -> bool:
    return actor.sees_all or team_id in actor.roles


def require(actor: Actor, *, team_id: int, team: str, needed: Role, action: str, hidden: NotFound) -> None:
    """Allow the actor, who wants to ``action`` in a team, if their role there is at
    least ``needed`` (operations with the permission to change: always).  Someone
    outside the team is told ``hidden`` (it does not exist), so names do not leak;
    read-only operations staff are told what they lack."""
    if actor.changes_all:
        return
    role = role_of(actor, team_id)
    if role is None:
        if needed is Role.VIEWER and actor.sees_all:
            return
        if actor.sees_all:
            raise PermissionDenied(
                f"you may see this but not {action}: that needs the permission to {action}, which operations"
                " give in the admin",
                details={"team": team},
            )
        raise hidden
    if not role.allows(needed):
        raise NotAllowed(team=team, role=role, needed=needed, action=action)


def may(actor: Actor, team_id: int, needed: Role) -> bool:
    """Whether ``require`` would let the actor act in the team with the role ``needed``."""
    if actor.changes_all:
        return True
    role = role_of(actor, team_id)
    if role is None:
        return needed is Role.VIEWER and actor.sees_all
    return role.allows(needed)
