"""The background steps that carry people's requests out at the LBaaS provider (run by
the workers, and by operations from the admin): create, change and delete there, follow
the provider until it is done, and store the outcome.  The provider is never called
inside a unit of work (a database transaction)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from uuid import UUID

from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec, ProviderLoadBalancer, Providers
from loadbalancers.application.ports import Clock, Observations, TaskScheduler, UnitOfWork
from loadbalancers.domain import events
from loadbalancers.domain.drift import DriftPolicy
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.members import Member, Observed, observed
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, ProvisioningStatus
from portal.kernel.actors import Actor, Source
from portal.kernel.errors import Conflict
from portal.kernel.messagebus import Handler
from servers.domain.events import ServerUpdated
from servers.domain.model import Server, ServerStatus

logger = logging.getLogger(__name__)

WORKER = Actor.system(Source.WORKER)

OPERATIONS = {
    ProvisioningStatus.PENDING_CREATE: "create",
    ProvisioningStatus.PENDING_UPDATE: "update",
    ProvisioningStatus.PENDING_DELETE: "delete",
}
"""The request each pending status carries out, as the metrics name it."""


def provisioning_handlers(scheduler: TaskScheduler) -> dict[type, list[Handler]]:
    """Each request a user makes starts its background work at the provider."""
    return {
        events.CreationRequested: [lambda e: scheduler.provision(e.lb_id)],
        events.UpdateRequested: [lambda e: scheduler.apply_update(e.lb_id)],
        events.DeletionRequested: [lambda e: scheduler.deprovision(e.lb_id)],
    }


def inventory_handlers(scheduler: TaskScheduler) -> dict[type, list[Handler]]:
    """A server whose status changed in the inventory: the load balancers that use it
    follow (in the background)."""

    def status_changed(event: ServerUpdated) -> None:
        if event.change_of("status") is not None:
            scheduler.follow_inventory(int(event.target_id))

    return {ServerUpdated: [status_changed]}  # type: ignore[list-item]


@dataclass(frozen=True)
class ProvisioningPolicy:
    poll_interval: float = 1.0
    """Seconds between two looks at the provider while work is under way."""
    pending_timeout: float = 600.0
    """Seconds a load balancer may stay PENDING_* before it is put in ERROR."""
    stuck_after: float = 60.0
    """Seconds without a look at the provider before the reconciler restarts the work."""
    orphan_grace: float = 3600.0
    """Seconds a resource must have been an orphan before the reconciler deletes it."""
    orphan_max_deletes: int = 10
    """The most orphans one reconcile pass deletes: when more are due, it deletes none
    and leaves them to an operator (mass orphans mean a restored backup or a shared
    account, not lost records)."""
    drain_on_maintenance: bool = True
    """Put members in drain while their servers are not OK in the inventory."""
    drift_policy: DriftPolicy = DriftPolicy.REPORT
    """What the reconciler does about drift and orphans: report them, or also repair
    (apply the record again; delete orphans after their grace period)."""

    def timed_out(self, lb: LoadBalancer, now: datetime) -> bool:
        started = lb.pending_since or lb.updated_at
        return started is not None and now - started > timedelta(seconds=self.pending_timeout)

    def timeout_reason(self, lb: LoadBalancer) -> str:
        return f"timed out: still {lb.provisioning_status} at the provider after {self.pending_timeout:.0f} seconds"


class ProvisioningService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        providers: Providers,
        scheduler: TaskScheduler,
        clock: Clock,
        policy: ProvisioningPolicy,
        observations: Observations,
    ):
        self._uow_factory = uow_factory
        self._providers = providers
        self._scheduler = scheduler
        self._clock = clock
        self._policy = policy
        self._observations = observations

    def provision(self, lb_id: UUID) -> None:
        """Ask the provider to create a PENDING_CREATE load balancer, then follow it.
        The load balancer's id is the client token, so a retry never creates twice.  A
        provider that answers the create with ACTIVE (one that creates at once, or the
        retry of a create that is over) is taken at its word: the load balancer is
        stored ACTIVE from that answer, without a look more at the provider."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
            if lb.provisioning_status is not ProvisioningStatus.PENDING_CREATE:
                return
            servers = {s.id: s for s in uow.servers.get_list(lb.server_ids)}
            spec = spec_of(lb, servers, project=uow.teams.projects_of([lb.team_id]).get(lb.team_id))
        if lb.provider_ref is None:
            try:
                created = self._providers.get(lb.provider).create(spec, client_token=str(lb.id))
            except ProviderRejected as rejected:
                self.fail(lb_id, f"the provider refused to create it: {rejected.message}")
                return
            outcome = _Created(created, self._reported(lb, created, servers), self._clock.now())
            self.record(lb_id, outcome)
            if outcome.active:
                return
        self._scheduler.follow(lb_id, delay=self._policy.poll_interval)

    def apply_update(self, lb_id: UUID) -> None:
        """Send a PENDING_UPDATE load balancer's members and algorithm to the provider."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
            if lb.provisioning_status is not ProvisioningStatus.PENDING_UPDATE:
                return
            spec = self._spec(uow, lb)
        try:
            if lb.provider_ref is None:
                raise ProviderResourceNotFound("it was never created at the provider")
            self._providers.get(lb.provider).update(lb.provider_ref, spec)
        except (ProviderRejected, ProviderResourceNotFound) as failed:
            self.fail(lb_id, f"the provider could not update it: {failed.message}")
            return
        self.record(lb_id, partial(LoadBalancer.mark_submitted, now=self._clock.now()))
        self._scheduler.follow(lb_id, delay=self._policy.poll_interval)

    def deprovision(self, lb_id: UUID) -> None:
        """Ask the provider to delete a PENDING_DELETE load balancer, then follow it.
        Without a provider reference (its create was lost or timed out), whatever the
        provider holds under its client token is deleted."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
        if lb.provisioning_status is not ProvisioningStatus.PENDING_DELETE:
            return
        try:
            client = self._providers.get(lb.provider)
            ref = lb.provider_ref or next(
                (remote.ref for remote in client.get_list() if remote.client_token == str(lb.id)), None
            )
            if ref is not None:
                client.delete(ref)
        except ProviderRejected as rejected:
            self.fail(lb_id, f"the provider refused to delete it: {rejected.message}")
            return
        if ref is None:
            self.record(lb_id, LoadBalancer.mark_deleted)
            return
        self.record(lb_id, partial(LoadBalancer.record_provider_ref, ref=ref, now=self._clock.now()))
        self._scheduler.follow(lb_id, delay=self._policy.poll_interval)

    def follow(self, lb_id: UUID, *, by: Actor = WORKER) -> bool:
        """Look at the provider once and store the outcome; True while work is under way
        (another look is then scheduled).  Only a request the provider has accepted is
        followed: before that, ACTIVE would be the state before the change."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
        if not lb.is_pending or lb.provider_ref is None or lb.submitted_at is None:
            return False
        if self._policy.timed_out(lb, self._clock.now()):
            self.fail(lb_id, self._policy.timeout_reason(lb), by=by)
            return False
        try:
            remote = self._providers.get(lb.provider).get(lb.provider_ref)
        except ProviderResourceNotFound:
            if lb.provisioning_status is ProvisioningStatus.PENDING_DELETE:
                self.record(lb_id, LoadBalancer.mark_deleted, by=by)
            else:
                self.fail(lb_id, "the provider no longer has this load balancer", by=by)
            return False
        except ProviderRejected as rejected:
            self.fail(lb_id, f"the provider refused to report on it: {rejected.message}", by=by)
            return False

        if remote.provisioning_status is ProvisioningStatus.ERROR:
            self.fail(lb_id, remote.error or "the provider reported an error without a reason", by=by)
            return False
        if lb.provisioning_status is ProvisioningStatus.PENDING_DELETE:
            if remote.provisioning_status is ProvisioningStatus.DELETED:
                self.record(lb_id, LoadBalancer.mark_deleted, by=by)
                return False
        elif remote.provisioning_status is ProvisioningStatus.ACTIVE:
            reported = self._reported(lb, remote)
            self.record(
                lb_id, partial(LoadBalancer.mark_active, vip_address=remote.vip_address, reported=reported), by=by
            )
            return False
        self.record(lb_id, partial(LoadBalancer.mark_checked, now=self._clock.now()), by=by)
        self._scheduler.follow(lb_id, delay=self._policy.poll_interval)
        return True

    def refresh(self, lb_id: UUID, *, by: Actor = WORKER) -> str:
        """Look at the provider now and store what it says; returns what happened, for
        the operator who asked (``by``)."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
        if lb.is_pending:
            return "still under way at the provider" if self.follow(lb_id, by=by) else "checked: see its new status"
        if lb.provisioning_status is not ProvisioningStatus.ACTIVE or lb.provider_ref is None:
            return f"nothing to refresh: it is {lb.provisioning_status}"
        try:
            remote = self._providers.get(lb.provider).get(lb.provider_ref)
        except ProviderResourceNotFound:
            self.record(
                lb_id, partial(LoadBalancer.mark_lost, reason="the provider no longer has this load balancer"), by=by
            )
            return "the provider no longer has it: now ERROR"
        before = lb.operating_status
        changed = self.observe(lb, remote, by=by)
        with self._uow_factory() as uow:
            after = uow.load_balancers.get_one(lb_id).operating_status
        if not changed:
            return f"unchanged: {before}"
        return f"operating status {before} -> {after}" if after is not before else f"member health updated: {after}"

    def observe(
        self,
        lb: LoadBalancer,
        remote: ProviderLoadBalancer,
        *,
        by: Actor = WORKER,
        servers: Mapping[int | None, Server] | None = None,
    ) -> bool:
        """Store what the provider says of an ACTIVE load balancer's members, when it
        differs from what is stored; True when something was stored.  ``servers``: its
        members' servers when the caller has read them already (a reconcile pass reads
        them all at once)."""
        reported = self._reported(lb, remote, servers)
        if lb.provisioning_status is ProvisioningStatus.ACTIVE:
            # What a reconcile pass finds of nearly every load balancer: the members as
            # stored, and the operating status that follows from them as stored.
            members = observed(lb.members, reported)
            if (members is lb.members or members == lb.members) and lb.operating_status is overall_operating_status(
                m.operating_status for m in members
            ):
                return False
        # A trial on a copy, to store nothing when nothing changes: observing assigns the
        # members, the operating status and the events anew and changes none of them in
        # place (members are immutable), so a shallow copy with events of its own is
        # enough (a deep copy of each load balancer was most of a reconcile pass's time).
        probe = copy.copy(lb)
        probe.events = []
        if not probe.observe(reported):
            return False
        return self.record(lb.id, lambda current: _observe_or_move_on(current, reported), by=by)

    def follow_inventory(self, *, server_id: int | None = None, by: Actor = WORKER) -> list[UUID]:
        """Drain the members of ACTIVE load balancers (those using ``server_id``, or all)
        whose servers are not OK in the inventory, and enable again those it drained
        whose servers are OK again (see ``LoadBalancer.follow_inventory``); returns the
        load balancers it changed.  A load balancer busy at the provider meanwhile is
        taken up by the next pass (the reconciler runs this too)."""
        with self._uow_factory() as uow:
            # Only those with a member whose server is not OK, or that the inventory drained:
            # the others follow it already.
            active = uow.load_balancers.get_list(
                statuses=[ProvisioningStatus.ACTIVE], server_id=server_id, inventory_candidates=True
            )
            servers = {s.id: s for s in uow.servers.get_list(sorted({i for lb in active for i in lb.server_ids}))}
        return [
            lb.id
            for lb in active
            if not lb.follows_inventory(self._unavailable(lb.server_ids, servers)) and self._follow_one(lb.id, by=by)
        ]

    def _follow_one(self, lb_id: UUID, *, by: Actor) -> bool:
        """One load balancer follows the inventory as it is now: its row and its members'
        servers are read and locked in the transaction that changes it, so a status that
        changed meanwhile is never acted on."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id, for_update=True)
            if lb.provisioning_status is not ProvisioningStatus.ACTIVE:
                return False  # busy: the next pass takes it up
            servers = {s.id: s for s in uow.servers.get_list(lb.server_ids, for_update=True)}
            if not lb.follow_inventory(now=self._clock.now(), unavailable=self._unavailable(lb.server_ids, servers)):
                return False
            uow.load_balancers.update_one(lb)
            uow.commit(by=by)
        return True

    def _unavailable(self, server_ids: Iterable[int], servers: Mapping[int | None, Server]) -> dict[int, str]:
        """The servers whose members are to be drained, and why: not OK in the inventory
        (none when the policy does not drain)."""
        if not self._policy.drain_on_maintenance:
            return {}
        return {
            server_id: f"{server.name} is {server.status}"
            for server_id in server_ids
            if (server := servers.get(server_id)) is not None and server.status != ServerStatus.OK
        }

    def fail_stuck(self, lb_id: UUID, *, pending_longer_than: float, by: Actor = WORKER) -> bool:
        """Put a load balancer that has been PENDING_* for longer than the given seconds
        in ERROR (an operations action); False when it is not stuck."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
        started = lb.pending_since or lb.updated_at
        if not lb.is_pending or started is None:
            return False
        waited = (self._clock.now() - started).total_seconds()
        if waited <= pending_longer_than:
            return False
        return self.record(
            lb_id,
            partial(
                LoadBalancer.mark_error,
                reason=f"marked ERROR by operations: {lb.provisioning_status} for {waited / 60:.0f} minutes",
            ),
            by=by,
        )

    def fail(self, lb_id: UUID, reason: str, *, by: Actor = WORKER) -> None:
        """Put a PENDING_* load balancer in ERROR with a reason people can read."""
        logger.warning("load balancer %s failed: %s", lb_id, reason)
        self.record(lb_id, partial(LoadBalancer.mark_error, reason=reason), by=by)

    def record(self, lb_id: UUID, change: Callable[[LoadBalancer], None], *, by: Actor = WORKER) -> bool:
        """Apply one outcome (a method of the aggregate) in its own transaction, on
        behalf of ``by`` (the workers unless said); False when the load balancer has
        moved on meanwhile (another worker got there first) and the outcome was
        dropped.  The reconciler records its findings this way too."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id, for_update=True)
            before, pending_since = lb.provisioning_status, lb.pending_since
            try:
                change(lb)
            except Conflict as moved_on:
                logger.info("load balancer %s moved on; dropped outcome: %s", lb_id, moved_on.message)
                return False
            uow.load_balancers.update_one(lb)
            uow.commit(by=by)
        if before.is_pending and not lb.is_pending and pending_since is not None:
            self._observations.provisioning_finished(
                provider=lb.provider,
                operation=OPERATIONS[before],
                outcome=lb.provisioning_status.value.lower(),
                seconds=max((self._clock.now() - pending_since).total_seconds(), 0.0),
            )
        return True

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _spec(uow: UnitOfWork, lb: LoadBalancer) -> LoadBalancerSpec:
        servers = {s.id: s for s in uow.servers.get_list(lb.server_ids)}
        return spec_of(lb, servers, project=uow.teams.projects_of([lb.team_id]).get(lb.team_id))

    def _reported(
        self, lb: LoadBalancer, remote: ProviderLoadBalancer, known: Mapping[int | None, Server] | None = None
    ) -> dict[int, Observed]:
        """What the provider says of each member, by server id (it knows them by address
        and port)."""
        if known is not None:
            servers = [server for m in lb.members if (server := known.get(m.server_id)) is not None]
        else:
            with self._uow_factory() as uow:
                servers = uow.servers.get_list(lb.server_ids)
        by_address = {(m.address, m.port): m for m in remote.members}
        return {
            server.id: _observed(found.operating_status, found.reason)
            for server in servers
            if server.id is not None and (found := by_address.get((server.address, server.port))) is not None
        }


@lru_cache(maxsize=1024, typed=True)
def _observed(status: OperatingStatus, reason: str | None) -> Observed:
    """What a provider says of a member, made once per distinct value (it is immutable:
    a reconcile pass asks for a few hundred thousand, nearly all alike)."""
    return Observed(status, reason)


def spec_of(lb: LoadBalancer, servers: Mapping[int | None, Server], project: str | None = None) -> LoadBalancerSpec:
    """What the portal asks the provider to run for a load balancer, its members' servers
    given by id, in its team's ``project`` at the provider (None: the provider's
    default)."""
    return Specs(servers).of(lb, project=project)


class Specs:
    """``spec_of`` for many load balancers whose members' servers are read once (a
    reconcile pass): the spec of each member is made once and shared, by the member
    object (members and their specs are immutable; the load balancers read together share
    their equal members).  Keep one for one pass: its servers are those read for it."""

    def __init__(self, servers: Mapping[int | None, Server]):
        self._servers = servers
        self._members: dict[int, tuple[Member, MemberSpec | None]] = {}

    def of(self, lb: LoadBalancer, project: str | None = None) -> LoadBalancerSpec:
        members = []
        for member in lb.members:
            made = self._members.get(id(member))
            if made is None or made[0] is not member:
                # Kept with the member itself, so its id names no other member meanwhile.
                made = self._members[id(member)] = (member, self._member(member))
            if made[1] is not None:
                members.append(made[1])
        return LoadBalancerSpec(
            name=lb.name,
            listener_protocol=lb.listener_protocol,
            listener_port=lb.listener_port,
            algorithm=lb.algorithm,
            members=tuple(members),
            health_monitor=lb.health_monitor,
            tags=lb.tags,
            project=project,
        )

    def _member(self, member: Member) -> MemberSpec | None:
        """None: its server is not among those given (it is left out)."""
        if member.server_id not in self._servers:
            return None
        server = self._servers[member.server_id]
        return MemberSpec(server.address, server.port, member.weight, member.admin_state.value)


class _Created:
    """The outcome of a create the provider accepted: its reference stored and, when it
    answered ACTIVE, the load balancer stored ACTIVE as a look would store it (unless it
    has moved on meanwhile: a delete requested since then keeps the reference, for the
    delete).  ``active`` says, once applied, whether it was stored ACTIVE."""

    def __init__(self, remote: ProviderLoadBalancer, reported: dict[int, Observed], now: datetime):
        self._remote = remote
        self._reported = reported
        self._now = now
        self.active = False

    def __call__(self, lb: LoadBalancer) -> None:
        lb.record_provider_ref(self._remote.ref, now=self._now)
        if (
            self._remote.provisioning_status is ProvisioningStatus.ACTIVE
            and lb.provisioning_status is ProvisioningStatus.PENDING_CREATE
        ):
            lb.mark_active(vip_address=self._remote.vip_address, reported=self._reported)
            self.active = True


def _observe_or_move_on(lb: LoadBalancer, reported: dict[int, Observed]) -> None:
    """Store the report; when it changes nothing (someone stored it first), drop it."""
    if not lb.observe(reported):
        raise _NothingNew(f"load balancer {lb.id}: already up to date")


class _NothingNew(Conflict):
    pass
