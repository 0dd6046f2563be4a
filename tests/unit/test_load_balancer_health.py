"""One rule turns members' health into a load balancer's operating status, whichever
provider reports it."""

import pytest

from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.model import OperatingStatus

ON, OFF, ERR, NOMON, DEG = (
    OperatingStatus.ONLINE,
    OperatingStatus.OFFLINE,
    OperatingStatus.ERROR,
    OperatingStatus.NO_MONITOR,
    OperatingStatus.DEGRADED,
)


@pytest.mark.parametrize(
    ("members", "overall"),
    [
        ((), OFF),  # nothing can serve traffic
        ((ON,), ON),
        ((ON, ON), ON),
        ((ON, ERR), DEG),
        ((ON, OFF), DEG),
        ((ON, NOMON), DEG),
        ((ERR, ERR), OFF),
        ((OFF,), OFF),
        ((NOMON,), NOMON),
        ((NOMON, NOMON), NOMON),
        ((NOMON, ERR), OFF),
    ],
)
def test_members_health_gives_the_operating_status(members, overall):
    assert overall_operating_status(members) is overall
