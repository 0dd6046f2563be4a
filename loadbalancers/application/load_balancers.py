"""The use cases people call (through the API, the web pages and the admin): read,
create, change, retry and delete their load balancers.  Each changes one aggregate in
one unit of work, which publishes its events after commit; the work at the provider
then happens in the background (``provisioning``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from uuid import UUID, uuid4

from loadbalancers.application.lbaas import Providers
from loadbalancers.application.payloads import CreateLoadBalancer, LoadBalancerQuery, UpdateLoadBalancer
from loadbalancers.application.ports import Clock, UnitOfWork
from loadbalancers.application.read_model import LoadBalancerReadModel, LoadBalancerView
from loadbalancers.domain.errors import LoadBalancerNotFound, ProviderDisabled
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, ProvisioningStatus, ServerProblem
from portal.kernel.actors import Actor
from portal.kernel.errors import FieldErrors, PermissionDenied, StaleVersion, ValidationFailed
from portal.kernel.pagination import Page
from portal.kernel.validators import choice_errors
from servers.domain.model import STRICT_ADDRESS_POLICY, AddressPolicy


class LoadBalancerService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        read_model: LoadBalancerReadModel,
        providers: Providers,
        clock: Clock,
        new_id: Callable[[], UUID] = uuid4,
        address_policy: AddressPolicy = STRICT_ADDRESS_POLICY,
    ):
        self._uow_factory = uow_factory
        self._read_model = read_model
        self._providers = providers
        self._clock = clock
        self._new_id = new_id
        self._address_policy = address_policy

    # -- reads --------------------------------------------------------------------------

    def get_one(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        view = self._read_model.get_one(lb_id)
        if view is None or not (actor.sees_all or actor.user_id == view.owner_id):
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
        owner_id = None if actor.sees_all else actor.user_id
        return self._read_model.get_plist(replace(query, owner_id=owner_id))

    # -- writes -------------------------------------------------------------------------

    def create_one(self, actor: Actor, payload: CreateLoadBalancer) -> LoadBalancerView:
        with self._uow_factory() as uow:
            lb = LoadBalancer.new(
                id=self._new_id(),
                name=payload.name,
                owner_id=actor.user_id,
                members=payload.servers,
                listener_protocol=payload.listener_protocol,
                listener_port=payload.listener_port,
                algorithm=payload.algorithm,
                provider=payload.provider if payload.provider is not None else self._providers.default,
                description=payload.description,
                now=self._clock.now(),
                providers=self._providers.names,
                name_taken=uow.load_balancers.name_taken,
                server_problems=lambda server_ids: self._server_problems(uow, server_ids),
            )
            uow.load_balancers.create_one(lb)
            uow.commit()
        return self.get_one(actor, lb.id)

    def update_one(self, actor: Actor, lb_id: UUID, payload: UpdateLoadBalancer) -> LoadBalancerView:
        if payload.is_empty:
            raise ValidationFailed(
                "nothing to change: send servers, algorithm or description",
                details={"non_field_errors": ["send at least one of servers, algorithm, description"]},
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
                server_problems=lambda server_ids: self._server_problems(uow, server_ids, keep=lb.members),
            )
            uow.load_balancers.update_one(lb)
            uow.commit()
        return self.get_one(actor, lb_id)

    def retry(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        """Provision an ERROR load balancer again (an operations action)."""
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            lb.request_retry(now=self._clock.now())
            uow.load_balancers.update_one(lb)
            uow.commit()
        return self.get_one(actor, lb_id)

    def delete_one(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            lb.request_delete(now=self._clock.now())
            uow.load_balancers.update_one(lb)
            uow.commit()
        return self.get_one(actor, lb_id)

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _get_own(uow: UnitOfWork, actor: Actor, lb_id: UUID) -> LoadBalancer:
        """The load balancer, if the actor may change it.  Someone who may see it but
        not change it (read-only operations staff) is refused; anyone else is told
        it does not exist, so names do not leak."""
        lb = uow.load_balancers.get_one(lb_id, for_update=True)
        if actor.changes_all or actor.user_id == lb.owner_id:
            return lb
        if actor.sees_all:
            raise PermissionDenied(
                "you may see this load balancer but not change it: that needs the permission to change"
                " load balancers (Load balancers | load balancer | Can change, as in the admin)"
            )
        raise LoadBalancerNotFound(lb_id)

    def _get_changeable(self, uow: UnitOfWork, actor: Actor, lb_id: UUID) -> LoadBalancer:
        lb = self._get_own(uow, actor, lb_id)
        if lb.provider not in self._providers.names:
            raise ProviderDisabled(lb.name, lb.provider)
        return lb

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
