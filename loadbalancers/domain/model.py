"""The LoadBalancer aggregate and its state machine (after OpenStack Octavia).

create               -> PENDING_CREATE -> ACTIVE | ERROR
update (from ACTIVE) -> PENDING_UPDATE -> ACTIVE | ERROR
delete (ACTIVE/ERROR)-> PENDING_DELETE -> DELETED (| ERROR)
any write while PENDING_* -> LoadBalancerPending, nothing changes
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from loadbalancers.domain import events
from loadbalancers.domain.errors import InvalidTransition, LoadBalancerPending
from portal.kernel.errors import FieldErrors
from portal.kernel.validators import choice_errors, name_errors, port_errors

DESCRIPTION_MAX_LENGTH = 255
ERROR_REASON_MAX_LENGTH = 1000


class ProvisioningStatus(StrEnum):
    PENDING_CREATE = "PENDING_CREATE"
    ACTIVE = "ACTIVE"
    PENDING_UPDATE = "PENDING_UPDATE"
    PENDING_DELETE = "PENDING_DELETE"
    DELETED = "DELETED"
    ERROR = "ERROR"

    @property
    def is_pending(self) -> bool:
        return self.name.startswith("PENDING_")


class OperatingStatus(StrEnum):
    ONLINE = "ONLINE"
    DEGRADED = "DEGRADED"
    OFFLINE = "OFFLINE"
    ERROR = "ERROR"
    NO_MONITOR = "NO_MONITOR"


class ListenerProtocol(StrEnum):
    HTTP = "HTTP"
    TCP = "TCP"


class Algorithm(StrEnum):
    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_CONNECTIONS = "LEAST_CONNECTIONS"
    SOURCE_IP = "SOURCE_IP"


PENDING = tuple(s for s in ProvisioningStatus if s.is_pending)


def member_errors(members: object) -> list[str]:
    """At least one member, each a server id, none twice."""
    if not isinstance(members, Sequence) or isinstance(members, str | bytes):
        return ["servers must be a list of server ids"]
    if not members:
        return ["at least one server is required"]
    problems = [
        f"{item!r} is not a server id (a whole number)"
        for item in members
        if isinstance(item, bool) or not isinstance(item, int)
    ]
    counts = Counter(m for m in members if isinstance(m, int) and not isinstance(m, bool))
    duplicates = sorted(m for m, n in counts.items() if n > 1)
    if duplicates:
        problems.append(f"each server may be listed once; repeated: {', '.join(map(str, duplicates))}")
    return problems


def description_errors(description: object) -> list[str]:
    if not isinstance(description, str):
        return ["description must be text"]
    if len(description) > DESCRIPTION_MAX_LENGTH:
        return [f"description must be at most {DESCRIPTION_MAX_LENGTH} characters (got {len(description)})"]
    return []


@dataclass
class LoadBalancer:
    id: UUID
    name: str
    owner_id: int
    members: tuple[int, ...]
    listener_protocol: ListenerProtocol
    listener_port: int
    algorithm: Algorithm
    provider: str
    description: str = ""
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
    def check_new(
        *,
        name: object,
        members: object,
        listener_protocol: object,
        listener_port: object,
        algorithm: object,
        description: object,
    ) -> FieldErrors:
        """Every rule a new load balancer must meet by itself, all reported at once."""
        errors = FieldErrors()
        for message in name_errors(name):
            errors.add("name", message)
        for message in member_errors(members):
            errors.add("servers", message)
        for message in choice_errors(listener_protocol, ListenerProtocol, what="listener_protocol"):
            errors.add("listener_protocol", message)
        for message in port_errors(listener_port, what="listener_port"):
            errors.add("listener_port", message)
        for message in choice_errors(algorithm, Algorithm, what="algorithm"):
            errors.add("algorithm", message)
        for message in description_errors(description):
            errors.add("description", message)
        return errors

    @classmethod
    def new(
        cls,
        *,
        id: UUID,
        name: str,
        owner_id: int,
        members: Sequence[int],
        listener_protocol: str,
        listener_port: int,
        algorithm: str,
        provider: str,
        description: str,
        now: datetime,
    ) -> LoadBalancer:
        cls.check_new(
            name=name,
            members=members,
            listener_protocol=listener_protocol,
            listener_port=listener_port,
            algorithm=algorithm,
            description=description,
        ).raise_if_any("the load balancer is not valid")
        lb = cls(
            id=id,
            name=name,
            owner_id=owner_id,
            members=tuple(members),
            listener_protocol=ListenerProtocol(listener_protocol),
            listener_port=listener_port,
            algorithm=Algorithm(algorithm),
            provider=provider,
            description=description,
            pending_since=now,
        )
        lb.events.append(events.CreationRequested(lb.id))
        return lb

    # -- user requests --------------------------------------------------------------

    def request_update(
        self,
        *,
        now: datetime,
        members: Sequence[int] | None = None,
        algorithm: str | None = None,
        description: str | None = None,
    ) -> None:
        self._require("update", ProvisioningStatus.ACTIVE)
        errors = FieldErrors()
        if members is not None:
            for message in member_errors(members):
                errors.add("servers", message)
        if algorithm is not None:
            for message in choice_errors(algorithm, Algorithm, what="algorithm"):
                errors.add("algorithm", message)
        if description is not None:
            for message in description_errors(description):
                errors.add("description", message)
        errors.raise_if_any("the change is not valid")
        if members is not None:
            self.members = tuple(members)
        if algorithm is not None:
            self.algorithm = Algorithm(algorithm)
        if description is not None:
            self.description = description
        self._enter(ProvisioningStatus.PENDING_UPDATE, now)
        self.events.append(events.UpdateRequested(self.id))

    def request_retry(self, *, now: datetime) -> None:
        """Try again after an ERROR: create it if the provider never got it, otherwise
        apply the record's spec again."""
        self._require("retry", ProvisioningStatus.ERROR)
        self.error_reason = None
        if self.provider_ref is None:
            self._enter(ProvisioningStatus.PENDING_CREATE, now)
            self.events.append(events.CreationRequested(self.id))
        else:
            self._enter(ProvisioningStatus.PENDING_UPDATE, now)
            self.events.append(events.UpdateRequested(self.id))

    def request_delete(self, *, now: datetime) -> None:
        self._require("delete", ProvisioningStatus.ACTIVE, ProvisioningStatus.ERROR)
        self._enter(ProvisioningStatus.PENDING_DELETE, now)
        self.events.append(events.DeletionRequested(self.id))

    # -- provider outcomes ------------------------------------------------------------

    def record_provider_ref(self, ref: str, *, now: datetime) -> None:
        """The provider holds this load balancer under ``ref``: it accepted the create,
        or a delete found what a lost create left there under the client token."""
        self._require(
            "record the provider reference of", ProvisioningStatus.PENDING_CREATE, ProvisioningStatus.PENDING_DELETE
        )
        self.provider_ref = ref
        self.submitted_at = now

    def mark_submitted(self, now: datetime) -> None:
        """The provider accepted the current request; only its outcome counts from now
        on (an ACTIVE seen before this is the provider's state before the change)."""
        self._require("submit", *PENDING)
        self.submitted_at = now

    def mark_checked(self, now: datetime) -> None:
        """A task looked at the provider and the work is still under way."""
        self._require("check on", *PENDING)
        self.checked_at = now

    def mark_active(self, *, vip_address: str | None, operating_status: OperatingStatus) -> None:
        self._require("activate", ProvisioningStatus.PENDING_CREATE, ProvisioningStatus.PENDING_UPDATE)
        self.vip_address = vip_address
        self.operating_status = operating_status
        self.error_reason = None
        self._leave_pending(ProvisioningStatus.ACTIVE)
        self.events.append(events.BecameActive(self.id, vip_address))

    def mark_error(self, reason: str) -> None:
        self._require("fail", *PENDING)
        self.error_reason = reason[:ERROR_REASON_MAX_LENGTH]
        self.operating_status = OperatingStatus.ERROR
        self._leave_pending(ProvisioningStatus.ERROR)
        self.events.append(events.ProvisioningFailed(self.id, self.error_reason))

    def mark_deleted(self) -> None:
        """Gone at the provider: the record stays for history, its servers are released."""
        self._require("finish deleting", ProvisioningStatus.PENDING_DELETE)
        self.members = ()
        self.vip_address = None
        self.operating_status = OperatingStatus.OFFLINE
        self._leave_pending(ProvisioningStatus.DELETED)
        self.events.append(events.Deleted(self.id))

    def refresh_operating_status(self, status: OperatingStatus) -> None:
        self._require("refresh the status of", ProvisioningStatus.ACTIVE)
        self.operating_status = status

    def mark_lost(self, reason: str) -> None:
        """The provider no longer has an ACTIVE load balancer (deleted out of band)."""
        self._require("lose", ProvisioningStatus.ACTIVE)
        self.error_reason = reason[:ERROR_REASON_MAX_LENGTH]
        self.operating_status = OperatingStatus.ERROR
        self.provisioning_status = ProvisioningStatus.ERROR
        self.events.append(events.ProvisioningFailed(self.id, self.error_reason))

    # -- helpers ------------------------------------------------------------------------

    @property
    def is_pending(self) -> bool:
        return self.provisioning_status.is_pending

    def pull_events(self) -> list[events.Event]:
        pulled, self.events = self.events, []
        return pulled

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


@dataclass
class Orphan:
    """A resource at a provider that this installation made (it carries the
    installation's identity) but no live load balancer owns: its record was lost, or
    the database was restored from a backup older than the resource.  It is deleted
    only once it has been an orphan for a grace period, and never in bulk without an
    operator."""

    provider: str
    ref: str
    client_token: str
    first_seen_at: datetime
    last_seen_at: datetime
    deleted_at: datetime | None = None
    deletion_reason: str = ""
    id: int | None = None

    def is_due(self, now: datetime, grace_seconds: float) -> bool:
        return self.deleted_at is None and (now - self.first_seen_at).total_seconds() >= grace_seconds

    def seen(self, now: datetime) -> None:
        self.last_seen_at = now

    def mark_deleted(self, now: datetime, reason: str) -> None:
        self.deleted_at = now
        self.deletion_reason = reason[:ERROR_REASON_MAX_LENGTH]
