"""The team use cases: read teams, and manage who is in them with which role (owners),
and the teams themselves, their quotas and their provider project (operations)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from accounts.application.payloads import AddMember, CreateTeam, TeamQuery, UpdateTeam
from accounts.application.ports import AccountsUnitOfWork
from accounts.application.read_model import TeamReadModel, TeamView
from accounts.domain import access
from accounts.domain.errors import MemberNotFound, TeamNotFound, UnknownUser
from accounts.domain.events import MemberAdded, MemberRemoved, RoleChanged, TeamCreated, TeamUpdated
from accounts.domain.model import Role, Team, role_errors
from portal.kernel.actors import Actor
from portal.kernel.errors import FieldErrors, PermissionDenied
from portal.kernel.events import Change, changes_between, created
from portal.kernel.pagination import Page

OPERATIONS_ONLY = "only operations staff (with the permission to change teams) may"


class TeamService:
    def __init__(self, *, uow_factory: Callable[[], AccountsUnitOfWork], read_model: TeamReadModel):
        self._uow_factory = uow_factory
        self._read_model = read_model

    # -- reads --------------------------------------------------------------------------

    def get_one(self, actor: Actor, slug: str) -> TeamView:
        view = self._read_model.get_one(slug)
        if view is None or not access.can_see(actor, view.id):
            raise TeamNotFound(slug)
        return view

    def get_plist(self, actor: Actor, query: TeamQuery) -> Page[TeamView]:
        query.page.check(TeamQuery.SORTABLE)
        return self._read_model.get_plist(replace(query, team_ids=None if actor.sees_all else actor.team_ids))

    def get_list_for(self, actor: Actor, needed: Role, *, limit: int = 500) -> list[TeamView]:
        """The teams where the actor may act with the role ``needed`` (operations who
        may change everything: every team), by slug."""
        mine = tuple(team_id for team_id, role in actor.roles.items() if Role(role).allows(needed))
        query = TeamQuery(team_ids=None if actor.changes_all else mine)
        return self._read_model.get_plist(replace(query, page=replace(query.page, limit=limit))).items

    def get_slugs_mine(self, actor: Actor) -> list[str]:
        """The slugs of the teams the actor is in, in order (to filter a list by)."""
        return self._read_model.get_slugs(actor.team_ids)

    # -- teams (operations) ---------------------------------------------------------------

    def create_one(self, actor: Actor, payload: CreateTeam) -> TeamView:
        if not actor.changes_all:
            raise PermissionDenied(f"{OPERATIONS_ONLY} create teams")
        team = Team.new(
            slug=payload.slug,
            name=payload.name,
            quota_load_balancers=payload.quota_load_balancers,
            quota_members=payload.quota_members,
            project_id=payload.project_id,
        )
        with self._uow_factory() as uow:
            team = uow.teams.create_one(team)
            uow.record(TeamCreated(**_about(team), changes=created(team.described())))
            uow.commit(by=actor)
        return self.get_one(actor, team.slug)

    def update_one(self, actor: Actor, slug: str, payload: UpdateTeam) -> TeamView:
        """Owners may rename their team; quotas and the provider project are for operations."""
        with self._uow_factory() as uow:
            team = uow.teams.get_by_slug(slug, for_update=True)
            if payload.changes_quotas and not actor.changes_all:
                self._require(actor, team, Role.VIEWER, "see the team")
                raise PermissionDenied(f"{OPERATIONS_ONLY} change a team's quotas", details={"team": slug})
            if payload.changes_project and not actor.changes_all:
                self._require(actor, team, Role.VIEWER, "see the team")
                raise PermissionDenied(f"{OPERATIONS_ONLY} change a team's provider project", details={"team": slug})
            self._require(actor, team, Role.OWNER, "rename the team")
            before = team.described()
            team.change(
                name=payload.name,
                quota_load_balancers=payload.quota_load_balancers,
                quota_members=payload.quota_members,
                clear_quotas=payload.clear_quotas,
                project_id=payload.project_id,
                clear_project=payload.clear_project,
            )
            if changes := changes_between(before, team.described()):
                uow.teams.update_one(team)
                uow.record(TeamUpdated(**_about(team), changes=changes))
                uow.commit(by=actor)
        return self.get_one(actor, slug)

    # -- membership (owners) ---------------------------------------------------------------

    def add_member(self, actor: Actor, slug: str, payload: AddMember) -> TeamView:
        role = self._role(payload.role)
        with self._uow_factory() as uow:
            team = uow.teams.get_by_slug(slug, for_update=True)
            self._require(actor, team, Role.OWNER, "add members")
            team.add_member(self._user(uow, payload.username), payload.username, role)
            uow.teams.update_one(team)
            uow.record(
                MemberAdded(
                    **_about(team),
                    username=payload.username,
                    role=role.value,
                    changes=(Change(f"member {payload.username}", None, role.value),),
                )
            )
            uow.commit(by=actor)
        return self.get_one(actor, slug)

    def change_role(self, actor: Actor, slug: str, username: str, role: str) -> TeamView:
        new_role = self._role(role)
        with self._uow_factory() as uow:
            team = uow.teams.get_by_slug(slug, for_update=True)
            self._require(actor, team, Role.OWNER, "change roles")
            user_id = self._member(team, username)
            before = team.role_of(user_id)
            team.change_role(user_id, username, new_role)
            if before is new_role:
                return self.get_one(actor, slug)
            uow.teams.update_one(team)
            uow.record(
                RoleChanged(
                    **_about(team),
                    username=username,
                    role=new_role.value,
                    changes=(Change(f"member {username}", before.value if before else None, new_role.value),),
                )
            )
            uow.commit(by=actor)
        return self.get_one(actor, slug)

    def remove_member(self, actor: Actor, slug: str, username: str) -> None:
        """Owners remove anyone; everyone may leave a team (but its last owner)."""
        with self._uow_factory() as uow:
            team = uow.teams.get_by_slug(slug, for_update=True)
            leaving = username == actor.username and team.role_of(actor.user_id) is not None
            if not leaving:
                self._require(actor, team, Role.OWNER, "remove members")
            user_id = self._member(team, username)
            before = team.role_of(user_id)
            team.remove_member(user_id, username)
            uow.teams.update_one(team)
            uow.record(
                MemberRemoved(
                    **_about(team),
                    username=username,
                    changes=(Change(f"member {username}", before.value if before else None, None),),
                )
            )
            uow.commit(by=actor)

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _require(actor: Actor, team: Team, needed: Role, action: str) -> None:
        assert team.id is not None
        access.require(
            actor, team_id=team.id, team=team.slug, needed=needed, action=action, hidden=TeamNotFound(team.slug)
        )

    @staticmethod
    def _role(role: str) -> Role:
        errors = FieldErrors()
        for message in role_errors(role):
            errors.add("role", message)
        errors.raise_if_any("the role is not valid")
        return Role(role)

    @staticmethod
    def _user(uow: AccountsUnitOfWork, username: str) -> int:
        user_id = uow.users.find(username) if isinstance(username, str) else None
        if user_id is None:
            raise UnknownUser(str(username))
        return user_id

    @staticmethod
    def _member(team: Team, username: str) -> int:
        """The user id of a member by username (MemberNotFound otherwise)."""
        found = next((m for m in team.memberships if m.username == username), None)
        if found is None:
            raise MemberNotFound(team.slug, username)
        return found.user_id


def _about(team: Team) -> dict[str, object]:
    """The fields every event of a team carries."""
    return {"team_id": team.id, "target_id": str(team.id), "target_name": team.slug}
