"""A plan: what a request would do, found out by running every check it would meet
(input, servers, quotas, state, the provider's known refusals) and reading the
provider, without storing anything or writing at the provider."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from loadbalancers.application.lbaas import ProviderOperation, SpecChange
from portal.kernel.errors import PortalError
from portal.kernel.events import Change


@dataclass(frozen=True)
class ProviderSide:
    """What the provider would be asked to do: field by field (what it runs now against
    what it would run), and its own steps (API calls, configuration diff)."""

    name: str
    ref: str | None
    changes: tuple[SpecChange, ...]
    operations: tuple[ProviderOperation, ...]
    diff: str = ""


@dataclass(frozen=True)
class Plan:
    action: str
    """``create`` or ``update``."""
    name: str | None
    lb_id: UUID | None
    """The load balancer changed (None for a create)."""
    error: PortalError | None = None
    """Why the request would be refused (None: it would be accepted)."""
    changes: tuple[Change, ...] = ()
    """The record's changes, as the audit trail would show them."""
    provider: ProviderSide | None = None
    """None when nothing would go to the provider (refused, or a change the portal keeps
    to itself)."""

    @property
    def allowed(self) -> bool:
        return self.error is None
