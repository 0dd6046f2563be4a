"""The statuses of a load balancer and of its members (after OpenStack Octavia)."""

from __future__ import annotations

from enum import StrEnum


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
    """A load balancer's health, and each member's.  DRAINING is a member's only: it
    takes no new connections (its admin state is drain) and lets the current ones end."""

    ONLINE = "ONLINE"
    DEGRADED = "DEGRADED"
    OFFLINE = "OFFLINE"
    DRAINING = "DRAINING"
    ERROR = "ERROR"
    NO_MONITOR = "NO_MONITOR"
