"""The LoadBalancer aggregate and its state machine (after OpenStack Octavia).

create               -> PENDING_CREATE -> ACTIVE | ERROR
update (from ACTIVE) -> PENDING_UPDATE -> ACTIVE | ERROR
delete (ACTIVE/ERROR)-> PENDING_DELETE -> DELETED (| ERROR)
any write while PENDING_* -> LoadBalancerPending, nothing changes
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from loadbalancers.domain import events
from loadbalancers.domain.errors import (
    DeletionProtected,
    InvalidTransition,
    LoadBalancerPending,
    NameTaken,
    ServerNotEligible,
)
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.members import AdminState, Member, Observed, members_from, observed
from loadbalancers.domain.monitors import HealthMonitor, monitor_from
from loadbalancers.domain.statuses import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.tags import normalized, tag_errors
from portal.kernel.errors import FieldErrors
from portal.kernel.events import Change, changes_between, created
from portal.kernel.validators import choice_errors, name_errors, port_errors

DESCRIPTION_MAX_LENGTH = 255
ERROR_REASON_MAX_LENGTH = 1000


class ListenerProtocol(StrEnum):
    HTTP = "HTTP"
    TCP = "TCP"


class Algorithm(StrEnum):
    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_CONNECTIONS = "LEAST_CONNECTIONS"
    SOURCE_IP = "SOURCE_IP"


PENDING = tuple(s for s in ProvisioningStatus if s.is_pending)
PORTAL_ONLY = ("deletion_protection",)
"""What the portal keeps to itself: a change of only these is not sent to the provider."""


def description_errors(description: object) -> list[str]:
    if not isinstance(description, str):
        return ["description must be text"]
    if len(description) > DESCRIPTION_MAX_LENGTH:
        return [f"description must be at most {DESCRIPTION_MAX_LENGTH} characters (got {len(description)})"]
    return []


@dataclass(frozen=True)
class ServerProblem:
    """Why one requested server cannot be a member (it does not exist, is not OK, ...)."""

    server_id: int
    message: str


def _nothing_taken(name: str) -> bool:
    return False


def _no_problems(server_ids: Sequence[int]) -> list[ServerProblem]:
    return []


class _Keep:
    """A change leaves this field as it is (None may be a value: no health monitor)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: object = _Keep()

# The rule of each field, and the name it has in requests (the members are "servers").
_RULES: dict[str, tuple[str, Callable[[object], list[str]]]] = {
    "name": ("name", name_errors),
    "tags": ("tags", tag_errors),
    "deletion_protection": (
        "deletion_protection",
        lambda value: [] if isinstance(value, bool) else ["deletion_protection must be true or false"],
    ),
    "listener_protocol": (
        "listener_protocol",
        lambda value: choice_errors(value, ListenerProtocol, what="listener_protocol"),
    ),
    "listener_port": ("listener_port", lambda value: port_errors(value, what="listener_port")),
    "algorithm": ("algorithm", lambda value: choice_errors(value, Algorithm, what="algorithm")),
    "description": ("description", description_errors),
}


def _judge(errors: FieldErrors, problems: list[ServerProblem], *, taken: str | None, message: str) -> None:
    """Raise for everything found at once; one kind of problem alone keeps its own error."""
    if taken is not None:
        if not errors and not problems:
            raise NameTaken(taken)
        errors.add("name", f"{taken!r} is taken by a live load balancer")
    if not errors and problems:
        raise ServerNotEligible([p.message for p in problems], [p.server_id for p in problems])
    for problem in problems:
        errors.add("servers", problem.message)
    errors.raise_if_any(message)


@dataclass
class LoadBalancer:
    id: UUID
    name: str
    team_id: int
    created_by_id: int | None
    members: tuple[Member, ...]
    listener_protocol: ListenerProtocol
    listener_port: int
    algorithm: Algorithm
    provider: str
    description: str = ""
    health_monitor: HealthMonitor | None = None
    tags: tuple[str, ...] = ()
    deletion_protection: bool = False
    provisioning_status: ProvisioningStatus = ProvisioningStatus.PENDING_CREATE
    operating_status: OperatingStatus = OperatingStatus.OFFLINE
    provider_ref: str | None = None
    vip_address: str | None = None
    error_reason: str | None = None
    pending_since: datetime | None = None
    submitted_at: datetime | None = None
    checked_at: datetime | None = None
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    events: list[events.Event] = field(default_factory=list, repr=False, compare=False)

    # -- creation -----------------------------------------------------------------

    @staticmethod
    def _field_errors(**given: object) -> FieldErrors:
        """What is wrong with the fields given, each by its own rule (``_RULES``)."""
        errors = FieldErrors()
        for name, value in given.items():
            field_name, rule = _RULES[name]
            for message in rule(value):
                errors.add(field_name, message)
        return errors

    @classmethod
    def new(
        cls,
        *,
        id: UUID,
        name: str,
        team_id: int,
        created_by_id: int | None,
        members: Sequence[object],
        listener_protocol: str,
        listener_port: int,
        algorithm: str,
        provider: str,
        description: str,
        now: datetime,
        health_monitor: object = None,
        tags: Sequence[str] = (),
        deletion_protection: bool = False,
        providers: Sequence[str] | None = None,
        name_taken: Callable[[str], bool] = _nothing_taken,
        server_problems: Callable[[Sequence[int]], list[ServerProblem]] = _no_problems,
    ) -> LoadBalancer:
        """The one judge of a new load balancer: its own rules, and the facts only the
        service can look up, asked for only once the input they concern is valid: whether a
        live load balancer has the name, what is wrong with the servers asked for, and
        which providers are enabled.  Every problem is reported at once; a name taken
        alone is a NameTaken (409), server problems alone a ServerNotEligible.  Members
        are server ids or ``{"server", "weight", "admin_state"}`` objects."""
        errors = cls._field_errors(
            name=name,
            listener_protocol=listener_protocol,
            listener_port=listener_port,
            algorithm=algorithm,
            description=description,
            tags=tags,
            deletion_protection=deletion_protection,
        )
        wanted, _, member_problems = members_from(members)
        for message in member_problems:
            errors.add("servers", message)
        monitor, monitor_problems = monitor_from(health_monitor)
        for message in monitor_problems:
            errors.add("health_monitor", message)
        if providers is not None and provider not in providers:
            errors.add("provider", f"provider must be one of {', '.join(providers)} (got {provider!r})")
        problems = [] if "servers" in errors else server_problems([m.server_id for m in wanted])
        taken = "name" not in errors and name_taken(name)
        _judge(errors, problems, taken=name if taken else None, message="the load balancer is not valid")
        lb = cls(
            id=id,
            name=name,
            team_id=team_id,
            created_by_id=created_by_id,
            members=wanted,
            listener_protocol=ListenerProtocol(listener_protocol),
            listener_port=listener_port,
            algorithm=Algorithm(algorithm),
            provider=provider,
            description=description,
            health_monitor=monitor,
            tags=normalized(tags),
            deletion_protection=deletion_protection,
            pending_since=now,
        )
        # What was left at its default (off) is not worth a line of the creation's record.
        asked = {name: value for name, value in lb._described().items() if value is not False}
        lb._record(events.CreationRequested, changes=created(asked))
        return lb

    # -- user requests --------------------------------------------------------------

    def request_update(
        self,
        *,
        now: datetime,
        members: Sequence[object] | None = None,
        algorithm: str | None = None,
        description: str | None = None,
        health_monitor: object = KEEP,
        tags: Sequence[str] | None = None,
        deletion_protection: bool | None = None,
        server_problems: Callable[[Sequence[int]], list[ServerProblem]] = _no_problems,
        unavailable: Mapping[int, str] | None = None,
    ) -> None:
        """Change what is given (None, or KEEP for the monitor, leaves a field as it is).
        New members are judged with the facts ``server_problems`` looks up, as on
        creation.  ``unavailable`` names the members' servers the inventory says are
        not OK, when their members are to be drained (see ``follow_inventory``): such a
        member cannot be enabled by hand.  A change of the deletion protection alone is
        the portal's own: nothing is sent to the provider."""
        portal_only = (
            members is None
            and algorithm is None
            and description is None
            and health_monitor is KEEP
            and tags is None
            and deletion_protection is not None
        )
        # The protection alone may change in ERROR too: a protected load balancer in ERROR
        # must be deletable once someone turns the protection off.
        self._require("update", ProvisioningStatus.ACTIVE, *((ProvisioningStatus.ERROR,) if portal_only else ()))
        errors = self._field_errors(
            **{
                name: value
                for name, value in {
                    "algorithm": algorithm,
                    "description": description,
                    "tags": tags,
                    "deletion_protection": deletion_protection,
                }.items()
                if value is not None
            }
        )
        wanted, explicit = self.members, set()
        if members is not None:
            wanted, explicit, member_problems = members_from(members, self.members)
            for message in member_problems:
                errors.add("servers", message)
        monitor = self.health_monitor
        if health_monitor is not KEEP:
            monitor, monitor_problems = monitor_from(health_monitor, self.health_monitor)
            for message in monitor_problems:
                errors.add("health_monitor", message)
        if "servers" not in errors and unavailable:
            for member in wanted:
                if member.server_id in explicit and not member.is_draining and member.server_id in unavailable:
                    errors.add(
                        "servers",
                        f"server {member.server_id}: {unavailable[member.server_id]} in the inventory: its member"
                        " stays in drain until operations set the server OK again",
                    )
        problems = [] if members is None or "servers" in errors else server_problems([m.server_id for m in wanted])
        _judge(errors, problems, taken=None, message="the load balancer is not valid")
        before = self._described()
        # The inventory is followed by a change that goes to the provider, never by one of
        # the portal's own flags alone (its members would change without the provider knowing).
        self.members = wanted if portal_only else _follow_inventory(wanted, unavailable or {})
        if algorithm is not None:
            self.algorithm = Algorithm(algorithm)
        if description is not None:
            self.description = description
        self.health_monitor = monitor
        if tags is not None:
            self.tags = normalized(tags)
        if deletion_protection is not None:
            self.deletion_protection = deletion_protection
        changes = changes_between(before, self._described())
        if portal_only or (changes and all(change.field in PORTAL_ONLY for change in changes)):
            if changes:
                self._record(events.Updated, changes=changes)
            return
        # Anything else (even nothing: "apply it again") goes to the provider.
        self._enter(ProvisioningStatus.PENDING_UPDATE, now)
        self._record(events.UpdateRequested, changes=changes_between(before, self._described()))

    def follows_inventory(self, unavailable: Mapping[int, str]) -> bool:
        """Whether its members already are as ``follow_inventory`` would make them."""
        return _follow_inventory(self.members, unavailable) == self.members

    @property
    def server_ids(self) -> tuple[int, ...]:
        return tuple(member.server_id for member in self.members)

    def follow_inventory(self, *, now: datetime, unavailable: Mapping[int, str]) -> bool:
        """Drain the members whose servers the inventory says are not OK (``unavailable``:
        server id -> why, e.g. "web-3 is MAINTENANCE"), and enable again those it drained
        whose servers are OK again, through a normal update.  False when nothing changes."""
        self._require("update", ProvisioningStatus.ACTIVE)
        members = _follow_inventory(self.members, unavailable)
        if members == self.members:
            return False
        drained = [m.server_id for m in members if m.drained_by_inventory and m.server_id in unavailable]
        drained = [s for s in drained if s not in {m.server_id for m in self.members if m.drained_by_inventory}]
        restored = [m.server_id for m in self.members if m.drained_by_inventory and m.server_id not in unavailable]
        before = self._described()
        self.members = members
        self._enter(ProvisioningStatus.PENDING_UPDATE, now)
        self._record(
            events.InventoryFollowed,
            drained=tuple(f"{server_id} ({unavailable[server_id]})" for server_id in drained),
            restored=tuple(str(server_id) for server_id in restored),
            changes=changes_between(before, self._described()),
        )
        return True

    def request_retry(self, *, now: datetime) -> None:
        """Try again after an ERROR: create it if the provider never got it, otherwise
        apply the record's spec again."""
        self._require("retry", ProvisioningStatus.ERROR)
        before = self.provisioning_status
        self.error_reason = None
        if self.provider_ref is None:
            self._enter(ProvisioningStatus.PENDING_CREATE, now)
            kind: type[events.Event] = events.RetryCreationRequested
        else:
            self._enter(ProvisioningStatus.PENDING_UPDATE, now)
            kind = events.RetryUpdateRequested
        self._record(kind, changes=(Change("provisioning_status", before.value, self.provisioning_status.value),))

    def request_repair(self, *, now: datetime, drifted: Sequence[str] = ()) -> None:
        """Apply the record again at the provider, which runs something else (``drifted``
        names what): an update that changes nothing in the record."""
        self._require("repair", ProvisioningStatus.ACTIVE)
        self._enter(ProvisioningStatus.PENDING_UPDATE, now)
        self._record(
            events.RepairRequested,
            drifted=tuple(drifted),
            changes=(Change("provisioning_status", ProvisioningStatus.ACTIVE.value, self.provisioning_status.value),),
        )

    def request_delete(self, *, now: datetime) -> None:
        self._require("delete", ProvisioningStatus.ACTIVE, ProvisioningStatus.ERROR)
        if self.deletion_protection:
            raise DeletionProtected(self.name)
        before = self.provisioning_status
        self._enter(ProvisioningStatus.PENDING_DELETE, now)
        self._record(
            events.DeletionRequested,
            changes=(Change("provisioning_status", before.value, self.provisioning_status.value),),
        )

    # -- provider outcomes ------------------------------------------------------------

    def record_provider_ref(self, ref: str, *, now: datetime) -> None:
        """The provider holds this load balancer under ``ref``: it accepted the create,
        or a delete found what a lost create left there under the client token."""
        self._require(
            "record the provider reference of", ProvisioningStatus.PENDING_CREATE, ProvisioningStatus.PENDING_DELETE
        )
        before = self.provider_ref
        self.provider_ref = ref
        self.submitted_at = now
        self._submitted(changes_between({"provider_ref": before}, {"provider_ref": ref}))

    def mark_submitted(self, now: datetime) -> None:
        """The provider accepted the current request; only its outcome counts from now
        on (an ACTIVE seen before this is the provider's state before the change)."""
        self._require("submit", *PENDING)
        self.submitted_at = now
        self._submitted(())

    def mark_checked(self, now: datetime) -> None:
        """A task looked at the provider and the work is still under way."""
        self._require("check on", *PENDING)
        self.checked_at = now

    def resume(self, now: datetime) -> None:
        """The reconciler takes up work that nothing was looking after (a lost message,
        a worker that died): checked now, so it is not taken up twice."""
        self.mark_checked(now)
        self._record(events.WorkResumed, status=self.provisioning_status.value)

    def mark_active(self, *, vip_address: str | None, reported: Mapping[int, Observed]) -> None:
        """Done at the provider; ``reported`` is what it says of each member (by server id)."""
        self._require("activate", ProvisioningStatus.PENDING_CREATE, ProvisioningStatus.PENDING_UPDATE)
        before = self._status()
        self.vip_address = vip_address
        self.members = observed(self.members, reported)
        self.operating_status = overall_operating_status(m.operating_status for m in self.members)
        self.error_reason = None
        self._leave_pending(ProvisioningStatus.ACTIVE)
        self._record(
            events.BecameActive,
            vip_address=vip_address,
            operating_status=self.operating_status.value,
            changes=changes_between(before, self._status()),
        )

    def mark_error(self, reason: str) -> None:
        self._require("fail", *PENDING)
        before = self._status()
        self.error_reason = reason[:ERROR_REASON_MAX_LENGTH]
        self.operating_status = OperatingStatus.ERROR
        self._leave_pending(ProvisioningStatus.ERROR)
        self._failed(before)

    def mark_deleted(self) -> None:
        """Gone at the provider: the record stays for history, its servers are released."""
        self._require("finish deleting", ProvisioningStatus.PENDING_DELETE)
        before = {**self._status(), "servers": list(self.server_ids)}
        self.members = ()
        self.vip_address = None
        self.operating_status = OperatingStatus.OFFLINE
        self._leave_pending(ProvisioningStatus.DELETED)
        self._record(events.Deleted, changes=changes_between(before, {**self._status(), "servers": []}))

    def observe(self, reported: Mapping[int, Observed]) -> bool:
        """Store what the provider says now of each member (by server id) and the
        operating status that follows from it; False when no status changed (a new
        reason alone is stored without an event)."""
        self._require("refresh the status of", ProvisioningStatus.ACTIVE)
        before, members_before = self._health(), self.members
        self.members = observed(self.members, reported)
        self.operating_status = overall_operating_status(m.operating_status for m in self.members)
        changes = changes_between(before, self._health())
        if changes:
            self._record(events.OperatingStatusChanged, operating_status=self.operating_status.value, changes=changes)
        return bool(changes) or self.members != members_before

    def mark_lost(self, reason: str) -> None:
        """The provider no longer has an ACTIVE load balancer (deleted out of band)."""
        self._require("lose", ProvisioningStatus.ACTIVE)
        before = self._status()
        self.error_reason = reason[:ERROR_REASON_MAX_LENGTH]
        self.operating_status = OperatingStatus.ERROR
        self.provisioning_status = ProvisioningStatus.ERROR
        self._failed(before)

    # -- helpers ------------------------------------------------------------------------

    @property
    def is_pending(self) -> bool:
        return self.provisioning_status.is_pending

    def pull_events(self) -> list[events.Event]:
        pulled, self.events = self.events, []
        return pulled

    def _record(self, kind: type[events.Event], **fields: object) -> None:
        self.events.append(
            kind(lb_id=self.id, target_id=str(self.id), target_name=self.name, team_id=self.team_id, **fields)  # type: ignore[arg-type]
        )

    def _described(self) -> dict[str, object]:
        """What people asked for, as the audit trail shows its changes."""
        return {
            "name": self.name,
            "servers": list(self.server_ids),
            "member_settings": {str(m.server_id): m.settings() for m in self.members if m.settings()} or None,
            "listener_protocol": self.listener_protocol.value,
            "listener_port": self.listener_port,
            "algorithm": self.algorithm.value,
            "health_monitor": self.health_monitor.describe() if self.health_monitor else None,
            "tags": list(self.tags) or None,
            "deletion_protection": self.deletion_protection,
            "description": self.description,
            "provider": self.provider,
            "provisioning_status": self.provisioning_status.value,
        }

    def _health(self) -> dict[str, object]:
        """The operating status and each member's, as the audit trail shows their changes."""
        return {
            "operating_status": self.operating_status.value,
            **{f"member {m.server_id}": m.operating_status.value for m in self.members},
        }

    def _status(self) -> dict[str, object]:
        return {
            "provisioning_status": self.provisioning_status.value,
            "operating_status": self.operating_status.value,
            "vip_address": self.vip_address,
            "error_reason": self.error_reason,
        }

    def _submitted(self, changes: tuple[Change, ...]) -> None:
        self._record(
            events.Submitted,
            provider=self.provider,
            provider_ref=self.provider_ref,
            status=self.provisioning_status.value,
            changes=changes,
        )

    def _failed(self, before: dict[str, object]) -> None:
        self._record(
            events.ProvisioningFailed,
            reason=self.error_reason or "",
            changes=changes_between(before, self._status()),
        )

    def _require(self, action: str, *allowed: ProvisioningStatus) -> None:
        if self.provisioning_status in allowed:
            return
        if self.is_pending:
            raise LoadBalancerPending(self.id, self.provisioning_status)
        raise InvalidTransition(action, self.provisioning_status, tuple(allowed))

    def _enter(self, status: ProvisioningStatus, now: datetime) -> None:
        self.provisioning_status = status
        self.pending_since = now
        self.submitted_at = None
        self.checked_at = None

    def _leave_pending(self, status: ProvisioningStatus) -> None:
        self.provisioning_status = status
        self.pending_since = None
        self.submitted_at = None
        self.checked_at = None


def _follow_inventory(members: Sequence[Member], unavailable: Mapping[int, str]) -> tuple[Member, ...]:
    """Each enabled member whose server is not OK (``unavailable``) drained, and each the
    inventory drained whose server is OK again enabled."""
    followed = []
    for member in members:
        if member.server_id in unavailable and not member.is_draining:
            member = replace(member, admin_state=AdminState.DRAIN, drained_by_inventory=True)
        elif member.drained_by_inventory and member.server_id not in unavailable:
            member = replace(member, admin_state=AdminState.ENABLED, drained_by_inventory=False)
        followed.append(member)
    return tuple(followed)
