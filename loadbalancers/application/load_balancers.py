"""The use cases people call (through the API, the web pages and the admin): read,
create, change, retry and delete their teams' load balancers, as far as their role in
each team allows and within its quotas.  Each changes one aggregate in one unit of
work, which publishes its events after commit; the work at the provider then happens
in the background (``provisioning``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from uuid import UUID, uuid4

from accounts.domain import access
from accounts.domain.errors import TeamNotFound
from accounts.domain.model import Quotas, Role, Team
from loadbalancers.application.lbaas import Providers
from loadbalancers.application.payloads import CreateLoadBalancer, LoadBalancerQuery, UpdateLoadBalancer
from loadbalancers.application.ports import Clock, UnitOfWork
from loadbalancers.application.provisioning import spec_of
from loadbalancers.application.read_model import LoadBalancerReadModel, LoadBalancerView
from loadbalancers.domain.errors import LoadBalancerNotFound, ProviderDisabled
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, ProvisioningStatus, ServerProblem
from portal.kernel.actors import Actor
from portal.kernel.errors import FieldErrors, StaleVersion, ValidationFailed
from portal.kernel.pagination import Page
from portal.kernel.validators import choice_errors
from servers.domain.model import STRICT_ADDRESS_POLICY, AddressPolicy, ServerStatus


class LoadBalancerService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        read_model: LoadBalancerReadModel,
        providers: Providers,
        clock: Clock,
        quota_defaults: Quotas,
        new_id: Callable[[], UUID] = uuid4,
        address_policy: AddressPolicy = STRICT_ADDRESS_POLICY,
        drain_on_maintenance: bool = True,
    ):
        self._drain_on_maintenance = drain_on_maintenance
        self._quota_defaults = quota_defaults
        self._uow_factory = uow_factory
        self._read_model = read_model
        self._providers = providers
        self._clock = clock
        self._new_id = new_id
        self._address_policy = address_policy

    # -- reads --------------------------------------------------------------------------

    def get_one(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        view = self._read_model.get_one(lb_id)
        if view is None or not access.can_see(actor, view.team_id):
            raise LoadBalancerNotFound(lb_id)
        return view

    def get_plist(self, actor: Actor, query: LoadBalancerQuery) -> Page[LoadBalancerView]:
        query.page.check(LoadBalancerQuery.SORTABLE)
        errors = FieldErrors()
        if query.provisioning_status is not None:
            for message in choice_errors(query.provisioning_status, ProvisioningStatus, what="provisioning_status"):
                errors.add("provisioning_status", message)
        if query.operating_status is not None:
            for message in choice_errors(query.operating_status, OperatingStatus, what="operating_status"):
                errors.add("operating_status", message)
        errors.raise_if_any("the list query is not valid")
        team_ids = None if actor.sees_all else actor.team_ids
        return self._read_model.get_plist(replace(query, team_ids=team_ids))

    # -- writes -------------------------------------------------------------------------

    def create_one(self, actor: Actor, payload: CreateLoadBalancer) -> LoadBalancerView:
        with self._uow_factory() as uow:
            team = self._team_for_create(uow, actor, payload.team)
            lb = LoadBalancer.new(
                id=self._new_id(),
                name=payload.name,
                team_id=team.id,  # type: ignore[arg-type]
                created_by_id=actor.user_id,
                members=payload.servers,
                listener_protocol=payload.listener_protocol,
                listener_port=payload.listener_port,
                algorithm=payload.algorithm,
                provider=payload.provider if payload.provider is not None else self._providers.default,
                description=payload.description,
                health_monitor=payload.health_monitor,
                tags=payload.tags,
                deletion_protection=payload.deletion_protection,
                now=self._clock.now(),
                providers=self._providers.names,
                name_taken=uow.load_balancers.name_taken,
                server_problems=lambda server_ids: self._server_problems(uow, server_ids),
            )
            team.check_members(self._quota_defaults, count=len(lb.members))
            self._check_with_provider(uow, lb)
            # The team is locked until commit, so concurrent creates count one by one.
            team.check_load_balancers(self._quota_defaults, usage=uow.load_balancers.count_live(team_id=lb.team_id))
            uow.load_balancers.create_one(lb)
            uow.commit(by=actor)
        return self.get_one(actor, lb.id)

    def update_one(self, actor: Actor, lb_id: UUID, payload: UpdateLoadBalancer) -> LoadBalancerView:
        if payload.is_empty:
            raise ValidationFailed(
                f"nothing to change: send {', '.join(UpdateLoadBalancer.FIELDS)}",
                details={"non_field_errors": [f"send at least one of {', '.join(UpdateLoadBalancer.FIELDS)}"]},
            )
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            if payload.version is not None and payload.version != lb.version:
                raise StaleVersion(
                    f"load balancer {lb_id} is at version {lb.version}, not {payload.version}; reload it",
                    details={"version": lb.version},
                )
            lb.request_update(
                now=self._clock.now(),
                members=payload.servers,
                algorithm=payload.algorithm,
                description=payload.description,
                health_monitor=payload.health_monitor,
                tags=payload.tags,
                deletion_protection=payload.deletion_protection,
                server_problems=lambda server_ids: self._server_problems(uow, server_ids, keep=lb.server_ids),
                unavailable=self._unavailable(uow, lb.server_ids),
            )
            if payload.servers is not None:
                uow.teams.get_one(lb.team_id).check_members(self._quota_defaults, count=len(lb.members))
            if lb.is_pending:  # going to the provider
                self._check_with_provider(uow, lb)
            uow.load_balancers.update_one(lb)
            uow.commit(by=actor)
        return self.get_one(actor, lb_id)

    def retry(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        """Provision an ERROR load balancer again (its team's members and owners, and
        operations)."""
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            lb.request_retry(now=self._clock.now())
            uow.load_balancers.update_one(lb)
            uow.commit(by=actor)
        return self.get_one(actor, lb_id)

    def delete_one(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            lb.request_delete(now=self._clock.now())
            uow.load_balancers.update_one(lb)
            uow.commit(by=actor)
        return self.get_one(actor, lb_id)

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _get_own(uow: UnitOfWork, actor: Actor, lb_id: UUID) -> LoadBalancer:
        """The load balancer, if the actor may change it: a member or owner of its team,
        or operations with the permission to change.  A viewer is told the role needed;
        anyone outside the team, that it does not exist, so names do not leak."""
        lb = uow.load_balancers.get_one(lb_id, for_update=True)
        if not access.may(actor, lb.team_id, Role.MEMBER):  # the team is read only to say why not
            team = uow.teams.get_one(lb.team_id).slug
            hidden = LoadBalancerNotFound(lb_id)
            action = "change load balancers"
            access.require(actor, team_id=lb.team_id, team=team, needed=Role.MEMBER, action=action, hidden=hidden)
        return lb

    @staticmethod
    def _team_for_create(uow: UnitOfWork, actor: Actor, slug: str | None) -> Team:
        """The team the new load balancer will belong to, locked until commit (its quota
        counts creates one by one): the one named, or else the caller's only team where
        they may create.  A team the caller is not in is reported as unknown."""
        if slug is None:
            creating = [team_id for team_id in actor.roles if Role(actor.roles[team_id]).allows(Role.MEMBER)]
            only = creating or list(actor.roles)
            if len(only) != 1:
                choices = sorted(uow.teams.get_one(team_id).slug for team_id in creating)
                message = (
                    f"choose the team it belongs to: one of {', '.join(choices)}"
                    if choices
                    else "you are in no team where you may create load balancers: ask a team's owner to add you"
                    " as a member (or operations to make a team)"
                )
                raise ValidationFailed(f"team: {message}", details={"team": [message]})
            team = uow.teams.get_one(only[0], for_update=True)
        else:
            try:
                team = uow.teams.get_by_slug(slug, for_update=True)
            except TeamNotFound:
                team = None
            if team is None or not (actor.sees_all or team.id in actor.roles):
                message = f"you are in no team named {slug!r}"
                raise ValidationFailed(f"team: {message}", details={"team": [message]}) from None
        assert team.id is not None
        access.require(
            actor,
            team_id=team.id,
            team=team.slug,
            needed=Role.MEMBER,
            action="create load balancers",
            hidden=TeamNotFound(team.slug),
        )
        return team

    def _get_changeable(self, uow: UnitOfWork, actor: Actor, lb_id: UUID) -> LoadBalancer:
        lb = self._get_own(uow, actor, lb_id)
        if lb.provider not in self._providers.names:
            raise ProviderDisabled(lb.name, lb.provider)
        return lb

    def _check_with_provider(self, uow: UnitOfWork, lb: LoadBalancer) -> None:
        """Refuse now (400) what the load balancer's provider is known to refuse, rather
        than accept it and fail in the background (the provider is not called)."""
        spec = spec_of(lb, {s.id: s for s in uow.servers.get_list(lb.server_ids)})
        if refusals := self._providers.get(lb.provider).refusals(spec):
            message = f"the provider {lb.provider} cannot do this: {'; '.join(refusals)}"
            raise ValidationFailed(message, details={"provider": refusals})

    def _unavailable(self, uow: UnitOfWork, server_ids: Sequence[int]) -> dict[int, str]:
        """The members' servers that are not OK in the inventory, when such members are
        drained (DRAIN_ON_MAINTENANCE)."""
        if not self._drain_on_maintenance:
            return {}
        return {
            s.id: f"{s.name} is {s.status}"
            for s in uow.servers.get_list(server_ids)
            if s.id is not None and s.status != ServerStatus.OK
        }

    def _server_problems(
        self, uow: UnitOfWork, server_ids: Sequence[int], keep: Sequence[int] = ()
    ) -> list[ServerProblem]:
        """Each requested server that does not exist, is new here and not OK, or has an
        address the servers' rules refuse now (kept members too: registered before the
        rule, it must not be sent to the provider again).  The servers are locked until
        commit, so none changes status meanwhile."""
        found = {s.id: s for s in uow.servers.get_list(server_ids, for_update=True)}
        problems = []
        for server_id in server_ids:
            server = found.get(server_id)
            if server is None:
                problems.append(ServerProblem(server_id, f"server {server_id} does not exist"))
            elif server_id not in keep and not server.is_eligible:
                problems.append(
                    ServerProblem(
                        server_id, f"server {server_id} ({server.name}) is {server.status}; only OK servers may be used"
                    )
                )
            else:
                problems.extend(
                    ServerProblem(server_id, f"server {server_id} ({server.name}) cannot be used: {refusal}")
                    for refusal in self._address_policy.refusals(server.address)
                )
        return problems
