"""The periodic repair pass, and what operations decide about what it finds: work no
task looks after any more, load balancers changed or gone at the provider out of band,
and orphans (resources this installation made that no live record owns)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from loadbalancers.application.lbaas import LBaaSClient, LoadBalancerSpec, ProviderLoadBalancer, Providers, spec_changes
from loadbalancers.application.ports import Clock, TaskScheduler, UnitOfWork
from loadbalancers.application.provisioning import ProvisioningPolicy, ProvisioningService, Specs, spec_of
from loadbalancers.domain import events
from loadbalancers.domain.drift import Drift, DriftPolicy
from loadbalancers.domain.errors import ProviderError, ProviderResourceNotFound
from loadbalancers.domain.events import OrphanDeleted
from loadbalancers.domain.model import LoadBalancer, ProvisioningStatus
from loadbalancers.domain.orphans import Orphan
from portal.kernel.actors import Actor, Source
from portal.kernel.events import Change

logger = logging.getLogger(__name__)

RECONCILER = Actor.system(Source.RECONCILER)


@dataclass
class ReconcileReport:
    resumed: list[UUID] = field(default_factory=list)
    timed_out: list[UUID] = field(default_factory=list)
    refreshed: list[UUID] = field(default_factory=list)
    inventory_followed: list[UUID] = field(default_factory=list)
    lost: list[UUID] = field(default_factory=list)
    drifted: list[UUID] = field(default_factory=list)
    repaired: list[UUID] = field(default_factory=list)
    orphans_found: list[str] = field(default_factory=list)
    orphans_waiting: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)
    orphans_held: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class ReconciliationService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        providers: Providers,
        scheduler: TaskScheduler,
        clock: Clock,
        policy: ProvisioningPolicy,
        installation: str,
        steps: ProvisioningService,
    ):
        self._uow_factory = uow_factory
        self._providers = providers
        self._scheduler = scheduler
        self._clock = clock
        self._policy = policy
        self._installation = installation
        self._steps = steps

    def reconcile(self) -> ReconcileReport:
        """The periodic repair pass.  Restarts work no task has looked at for a while (a
        lost message, a worker that died) and puts in ERROR what has been pending too
        long, so no load balancer stays PENDING forever; then compares every
        provider's inventory with the records: operating status changes, load
        balancers gone out of band, drift (a load balancer that runs otherwise than
        its record, see ``_check_drift``), and orphans: resources this installation
        made that no live record owns (see ``_handle_orphans``).  The drift policy
        decides whether drift and orphans are only reported or also repaired.
        Resources of another installation are never touched.  One row's failure never
        stops the pass."""
        report = ReconcileReport()
        self._restart_stuck(report)
        with self._isolated(report, "inventory"):
            report.inventory_followed.extend(self._steps.follow_inventory(by=RECONCILER))
        with self._isolated(report, "drift of deleted load balancers"):
            self._close_drift_of_deleted()
        for name in self._providers.names:
            with _collector_paused():
                self._compare_with_provider(name, report)
        return report

    def delete_orphans(self, ids: Sequence[int], *, by: Actor) -> dict[str, str]:
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
                if self._policy.timed_out(lb, now):
                    self._steps.fail(lb.id, self._policy.timeout_reason(lb), by=RECONCILER)
                    report.timed_out.append(lb.id)
                elif self._steps.record(lb.id, partial(LoadBalancer.resume, now=now), by=RECONCILER):
                    restart[lb.provisioning_status](lb.id)
                    report.resumed.append(lb.id)

    def _compare_with_provider(self, name: str, report: ReconcileReport) -> None:
        client = self._providers.get(name)
        # The records before the provider: every ACTIVE record read here was ACTIVE at the
        # provider before its inventory was read, so one missing there is truly gone, and
        # a record that changes meanwhile is left to the next pass (see _check_drift).
        with self._uow_factory() as uow:
            active = uow.load_balancers.get_list(provider=name, statuses=[ProvisioningStatus.ACTIVE])
            servers = {
                s.id: s for s in uow.servers.get_list(sorted({m.server_id for lb in active for m in lb.members}))
            }
            projects = uow.teams.projects_of({lb.team_id for lb in active})  # one query for the pass
            drifting = {drift.lb_id for drift in uow.drift.get_list()}
        try:
            remote = client.get_list()
        except ProviderError as unreachable:
            logger.warning("reconcile: provider %s did not answer: %s", name, unreachable.message)
            report.unreachable.append(name)
            return
        by_ref = {resource.ref: resource for resource in remote}
        specs = Specs(servers)  # the servers read for this pass
        for lb in active:
            with self._isolated(report, lb.id):
                found = by_ref.get(lb.provider_ref or "")
                if found is None:
                    lost = partial(LoadBalancer.mark_lost, reason="the provider no longer has this load balancer")
                    if self._steps.record(lb.id, lost, by=RECONCILER):
                        report.lost.append(lb.id)
                    continue
                if found.provisioning_status is not ProvisioningStatus.ACTIVE:
                    continue  # busy at the provider: next pass
                if self._steps.observe(lb, found, by=RECONCILER, servers=servers):
                    report.refreshed.append(lb.id)
                desired = specs.of(lb, project=projects.get(lb.team_id))
                self._check_drift(client, lb, found, desired, report, known=lb.id in drifting)

        # The tokens of the records read are known: only the others are parsed.
        known_tokens = {str(lb.id): lb.id for lb in active}
        ours = {
            token: resource
            for resource in remote
            if resource.installation == self._installation
            and (token := known_tokens.get(resource.client_token or "") or _as_uuid(resource.client_token))
        }
        # Every ACTIVE record read above is live: it was read before the inventory, so its
        # resource is never taken for an orphan, even when it is being deleted meanwhile
        # (the next pass no longer finds it).  Only the other tokens' records are read.
        live = {lb.id for lb in active}
        with self._uow_factory() as uow:
            live.update(
                lb.id
                for lb in uow.load_balancers.get_list(ids=[token for token in ours if token not in live])
                if lb.provisioning_status is not ProvisioningStatus.DELETED
            )
        orphans = {resource.ref: resource for token, resource in ours.items() if token not in live}
        with self._isolated(report, f"orphans at {name}"):
            self._handle_orphans(name, orphans, report)

    def _close_drift_of_deleted(self) -> None:
        """A load balancer deleted meanwhile runs nothing anywhere: its open drift is
        resolved (its deletion is on record already)."""
        now = self._clock.now()
        with self._uow_factory() as uow:
            drift = uow.drift.get_list()
            deleted = {
                lb.id
                for lb in uow.load_balancers.get_list(ids={d.lb_id for d in drift})
                if lb.provisioning_status is ProvisioningStatus.DELETED
            }
            for each in drift:
                if each.lb_id in deleted:
                    each.resolve(now)
                    uow.drift.update_one(each)
            uow.commit(by=RECONCILER)

    def _check_drift(
        self,
        client: LBaaSClient,
        lb: LoadBalancer,
        found: ProviderLoadBalancer,
        desired: LoadBalancerSpec,
        report: ReconcileReport,
        *,
        known: bool,
    ) -> None:
        """Compare what the provider runs with the record, field by field, and keep the
        drift records in step: new differences are recorded (and told: an event), those
        still there are seen again, those gone are resolved.  Under the repair policy, a
        drifted load balancer is applied again through a normal update, once per drift
        (a repair that did not hold is reported, not looped).  Nothing is stored when
        the record changed since it was read: the provider's answer may predate it.
        ``known``: it had open drift when the pass began (without, and with no
        difference now, there is nothing to store)."""
        if found.running is None:
            return
        running = client.as_running(desired)
        if running == found.running and not known:
            return  # nothing differs (most of a pass): field by field below otherwise
        differences = {c.field: c for c in spec_changes(running, found.running)}
        if not differences and not known:
            return
        now = self._clock.now()
        with self._uow_factory() as uow:
            current = uow.load_balancers.get_one(lb.id, for_update=True)
            if current.provisioning_status is not ProvisioningStatus.ACTIVE:
                return
            # Built with the project ``desired`` was: a team's new project is not a change of
            # this load balancer (it stays in the project it was created in).
            servers = {s.id: s for s in uow.servers.get_list(current.server_ids)}
            if spec_of(current, servers, project=desired.project) != desired:
                return
            stored = {d.field: d for d in uow.drift.get_list(lb_ids=[lb.id])}
            new = []
            for name, change in differences.items():
                drift = stored.get(name)
                if drift is None:
                    new.append(change)
                    uow.drift.create_one(Drift(lb.id, name, change.before, change.after, now, now))
                else:
                    drift.desired = change.before
                    drift.seen(change.after, now)
                    uow.drift.update_one(drift)
            resolved = [drift for name, drift in stored.items() if name not in differences]
            for drift in resolved:
                drift.resolve(now)
                uow.drift.update_one(drift)
            about = {"lb_id": lb.id, "target_id": str(lb.id), "target_name": lb.name, "team_id": lb.team_id}
            if new:
                changes = tuple(Change(c.field, c.before, c.after) for c in new)
                uow.record(events.DriftFound(**about, changes=changes))  # type: ignore[arg-type]
            if resolved:
                uow.record(events.DriftResolved(**about, fields=tuple(d.field for d in resolved)))  # type: ignore[arg-type]
            uow.commit(by=RECONCILER)
        if differences:
            report.drifted.append(lb.id)
        if self._policy.drift_policy is DriftPolicy.REPAIR and differences and self._repair(lb.id, desired, now):
            report.repaired.append(lb.id)

    def _repair(self, lb_id: UUID, desired: LoadBalancerSpec, now: datetime) -> bool:
        """Apply the record again, once per drift: drift a repair was already asked for
        (and that did not hold) is reported, not repaired again in a loop.  In a
        transaction of its own, after the drift is on record, so the trail tells the
        drift before its repair; the record is checked again as it is locked."""
        with self._uow_factory() as uow:
            lb = uow.load_balancers.get_one(lb_id, for_update=True)
            if lb.provisioning_status is not ProvisioningStatus.ACTIVE:
                return False
            servers = {s.id: s for s in uow.servers.get_list(lb.server_ids)}
            if spec_of(lb, servers, project=desired.project) != desired:  # as in _check_drift
                return False
            drifted = uow.drift.get_list(lb_ids=[lb_id])
            unrepaired = [drift for drift in drifted if drift.repaired_at is None]
            if not unrepaired:
                logger.warning(
                    "reconcile: load balancer %s still runs otherwise than its record after a repair (%s); not"
                    " repaired again: an operator decides",
                    lb_id,
                    ", ".join(sorted(drift.field for drift in drifted)),
                )
                return False
            lb.request_repair(now=now, drifted=sorted(drift.field for drift in drifted))
            uow.load_balancers.update_one(lb)
            for drift in unrepaired:
                drift.repaired_at = now
                uow.drift.update_one(drift)
            uow.commit(by=RECONCILER)
        return True

    def _handle_orphans(self, name: str, found: dict[str, ProviderLoadBalancer], report: ReconcileReport) -> None:
        """Record the orphans seen at this provider (forgetting those that are no longer
        orphans; a new one is told: an event).  Under the repair policy, then delete the
        ones older than the grace period, unless more are due than one pass may delete:
        then none, and an operator decides.  Otherwise an operator always decides."""
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
                    uow.record(
                        events.OrphanFound(
                            target_id=f"{name}:{ref}", target_name=f"{ref} at {name}", client_token=token
                        )
                    )
                    report.orphans_found.append(ref)
                else:
                    orphan.seen(now)
                    uow.orphans.update_one(orphan)
                orphans.append(orphan)
            uow.commit(by=RECONCILER)
        grace = self._policy.orphan_grace
        if self._policy.drift_policy is not DriftPolicy.REPAIR:
            # Reported (the admin's Orphaned resources, the trail), deleted only by an operator.
            report.orphans_waiting.extend(orphan.ref for orphan in orphans)
            return
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
                self._delete_orphan(name, orphan, reason, by=RECONCILER)
                report.orphans_deleted.append(orphan.ref)

    def _delete_orphan_checked(self, orphan: Orphan, *, by: Actor) -> str:
        try:
            remote = self._providers.get(orphan.provider).get(orphan.ref)
        except ProviderResourceNotFound:
            with self._uow_factory() as uow:
                uow.orphans.delete_batch([orphan.id] if orphan.id else [])
                uow.record(self._orphan_deleted(orphan.provider, orphan, "already gone at the provider"))
                uow.commit(by=by)
            return "already gone at the provider"
        if remote.installation != self._installation:
            return f"not deleted: it belongs to installation {remote.installation or '(none)'}, not this one"
        token = _as_uuid(remote.client_token)
        with self._uow_factory() as uow:
            owners = uow.load_balancers.get_list(ids=[token]) if token else []
        if any(lb.provisioning_status is not ProvisioningStatus.DELETED for lb in owners):
            return "not deleted: a live load balancer owns it again"
        self._delete_orphan(orphan.provider, orphan, f"deleted by {by.username} in the admin", by=by)
        return "deleted"

    def _delete_orphan(self, name: str, orphan: Orphan, reason: str, *, by: Actor) -> None:
        logger.warning("reconcile: deleting orphan %s at %s: %s", orphan.ref, name, reason)
        self._providers.get(name).delete(orphan.ref)
        with self._uow_factory() as uow:
            orphan.mark_deleted(self._clock.now(), reason)
            uow.orphans.update_one(orphan)
            uow.record(self._orphan_deleted(name, orphan, orphan.deletion_reason))
            uow.commit(by=by)

    @staticmethod
    def _orphan_deleted(name: str, orphan: Orphan, reason: str) -> OrphanDeleted:
        return OrphanDeleted(target_id=f"{name}:{orphan.ref}", target_name=f"{orphan.ref} at {name}", reason=reason)

    @contextmanager
    def _isolated(self, report: ReconcileReport, what: object) -> Iterator[None]:
        try:
            yield
        except Exception:
            logger.exception("reconcile: %s failed", what)
            report.failed.append(str(what))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused meanwhile, and restarted after (left as it
    was when something else had paused it).  Comparing with a provider holds a few
    hundred thousand objects until it ends (every ACTIVE record, and what the provider
    says of each), none of them in a reference cycle: the collector's full scans of them
    as they pile up found nothing and were a fifth of a pass's time.  What is freed is
    freed as always, by reference counting; a cycle made meanwhile waits for the next scan."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _as_uuid(token: str | None) -> UUID | None:
    """The load balancer id a client token names, if it is one of the portal's."""
    try:
        return UUID(token) if token else None
    except ValueError:
        return None
