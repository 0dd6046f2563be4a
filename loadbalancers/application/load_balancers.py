"""The use cases people call (through the API, the web pages and the admin): read,
create, change, retry and delete their teams' load balancers, as far as their role in
each team allows and within its quotas.  Each changes one aggregate in one unit of
work, which publishes its events after commit; the work at the provider then happens
in the background (``provisioning``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from uuid import UUID, uuid4

from accounts.domain import access
from accounts.domain.errors import TeamNotFound
from accounts.domain.model import Quotas, Role, Team
from loadbalancers.application.lbaas import LoadBalancerSpec, Providers, spec_changes
from loadbalancers.application.payloads import (
    BATCH_MAX,
    CreateBatch,
    CreateLoadBalancer,
    DeleteBatch,
    LoadBalancerQuery,
    UpdateLoadBalancer,
)
from loadbalancers.application.plans import Plan, ProviderSide
from loadbalancers.application.ports import Clock, UnitOfWork
from loadbalancers.application.provisioning import spec_of
from loadbalancers.application.read_model import LoadBalancerReadModel, LoadBalancerView, new_view
from loadbalancers.domain.errors import (
    LoadBalancerNotFound,
    NameTaken,
    ProviderDisabled,
    ProviderRejected,
    ProviderResourceNotFound,
)
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, ProvisioningStatus, ServerProblem
from portal.kernel.actors import Actor
from portal.kernel.errors import (
    Conflict,
    DependencyUnavailable,
    FieldErrors,
    PortalError,
    StaleVersion,
    ValidationFailed,
)
from portal.kernel.events import Change
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
        teams: dict[str | None, Team] = {}
        with self._uow_factory() as uow:
            # The name is not looked up first: the store refuses a taken one (NameTaken).
            lb = self._new(uow, actor, payload, teams=teams, name_on_store=True)
            uow.load_balancers.create_one(lb)
            servers = {s.id: s for s in uow.servers.get_list(lb.server_ids)}  # locked by _new: not read again
            view = new_view(lb, team=teams[payload.team].slug, created_by=actor.username, servers=servers)  # type: ignore[arg-type]
            uow.commit(by=actor)
        return view

    def create_batch(self, actor: Actor, batch: CreateBatch) -> list[LoadBalancerView]:
        """Create every item or none: each is judged as ``create_one`` would judge it,
        and every problem is reported by the item's index (``details.items``); the
        teams' quotas count the whole batch.  The rows are stored in one transaction and
        their work handed over after it commits."""
        _check_batch_size(batch.size, "items")
        with self._uow_factory() as uow:
            # Every create takes its locks in one order, so none waits on another in a
            # circle: the teams (by id), then the servers (by id).
            teams = self._lock_teams(uow, actor, {payload.team for payload in batch.items.values()})
            uow.servers.get_list(sorted(_server_ids(batch.items.values())), for_update=True)
            errors: dict[str, object] = {str(index): dict(found) for index, found in batch.rejected.items()}
            created: dict[int, LoadBalancer] = {}
            first_named: dict[str, int] = {}
            for index, payload in sorted(batch.items.items()):
                if isinstance(payload.name, str):
                    first_named.setdefault(payload.name, index)
            for index, payload in sorted(batch.items.items()):
                problems: dict[str, list[str]] = {}
                try:
                    lb = self._new(uow, actor, payload, teams=teams, count_team=False, lock_team=False)
                except PortalError as failed:
                    problems = _item_errors(failed)
                first = first_named.get(payload.name) if isinstance(payload.name, str) else None
                if first is not None and first != index:
                    problems.setdefault("name", []).append(f"{payload.name!r} is also the name of item {first}")
                if problems:
                    errors[str(index)] = problems
                else:
                    created[index] = lb
            if errors:
                raise ValidationFailed(
                    f"{len(errors)} of {batch.size} items are not valid; nothing was created",
                    details={"items": dict(sorted(errors.items(), key=lambda item: int(item[0])))},
                )
            adding = Counter(lb.team_id for lb in created.values())
            for team in sorted({team.id: team for team in teams.values()}.values(), key=lambda t: t.slug):
                if adding[team.id]:
                    usage = uow.load_balancers.count_live(team_id=team.id)  # type: ignore[arg-type]
                    team.check_load_balancers(self._quota_defaults, usage=usage, adding=adding[team.id])
            lbs = [created[index] for index in sorted(created)]
            try:
                uow.load_balancers.create_batch(lbs)
            except NameTaken as taken:  # a name taken meanwhile by a request that committed first
                index = first_named.get(taken.taken_name, 0)
                raise ValidationFailed(
                    f"1 of {batch.size} items are not valid; nothing was created",
                    details={"items": {str(index): taken.details}},
                ) from None
            uow.commit(by=actor)
        return self._read_model.get_list([lb.id for lb in lbs])

    def plan_create(self, actor: Actor, payload: CreateLoadBalancer) -> Plan:
        """What ``create_one`` would do with this payload: the record it would make and
        what the provider would be asked, or why it would be refused; nothing is stored
        and nothing written at the provider."""
        name = payload.name if isinstance(payload.name, str) else None
        return self._plan("create", None, name, lambda uow: self._new(uow, actor, payload))

    def plan_update(self, actor: Actor, lb_id: UUID, payload: UpdateLoadBalancer) -> Plan:
        """What ``update_one`` would do with this payload (see ``plan_create``); the
        provider side compares what the provider runs now with what it would run.  A
        load balancer the actor may not see is not found, as on every other path."""
        return self._plan("update", lb_id, None, lambda uow: self._update(uow, actor, lb_id, payload))

    def _plan(
        self, action: str, lb_id: UUID | None, name: str | None, build: Callable[[UnitOfWork], LoadBalancer]
    ) -> Plan:
        try:
            with self._uow_factory() as uow:  # never committed: rolled back on leaving
                lb = build(uow)
                spec = spec_of(lb, {s.id: s for s in uow.servers.get_list(lb.server_ids)}, project=_project_of(uow, lb))
        except (LoadBalancerNotFound, DependencyUnavailable):
            raise
        except PortalError as refused:
            return Plan(action=action, name=name, lb_id=lb_id, error=refused)
        plan = Plan(action=action, name=lb.name, lb_id=lb_id, changes=_asked(lb))
        if not lb.is_pending:  # the portal's own change: nothing goes to the provider
            return plan
        try:
            return replace(plan, provider=self._provider_side(lb, spec))
        except ProviderRejected as rejected:
            message = f"the provider {lb.provider} would refuse it: {rejected.message}"
            return replace(plan, error=ValidationFailed(message, details={"provider": [rejected.message]}))
        except ProviderResourceNotFound as gone:
            message = f"the provider {lb.provider} no longer has this load balancer: {gone.message}"
            return replace(plan, error=Conflict(message, details={"provider": [gone.message]}))

    def _provider_side(self, lb: LoadBalancer, spec: LoadBalancerSpec) -> ProviderSide:
        """What the provider would be asked: read from it, outside any transaction."""
        client = self._providers.get(lb.provider)
        running = client.get(lb.provider_ref).running if lb.provider_ref is not None else None
        planned = client.plan(lb.provider_ref, spec)
        return ProviderSide(
            name=lb.provider,
            ref=lb.provider_ref,
            changes=tuple(spec_changes(running, client.as_running(spec))),
            operations=planned.operations,
            diff=planned.diff,
        )

    def _new(
        self,
        uow: UnitOfWork,
        actor: Actor,
        payload: CreateLoadBalancer,
        *,
        teams: dict[str | None, Team] | None = None,
        count_team: bool = True,
        lock_team: bool = True,
        name_on_store: bool = False,
    ) -> LoadBalancer:
        """A new load balancer as the payload asks, judged by every rule a create meets
        (``count_team``: its team's quota of load balancers too; a batch counts its own).
        ``teams`` holds the teams already looked up and locked, by the slug asked; one not
        there is looked up (and locked, unless ``lock_team`` is false: a batch locks its
        teams first).  ``name_on_store``: the caller stores the load balancer at once and
        the store refuses a taken name, so the name is looked up only when something else
        is refused, to be reported with it (or instead of it) as when it is looked up
        first: a query less for every create that goes through."""
        teams = {} if teams is None else teams
        team = teams.get(payload.team) or self._team_for_create(uow, actor, payload.team, lock=lock_team)
        teams[payload.team] = team
        if not name_on_store:
            return self._judged(uow, payload, team, actor, count_team, uow.load_balancers.name_taken)
        try:
            return self._judged(uow, payload, team, actor, count_team, lambda name: False)
        except PortalError:
            # As if the name had been looked up first: with the other problems, or alone.
            self._judged(uow, payload, team, actor, count_team=False, name_taken=uow.load_balancers.name_taken)
            raise

    def _judged(
        self,
        uow: UnitOfWork,
        payload: CreateLoadBalancer,
        team: Team,
        actor: Actor,
        count_team: bool,
        name_taken: Callable[[str], bool],
    ) -> LoadBalancer:
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
            name_taken=name_taken,
            server_problems=lambda server_ids: self._server_problems(uow, server_ids),
        )
        team.check_members(self._quota_defaults, count=len(lb.members))
        self._check_with_provider(uow, lb, project=team.project_id)
        if count_team:
            # The team is locked until commit, so concurrent creates count one by one.
            team.check_load_balancers(self._quota_defaults, usage=uow.load_balancers.count_live(team_id=lb.team_id))
        return lb

    def update_one(self, actor: Actor, lb_id: UUID, payload: UpdateLoadBalancer) -> LoadBalancerView:
        with self._uow_factory() as uow:
            lb = self._update(uow, actor, lb_id, payload)
            uow.load_balancers.update_one(lb)
            uow.commit(by=actor)
        return self.get_one(actor, lb_id)

    def _update(self, uow: UnitOfWork, actor: Actor, lb_id: UUID, payload: UpdateLoadBalancer) -> LoadBalancer:
        """The load balancer changed as the payload asks, judged by every rule an update
        meets; not stored."""
        lb = self._get_changeable(uow, actor, lb_id)
        if payload.is_empty:
            raise ValidationFailed(
                f"nothing to change: send {', '.join(UpdateLoadBalancer.FIELDS)}",
                details={"non_field_errors": [f"send at least one of {', '.join(UpdateLoadBalancer.FIELDS)}"]},
            )
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
            uow.teams.get_one(lb.team_id, memberships=False).check_members(self._quota_defaults, count=len(lb.members))
        if lb.is_pending:  # going to the provider
            self._check_with_provider(uow, lb, project=_project_of(uow, lb))
        return lb

    def repair(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        """Apply the record again at the provider (after drift), through a normal update."""
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            drifted = uow.drift.get_list(lb_ids=[lb_id])
            now = self._clock.now()
            lb.request_repair(now=now, drifted=sorted(d.field for d in drifted))
            uow.load_balancers.update_one(lb)
            for drift in drifted:  # the reconciler does not ask again for what this did not fix
                if drift.repaired_at is None:
                    drift.repaired_at = now
                    uow.drift.update_one(drift)
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

    def delete_batch(self, actor: Actor, batch: DeleteBatch) -> list[LoadBalancerView]:
        """Delete every one or none: each is judged as ``delete_one`` would judge it
        (access, state, deletion protection), every problem reported by its index
        (``details.ids``).  Rows are locked in one order, so two batches never wait on
        each other."""
        _check_batch_size(len(batch.ids), "ids")
        errors: dict[str, list[str]] = {}
        wanted: dict[UUID, int] = {}
        for index, raw in enumerate(batch.ids):
            try:
                lb_id = raw if isinstance(raw, UUID) else UUID(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError, AttributeError):
                errors[str(index)] = [
                    f"{printable(raw)!r} is not a load balancer id"
                    if isinstance(raw, str)
                    else f"{type(raw).__name__} {printable(raw)} is not a load balancer id"
                ]
                continue
            if lb_id in wanted:
                errors[str(index)] = [f"load balancer {lb_id} is also item {wanted[lb_id]}"]
                continue
            wanted[lb_id] = index
        with self._uow_factory() as uow:
            deleting = []
            for lb_id in sorted(wanted, key=str):
                try:
                    lb = self._get_changeable(uow, actor, lb_id)
                    lb.request_delete(now=self._clock.now())
                except PortalError as refused:
                    errors[str(wanted[lb_id])] = [refused.message]
                    continue
                deleting.append(lb)
            if errors:
                raise ValidationFailed(
                    f"{len(errors)} of {len(batch.ids)} load balancers cannot be deleted; nothing was deleted",
                    details={"ids": dict(sorted(errors.items(), key=lambda item: int(item[0])))},
                )
            for lb in deleting:
                uow.load_balancers.update_one(lb)
            uow.commit(by=actor)
        return self._read_model.get_list(sorted(wanted, key=wanted.__getitem__))

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _get_own(uow: UnitOfWork, actor: Actor, lb_id: UUID) -> LoadBalancer:
        """The load balancer, if the actor may change it: a member or owner of its team,
        or operations with the permission to change.  A viewer is told the role needed;
        anyone outside the team, that it does not exist, so names do not leak."""
        lb = uow.load_balancers.get_one(lb_id, for_update=True)
        if not access.may(actor, lb.team_id, Role.MEMBER):  # the team is read only to say why not
            team = uow.teams.get_one(lb.team_id, memberships=False).slug
            hidden = LoadBalancerNotFound(lb_id)
            action = "change load balancers"
            access.require(actor, team_id=lb.team_id, team=team, needed=Role.MEMBER, action=action, hidden=hidden)
        return lb

    def _lock_teams(self, uow: UnitOfWork, actor: Actor, slugs: Iterable[str | None]) -> dict[str | None, Team]:
        """The teams these slugs name where the actor may create, locked in the order of
        their ids; those it may not create in are left out (their items say why)."""
        found: dict[str | None, int] = {}
        for slug in slugs:
            try:
                found[slug] = self._team_for_create(uow, actor, slug, lock=False).id  # type: ignore[assignment]
            except PortalError:
                continue
        locked = {
            team_id: uow.teams.get_one(team_id, for_update=True, memberships=False)
            for team_id in sorted(set(found.values()))
        }
        return {slug: locked[team_id] for slug, team_id in found.items()}

    @staticmethod
    def _team_for_create(uow: UnitOfWork, actor: Actor, slug: str | None, *, lock: bool = True) -> Team:
        """The team the new load balancer will belong to, locked until commit unless
        ``lock`` is false (its quota counts creates one by one): the one named, or else
        the caller's only team where they may create.  A team the caller is not in is
        reported as unknown."""
        if slug is None:
            creating = [team_id for team_id in actor.roles if Role(actor.roles[team_id]).allows(Role.MEMBER)]
            only = creating or list(actor.roles)
            if len(only) != 1:
                choices = sorted(uow.teams.get_one(team_id, memberships=False).slug for team_id in creating)
                message = (
                    f"choose the team it belongs to: one of {', '.join(choices)}"
                    if choices
                    else "you are in no team where you may create load balancers: ask a team's owner to add you"
                    " as a member (or operations to make a team)"
                )
                raise ValidationFailed(f"team: {message}", details={"team": [message]})
            team = uow.teams.get_one(only[0], for_update=lock, memberships=False)
        else:
            try:
                team = uow.teams.get_by_slug(slug, for_update=lock, memberships=False)
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

    def _check_with_provider(self, uow: UnitOfWork, lb: LoadBalancer, *, project: str | None) -> None:
        """Refuse now (400) what the load balancer's provider is known to refuse, rather
        than accept it and fail in the background (the provider is not called);
        ``project``: its team's project at the provider."""
        spec = spec_of(lb, {s.id: s for s in uow.servers.get_list(lb.server_ids)}, project=project)
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


def _check_batch_size(size: int, what: str) -> None:
    if not 1 <= size <= BATCH_MAX:
        message = f"send between 1 and {BATCH_MAX} {what} (got {size})"
        raise ValidationFailed(f"{what}: {message}", details={what: [message]})


def _server_ids(payloads: Iterable[CreateLoadBalancer]) -> set[int]:
    """The server ids the payloads name (as ids or as members' ``server``), whatever
    else is wrong with them."""
    found = set()
    for payload in payloads:
        items = payload.servers if isinstance(payload.servers, list | tuple) else ()
        for item in items:
            server = item.get("server") if isinstance(item, dict) else item
            if isinstance(server, int) and not isinstance(server, bool):
                found.add(server)
    return found


def _project_of(uow: UnitOfWork, lb: LoadBalancer) -> str | None:
    """The project of the load balancer's team at providers that keep tenants apart."""
    return uow.teams.projects_of([lb.team_id]).get(lb.team_id)


def _item_errors(failed: PortalError) -> dict[str, list[str]]:
    """One item's problems as field -> messages: a refusal that says which fields keeps
    them, any other is the item's ``non_field_errors``."""
    fields = {
        name: [str(message) for message in messages]
        for name, messages in failed.details.items()
        if isinstance(messages, list) and all(isinstance(message, str) for message in messages)
    }
    return fields or {"non_field_errors": [failed.message]}


def _asked(lb: LoadBalancer) -> tuple[Change, ...]:
    """The record's changes a request would make, as its event would record them."""
    return tuple(change for event in lb.events for change in event.changes)


def printable(value: object) -> str:
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")[:80]
