"""What happened to a load balancer.  The message bus routes each to its handlers: the
workers' next step, the audit trail, notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID

from portal.kernel.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class Event(DomainEvent):
    target_type: ClassVar[str] = "load_balancer"
    lb_id: UUID


@dataclass(frozen=True, kw_only=True)
class CreationRequested(Event):
    action: ClassVar[str] = "load_balancer.create_requested"

    @property
    def message(self) -> str:
        return f"requested load balancer {self.target_name}"


@dataclass(frozen=True, kw_only=True)
class UpdateRequested(Event):
    action: ClassVar[str] = "load_balancer.update_requested"

    @property
    def message(self) -> str:
        asked = [change.field for change in self.changes if change.field != "provisioning_status"]
        return f"requested a change of load balancer {self.target_name}: {', '.join(asked) or 'nothing'}"


@dataclass(frozen=True, kw_only=True)
class Updated(Event):
    """A change the portal keeps to itself (deletion protection): nothing to do at the provider."""

    action: ClassVar[str] = "load_balancer.updated"

    @property
    def message(self) -> str:
        changed = ", ".join(f"{c.field} {c.before} -> {c.after}" for c in self.changes)
        return f"changed load balancer {self.target_name}: {changed}"


@dataclass(frozen=True, kw_only=True)
class InventoryFollowed(UpdateRequested):
    """Members drained because their servers are not OK in the inventory, or enabled again
    because they are OK again: an update like any other."""

    action: ClassVar[str] = "load_balancer.inventory_followed"
    drained: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        parts = []
        if self.drained:
            parts.append(f"put in drain the members on {', '.join(self.drained)}")
        if self.restored:
            parts.append(f"enabled again the members on servers {', '.join(self.restored)}, OK again")
        return f"load balancer {self.target_name} follows the inventory: {'; '.join(parts) or 'no change'}"


@dataclass(frozen=True, kw_only=True)
class RetryCreationRequested(CreationRequested):
    """A retry after an ERROR, of a load balancer the provider never got."""

    action: ClassVar[str] = "load_balancer.retry_requested"

    @property
    def message(self) -> str:
        return f"retried load balancer {self.target_name} after an error: create it again"


@dataclass(frozen=True, kw_only=True)
class RetryUpdateRequested(UpdateRequested):
    """A retry after an ERROR, of a load balancer the provider has: apply the record again."""

    action: ClassVar[str] = "load_balancer.retry_requested"

    @property
    def message(self) -> str:
        return f"retried load balancer {self.target_name} after an error: apply it again"


@dataclass(frozen=True, kw_only=True)
class RepairRequested(UpdateRequested):
    """The provider runs something other than the record (drift): apply the record
    again, through a normal update."""

    action: ClassVar[str] = "load_balancer.repair_requested"
    drifted: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        what = f": {', '.join(self.drifted)}" if self.drifted else ""
        return f"requested load balancer {self.target_name} be applied again at its provider{what}"


@dataclass(frozen=True, kw_only=True)
class DriftFound(Event):
    """The provider runs something other than the record; ``changes`` say what, as
    record (before) -> provider (after)."""

    action: ClassVar[str] = "load_balancer.drift_found"

    @property
    def message(self) -> str:
        found = "; ".join(f"{c.field}: asked {c.before}, runs {c.after}" for c in self.changes)
        return f"load balancer {self.target_name} drifted at its provider: {found}"


@dataclass(frozen=True, kw_only=True)
class DriftResolved(Event):
    """The provider runs the record again in these fields."""

    action: ClassVar[str] = "load_balancer.drift_resolved"
    fields: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return f"load balancer {self.target_name} runs its record again: {', '.join(self.fields)}"


@dataclass(frozen=True, kw_only=True)
class DeletionRequested(Event):
    action: ClassVar[str] = "load_balancer.delete_requested"

    @property
    def message(self) -> str:
        return f"requested the deletion of load balancer {self.target_name}"


@dataclass(frozen=True, kw_only=True)
class Submitted(Event):
    """The provider accepted the work: provisioning has started there."""

    action: ClassVar[str] = "load_balancer.provisioning_started"
    provider: str
    provider_ref: str | None
    status: str

    @property
    def message(self) -> str:
        at = f" as {self.provider_ref}" if self.provider_ref else ""
        return f"provider {self.provider} started on load balancer {self.target_name}{at} ({self.status})"


@dataclass(frozen=True, kw_only=True)
class WorkResumed(Event):
    """The reconciler found the work no task was looking after, and started it again."""

    action: ClassVar[str] = "load_balancer.work_resumed"
    status: str

    @property
    def message(self) -> str:
        return f"restarted the work on load balancer {self.target_name}: nothing had looked after it ({self.status})"


@dataclass(frozen=True, kw_only=True)
class BecameActive(Event):
    action: ClassVar[str] = "load_balancer.active"
    vip_address: str | None
    operating_status: str

    @property
    def message(self) -> str:
        vip = f" at {self.vip_address}" if self.vip_address else ""
        return f"load balancer {self.target_name} is ACTIVE{vip} ({self.operating_status})"


@dataclass(frozen=True, kw_only=True)
class ProvisioningFailed(Event):
    action: ClassVar[str] = "load_balancer.error"
    reason: str

    @property
    def message(self) -> str:
        return f"load balancer {self.target_name} went to ERROR: {self.reason}"


@dataclass(frozen=True, kw_only=True)
class Deleted(Event):
    action: ClassVar[str] = "load_balancer.deleted"

    @property
    def message(self) -> str:
        return f"load balancer {self.target_name} was deleted at the provider"


@dataclass(frozen=True, kw_only=True)
class OperatingStatusChanged(Event):
    action: ClassVar[str] = "load_balancer.operating_status_changed"
    operating_status: str

    @property
    def message(self) -> str:
        change = self.change_of("operating_status")
        before = f"{change.before} -> " if change is not None else ""
        members = [f"{c.field} {c.before} -> {c.after}" for c in self.changes if c.field.startswith("member ")]
        said = f"; {', '.join(members)}" if members else ""
        return f"load balancer {self.target_name} is now {before}{self.operating_status}{said}"


@dataclass(frozen=True, kw_only=True)
class OrphanFound(DomainEvent):
    """A resource of this installation at a provider that no live record owns: reported,
    deleted only under the repair policy or by an operator."""

    action: ClassVar[str] = "provider_resource.orphan_found"
    target_type: ClassVar[str] = "provider_resource"
    client_token: str

    @property
    def message(self) -> str:
        return (
            f"found orphan {self.target_name} at the provider: no live load balancer has client token"
            f" {self.client_token}"
        )


@dataclass(frozen=True, kw_only=True)
class OrphanDeleted(DomainEvent):
    """A resource of this installation at a provider that no record owned was deleted."""

    action: ClassVar[str] = "provider_resource.orphan_deleted"
    target_type: ClassVar[str] = "provider_resource"
    reason: str

    @property
    def message(self) -> str:
        return f"deleted orphan {self.target_name} at the provider: {self.reason}"
