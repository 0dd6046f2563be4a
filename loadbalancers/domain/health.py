"""A load balancer's operating status from its members' health: one rule for every
provider, so that the same members read the same whichever provider reports them."""

from __future__ import annotations

from collections.abc import Iterable

from loadbalancers.domain.statuses import OperatingStatus


def overall_operating_status(members: Iterable[OperatingStatus]) -> OperatingStatus:
    """Members in drain take no new connections and are left out: the others decide.
    Every one ONLINE: ONLINE.  No one's health known (each NO_MONITOR): NO_MONITOR.  No
    one ONLINE, or no one at all (nothing can take new traffic): OFFLINE.  Otherwise
    DEGRADED."""
    statuses = [status for status in members if status is not OperatingStatus.DRAINING]
    online = statuses.count(OperatingStatus.ONLINE)
    if not statuses:
        return OperatingStatus.OFFLINE
    if online == len(statuses):
        return OperatingStatus.ONLINE
    if all(status is OperatingStatus.NO_MONITOR for status in statuses):
        return OperatingStatus.NO_MONITOR
    return OperatingStatus.DEGRADED if online else OperatingStatus.OFFLINE
