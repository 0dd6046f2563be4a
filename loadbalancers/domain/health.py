"""A load balancer's operating status from its members' health: one rule for every
provider, so that the same members read the same whichever provider reports them."""

from __future__ import annotations

from collections.abc import Iterable

from loadbalancers.domain.model import OperatingStatus


def overall_operating_status(members: Iterable[OperatingStatus]) -> OperatingStatus:
    """Every member ONLINE: ONLINE.  No member's health known (each NO_MONITOR):
    NO_MONITOR.  No member ONLINE, or no member at all (nothing can serve traffic):
    OFFLINE.  Otherwise DEGRADED."""
    statuses = list(members)
    online = statuses.count(OperatingStatus.ONLINE)
    if not statuses:
        return OperatingStatus.OFFLINE
    if online == len(statuses):
        return OperatingStatus.ONLINE
    if all(status is OperatingStatus.NO_MONITOR for status in statuses):
        return OperatingStatus.NO_MONITOR
    return OperatingStatus.DEGRADED if online else OperatingStatus.OFFLINE
