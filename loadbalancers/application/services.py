"""Use cases for load balancers.

``LoadBalancerService`` serves people (API, web pages, admin); ``ProvisioningService``
serves the background workers that carry requests out at the LBaaS provider.  The
provider is never called inside a unit of work (a database transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from uuid import UUID, uuid4

from loadbalancers.application.payloads import CreateLoadBalancer, LoadBalancerQuery, UpdateLoadBalancer
from loadbalancers.application.ports import (
    Clock,
    LoadBalancerReadModel,
    LoadBalancerSpec,
    LoadBalancerView,
    MemberSpec,
    ProviderLoadBalancer,
    Providers,
    TaskScheduler,
    UnitOfWork,
)
from loadbalancers.domain import events
from loadbalancers.domain.errors import (
    LoadBalancerNotFound,
    NameTaken,
    ProviderDisabled,
    ProviderError,
    ProviderRejected,
    ProviderResourceNotFound,
    ServerNotEligible,
)
from loadbalancers.domain.model import (
    LoadBalancer,
    OperatingStatus,
    Orphan,
    ProvisioningStatus,
    member_errors,
)
from portal.kernel.actors import Actor
from portal.kernel.errors import Conflict, FieldErrors, PermissionDenied, StaleVersion, ValidationFailed
from portal.kernel.messagebus import Handler, MessageBus
from portal.kernel.pagination import Page
from portal.kernel.validators import choice_errors
from servers.domain.model import STRICT_ADDRESS_POLICY, AddressPolicy

logger = logging.getLogger(__name__)


def provisioning_handlers(scheduler: TaskScheduler) -> dict[type, list[Handler]]:
    """Each request a user makes starts its background work at the provider."""
    return {
        events.CreationRequested: [lambda e: scheduler.provision(e.lb_id)],
        events.UpdateRequested: [lambda e: scheduler.apply_update(e.lb_id)],
        events.DeletionRequested: [lambda e: scheduler.deprovision(e.lb_id)],
    }


class LoadBalancerService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        read_model: LoadBalancerReadModel,
        providers: Providers,
        bus: MessageBus,
        clock: Clock,
        new_id: Callable[[], UUID] = uuid4,
        address_policy: AddressPolicy = STRICT_ADDRESS_POLICY,
    ):
        self._uow_factory = uow_factory
        self._read_model = read_model
        self._providers = providers
        self._bus = bus
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
        provider = payload.provider if payload.provider is not None else self._providers.default
        errors = LoadBalancer.check_new(
            name=payload.name,
            members=payload.servers,
            listener_protocol=payload.listener_protocol,
            listener_port=payload.listener_port,
            algorithm=payload.algorithm,
            description=payload.description,
        )
        if provider not in self._providers.names:
            errors.add("provider", f"provider must be one of {', '.join(self._providers.names)} (got {provider!r})")
        with self._uow_factory() as uow:
            problems = self._member_problems(uow, payload.servers)
            if not errors.as_dict().get("name") and uow.load_balancers.name_taken(payload.name):
                if not errors and not problems:
                    raise NameTaken(payload.name)
                errors.add("name", f"{payload.name!r} is taken by a live load balancer")
            self._raise_for(errors, problems)
            lb = LoadBalancer.new(
                id=self._new_id(),
                name=payload.name,
                owner_id=actor.user_id,
                members=payload.servers,
                listener_protocol=payload.listener_protocol,
                listener_port=payload.listener_port,
                algorithm=payload.algorithm,
                provider=provider,
                description=payload.description,
                now=self._clock.now(),
            )
            uow.load_balancers.create_one(lb)
            uow.commit()
        self._bus.handle(lb.pull_events())
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
            problems = self._member_problems(uow, payload.servers, keep=lb.members) if payload.servers else []
            try:
                lb.request_update(
                    now=self._clock.now(),
                    members=payload.servers,
                    algorithm=payload.algorithm,
                    description=payload.description,
                )
            except ValidationFailed as invalid:
                errors = FieldErrors()
                errors.extend(invalid.details)
                self._raise_for(errors, problems)
            self._raise_for(FieldErrors(), problems)
            uow.load_balancers.update_one(lb)
            uow.commit()
        self._bus.handle(lb.pull_events())
        return self.get_one(actor, lb_id)

    def retry(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        """Provision an ERROR load balancer again (an operations action)."""
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            lb.request_retry(now=self._clock.now())
            uow.load_balancers.update_one(lb)
            uow.commit()
        self._bus.handle(lb.pull_events())
        return self.get_one(actor, lb_id)

    def delete_one(self, actor: Actor, lb_id: UUID) -> LoadBalancerView:
        with self._uow_factory() as uow:
            lb = self._get_changeable(uow, actor, lb_id)
            lb.request_delete(now=self._clock.now())
            uow.load_balancers.update_one(lb)
            uow.commit()
        self._bus.handle(lb.pull_events())
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

    def _member_problems(self, uow: UnitOfWork, server_ids: object, keep: Sequence[int] = ()) -> list[tuple[int, str]]:
        """Each requested server that does not exist, is new here and not OK, or has an
        address the servers' rules refuse now (kept members too: registered before the
        rule, it must not be sent to the provider again).  The servers are locked until
        commit, so none changes status meanwhile."""
        if member_errors(server_ids):
            return []
        assert isinstance(server_ids, Sequence)
        found = {s.id: s for s in uow.servers.get_list(server_ids, for_update=True)}
        problems = []
        for server_id in server_ids:
            server = found.get(server_id)
            if server is None:
                problems.append((server_id, f"server {server_id} does not exist"))
            elif server_id not in keep and not server.is_eligible:
                problems.append(
                    (server_id, f"server {server_id} ({server.name}) is {server.status}; only OK servers may be used")
                )
            else:
                problems.extend(
                    (server_id, f"server {server_id} ({server.name}) cannot be used: {refusal}")
                    for refusal in self._address_policy.refusals(server.address)
                )
        return problems

    @staticmethod
    def _raise_for(errors: FieldErrors, problems: list[tuple[int, str]]) -> None:
        if not errors and problems:
            raise ServerNotEligible([p for _, p in problems], [i for i, _ in problems])
        for _, problem in problems:
            errors.add("servers", problem)
        errors.raise_if_any("the load balancer is not valid")


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


@dataclass
class ReconcileReport:
    resumed: list[UUID] = field(default_factory=list)
    timed_out: list[UUID] = field(default_factory=list)
    refreshed: list[UUID] = field(default_factory=list)
    lost: list[UUID] = field(default_factory=list)
    orphans_waiting: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)
    orphans_held: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class ProvisioningService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        providers: Providers,
        scheduler: TaskScheduler,
        bus: MessageBus,
        clock: Clock,
        policy: ProvisioningPolicy,
        installation: str,
    ):
        self._uow_factory = uow_factory
        self._providers = providers
        self._scheduler = scheduler
        self._bus = bus
        self._clock = clock
        self._policy = policy
        self._installation = installation

    def provision(self, lb_id: UUID) -> None:
        """Ask the provider to create a PENDING_CREATE load balancer, then follow it.
        The load balancer's id is the client token, so a retry never creates twice."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
            if lb.provisioning_status is not ProvisioningStatus.PENDING_CREATE:
                return
            spec = self._spec(uow, lb)
        if lb.provider_ref is None:
            try:
                created = self._providers.get(lb.provider).create(spec, client_token=str(lb.id))
            except ProviderRejected as rejected:
                self.fail(lb_id, f"the provider refused to create it: {rejected.message}")
                return
            self._change(lb_id, partial(LoadBalancer.record_provider_ref, ref=created.ref, now=self._clock.now()))
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
        self._change(lb_id, partial(LoadBalancer.mark_submitted, now=self._clock.now()))
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
            self._change(lb_id, LoadBalancer.mark_deleted)
            return
        self._change(lb_id, partial(LoadBalancer.record_provider_ref, ref=ref, now=self._clock.now()))
        self._scheduler.follow(lb_id, delay=self._policy.poll_interval)

    def follow(self, lb_id: UUID) -> bool:
        """Look at the provider once and store the outcome; True while work is under way
        (another look is then scheduled).  Only a request the provider has accepted is
        followed: before that, ACTIVE would be the state before the change."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
        if not lb.is_pending or lb.provider_ref is None or lb.submitted_at is None:
            return False
        if self._timed_out(lb):
            self.fail(lb_id, self._timeout_reason(lb))
            return False
        try:
            remote = self._providers.get(lb.provider).get(lb.provider_ref)
        except ProviderResourceNotFound:
            if lb.provisioning_status is ProvisioningStatus.PENDING_DELETE:
                self._change(lb_id, LoadBalancer.mark_deleted)
            else:
                self.fail(lb_id, "the provider no longer has this load balancer")
            return False
        except ProviderRejected as rejected:
            self.fail(lb_id, f"the provider refused to report on it: {rejected.message}")
            return False

        if remote.provisioning_status is ProvisioningStatus.ERROR:
            self.fail(lb_id, remote.error or "the provider reported an error without a reason")
            return False
        if lb.provisioning_status is ProvisioningStatus.PENDING_DELETE:
            if remote.provisioning_status is ProvisioningStatus.DELETED:
                self._change(lb_id, LoadBalancer.mark_deleted)
                return False
        elif remote.provisioning_status is ProvisioningStatus.ACTIVE:
            self._change(
                lb_id,
                partial(
                    LoadBalancer.mark_active, vip_address=remote.vip_address, operating_status=remote.operating_status
                ),
            )
            return False
        self._change(lb_id, partial(LoadBalancer.mark_checked, now=self._clock.now()))
        self._scheduler.follow(lb_id, delay=self._policy.poll_interval)
        return True

    def refresh(self, lb_id: UUID) -> str:
        """Look at the provider now and store what it says; returns what happened, for
        the operator who asked."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id)
        if lb.is_pending:
            return "still under way at the provider" if self.follow(lb_id) else "checked: see its new status"
        if lb.provisioning_status is not ProvisioningStatus.ACTIVE or lb.provider_ref is None:
            return f"nothing to refresh: it is {lb.provisioning_status}"
        try:
            remote = self._providers.get(lb.provider).get(lb.provider_ref)
        except ProviderResourceNotFound:
            self._change(lb_id, partial(LoadBalancer.mark_lost, reason="the provider no longer has this load balancer"))
            return "the provider no longer has it: now ERROR"
        if remote.operating_status is lb.operating_status:
            return f"unchanged: {lb.operating_status}"
        self._change(lb_id, partial(LoadBalancer.refresh_operating_status, status=remote.operating_status))
        return f"operating status {lb.operating_status} -> {remote.operating_status}"

    def fail_stuck(self, lb_id: UUID, *, pending_longer_than: float) -> bool:
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
        return self._change(
            lb_id,
            partial(
                LoadBalancer.mark_error,
                reason=f"marked ERROR by operations: {lb.provisioning_status} for {waited / 60:.0f} minutes",
            ),
        )

    def fail(self, lb_id: UUID, reason: str) -> None:
        """Put a PENDING_* load balancer in ERROR with a reason people can read."""
        logger.warning("load balancer %s failed: %s", lb_id, reason)
        self._change(lb_id, partial(LoadBalancer.mark_error, reason=reason))

    def reconcile(self) -> ReconcileReport:
        """The periodic repair pass.  Restarts work no task has looked at for a while (a
        lost message, a worker that died) and puts in ERROR what has been pending too
        long, so no load balancer stays PENDING forever; then compares every
        provider's inventory with the records: operating status changes, load
        balancers gone out of band, and orphans: resources this installation made
        that no live record owns (see ``_handle_orphans``).  Resources of another
        installation are never touched.  One row's failure never stops the pass."""
        report = ReconcileReport()
        self._restart_stuck(report)
        for name in self._providers.names:
            self._compare_with_provider(name, report)
        return report

    # -- helpers ------------------------------------------------------------------------

    def _restart_stuck(self, report: ReconcileReport) -> None:
        now = self._clock.now()
        with self._uow_factory() as uow:
            stuck = uow.load_balancers.get_list_pending(
                not_checked_since=now - timedelta(seconds=self._policy.stuck_after)
            )
        restart = {
            ProvisioningStatus.PENDING_CREATE: self._scheduler.provision,
            ProvisioningStatus.PENDING_UPDATE: self._scheduler.apply_update,
            ProvisioningStatus.PENDING_DELETE: self._scheduler.deprovision,
        }
        for lb in stuck:
            with self._isolated(report, lb.id):
                if self._timed_out(lb):
                    self.fail(lb.id, self._timeout_reason(lb))
                    report.timed_out.append(lb.id)
                elif self._change(lb.id, partial(LoadBalancer.mark_checked, now=now)):
                    restart[lb.provisioning_status](lb.id)
                    report.resumed.append(lb.id)

    def _compare_with_provider(self, name: str, report: ReconcileReport) -> None:
        client = self._providers.get(name)
        try:
            remote = client.get_list()
        except ProviderError as unreachable:
            logger.warning("reconcile: provider %s did not answer: %s", name, unreachable.message)
            report.unreachable.append(name)
            return
        by_ref = {resource.ref: resource for resource in remote}
        with self._uow_factory() as uow:
            active = uow.load_balancers.get_list(provider=name, statuses=[ProvisioningStatus.ACTIVE])
        for lb in active:
            with self._isolated(report, lb.id):
                found = by_ref.get(lb.provider_ref or "")
                if found is None:
                    lost = partial(LoadBalancer.mark_lost, reason="the provider no longer has this load balancer")
                    if self._change(lb.id, lost):
                        report.lost.append(lb.id)
                elif found.operating_status is not lb.operating_status:
                    refresh = partial(LoadBalancer.refresh_operating_status, status=found.operating_status)
                    if self._change(lb.id, refresh):
                        report.refreshed.append(lb.id)

        ours = {
            token: resource
            for resource in remote
            if resource.installation == self._installation and (token := _as_uuid(resource.client_token))
        }
        with self._uow_factory() as uow:
            live = {
                lb.id
                for lb in uow.load_balancers.get_list(ids=ours)
                if lb.provisioning_status is not ProvisioningStatus.DELETED
            }
        orphans = {resource.ref: resource for token, resource in ours.items() if token not in live}
        with self._isolated(report, f"orphans at {name}"):
            self._handle_orphans(name, orphans, report)

    def _handle_orphans(self, name: str, found: dict[str, ProviderLoadBalancer], report: ReconcileReport) -> None:
        """Record the orphans seen at this provider (forgetting those that are no longer
        orphans), then delete the ones older than the grace period, unless more are due
        than one pass may delete: then none, and an operator decides."""
        now = self._clock.now()
        with self._uow_factory() as uow:
            # Deleted ones stay on record; one still listed is being deleted at the provider.
            known = {orphan.ref: orphan for orphan in uow.orphans.get_list(provider=name, deleted=None)}
            uow.orphans.delete_batch(
                orphan.id for ref, orphan in known.items() if ref not in found and orphan.deleted_at is None
            )
            orphans = []
            for ref, resource in found.items():
                orphan = known.get(ref)
                if orphan is not None and orphan.deleted_at is not None:
                    continue
                if orphan is None:
                    token = resource.client_token or ""
                    orphan = uow.orphans.create_one(
                        Orphan(provider=name, ref=ref, client_token=token, first_seen_at=now, last_seen_at=now)
                    )
                else:
                    orphan.seen(now)
                    uow.orphans.update_one(orphan)
                orphans.append(orphan)
            uow.commit()
        grace = self._policy.orphan_grace
        due = [orphan for orphan in orphans if orphan.is_due(now, grace)]
        report.orphans_waiting.extend(orphan.ref for orphan in orphans if orphan not in due)
        if len(due) > self._policy.orphan_max_deletes:
            logger.warning(
                "reconcile: %d orphans at %s are due, more than the %d one pass may delete: none deleted; "
                "an operator decides in the admin (Orphaned resources). A database restored from an older "
                "backup looks like this.",
                len(due),
                name,
                self._policy.orphan_max_deletes,
            )
            report.orphans_held.extend(orphan.ref for orphan in due)
            return
        for orphan in due:
            with self._isolated(report, orphan.ref):
                reason = (
                    f"orphan: no live load balancer has client token {orphan.client_token}; "
                    f"seen as an orphan since {orphan.first_seen_at:%Y-%m-%d %H:%M:%S} UTC (grace {grace:.0f} s)"
                )
                self._delete_orphan(name, orphan, reason)
                report.orphans_deleted.append(orphan.ref)

    def delete_orphans(self, ids: Sequence[int], *, by: str) -> dict[str, str]:
        """Delete these orphans at their providers now (an operator's decision), each
        checked again first: still there, still this installation's, still owned by no
        live load balancer.  Returns what happened to each, by reference."""
        with self._uow_factory() as uow:
            orphans = uow.orphans.get_list(ids=ids)
        outcome = {}
        for orphan in orphans:
            try:
                outcome[orphan.ref] = self._delete_orphan_checked(orphan, by=by)
            except ProviderError as failed:
                outcome[orphan.ref] = f"not deleted: {failed.message}"
        return outcome

    def _delete_orphan_checked(self, orphan: Orphan, *, by: str) -> str:
        try:
            remote = self._providers.get(orphan.provider).get(orphan.ref)
        except ProviderResourceNotFound:
            with self._uow_factory() as uow:
                uow.orphans.delete_batch([orphan.id] if orphan.id else [])
                uow.commit()
            return "already gone at the provider"
        if remote.installation != self._installation:
            return f"not deleted: it belongs to installation {remote.installation or '(none)'}, not this one"
        token = _as_uuid(remote.client_token)
        with self._uow_factory() as uow:
            owners = uow.load_balancers.get_list(ids=[token]) if token else []
        if any(lb.provisioning_status is not ProvisioningStatus.DELETED for lb in owners):
            return "not deleted: a live load balancer owns it again"
        self._delete_orphan(orphan.provider, orphan, f"deleted by {by} in the admin")
        return "deleted"

    def _delete_orphan(self, name: str, orphan: Orphan, reason: str) -> None:
        logger.warning("reconcile: deleting orphan %s at %s: %s", orphan.ref, name, reason)
        self._providers.get(name).delete(orphan.ref)
        with self._uow_factory() as uow:
            orphan.mark_deleted(self._clock.now(), reason)
            uow.orphans.update_one(orphan)
            uow.commit()

    @contextmanager
    def _isolated(self, report: ReconcileReport, what: object) -> Iterator[None]:
        try:
            yield
        except Exception:
            logger.exception("reconcile: %s failed", what)
            report.failed.append(str(what))

    def _timed_out(self, lb: LoadBalancer) -> bool:
        started = lb.pending_since or lb.updated_at
        return started is not None and self._clock.now() - started > timedelta(seconds=self._policy.pending_timeout)

    def _timeout_reason(self, lb: LoadBalancer) -> str:
        return (
            f"timed out: still {lb.provisioning_status} at the provider after "
            f"{self._policy.pending_timeout:.0f} seconds"
        )

    def _change(self, lb_id: UUID, change: Callable[[LoadBalancer], None]) -> bool:
        """Apply one outcome in its own transaction.  If the load balancer has moved on
        meanwhile (another worker got there first), the outcome is dropped."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id, for_update=True)
            try:
                change(lb)
            except Conflict as moved_on:
                logger.info("load balancer %s moved on; dropped outcome: %s", lb_id, moved_on.message)
                return False
            uow.load_balancers.update_one(lb)
            uow.commit()
        self._bus.handle(lb.pull_events())
        return True

    @staticmethod
    def _spec(uow: UnitOfWork, lb: LoadBalancer) -> LoadBalancerSpec:
        servers = {s.id: s for s in uow.servers.get_list(lb.members)}
        return LoadBalancerSpec(
            name=lb.name,
            listener_protocol=lb.listener_protocol,
            listener_port=lb.listener_port,
            algorithm=lb.algorithm,
            members=tuple(MemberSpec(servers[m].address, servers[m].port) for m in lb.members if m in servers),
        )


def _as_uuid(token: str | None) -> UUID | None:
    """The load balancer id a client token names, if it is one of the portal's."""
    try:
        return UUID(token) if token else None
    except ValueError:
        return None
