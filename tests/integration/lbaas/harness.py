"""What the contract suite needs from each adapter's test set-up."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace

from loadbalancers.application.lbaas import LBaaSClient, LoadBalancerSpec, MemberSpec
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.monitors import HealthMonitor

# The installation every adapter under test is built for.
INSTALLATION = "contract-portal"


@dataclass
class Harness:
    client: LBaaSClient
    members: list[MemberSpec]
    """Backends the provider can use (at least three)."""
    settle: Callable[[], None]
    """Wait (or move the clock) until the provider has finished what it was asked."""
    listener_port: int = 80
    tamper: Callable[[str], set[str]] | None = None
    """Change the load balancer ``ref`` behind the adapter's back, as someone with access
    to the provider itself would (its console, its runtime API), and return the fields
    that now differ from what was applied (``spec_changes`` names: ``algorithm``,
    ``member 10.0.0.1:8080 weight``, ...)."""

    def spec(
        self,
        name: str,
        *member_indexes: int,
        algorithm: str = "ROUND_ROBIN",
        weights: Mapping[int, int] | None = None,
        drain: Collection[int] = (),
        health_monitor: HealthMonitor | None = None,
        tags: tuple[str, ...] = (),
    ) -> LoadBalancerSpec:
        """A spec with the backends at ``member_indexes``; ``weights`` and ``drain`` give
        the weight and the drain admin state of some of them, by the same indexes."""
        weights = weights or {}
        return LoadBalancerSpec(
            name=name,
            listener_protocol="HTTP",
            listener_port=self.listener_port,
            algorithm=algorithm,
            members=tuple(
                replace(
                    self.members[i],
                    weight=weights.get(i, self.members[i].weight),
                    admin_state=AdminState.DRAIN if i in drain else AdminState.ENABLED,
                )
                for i in member_indexes
            ),
            health_monitor=health_monitor,
            tags=tags,
        )

    def address(self, index: int) -> tuple[str, int]:
        return self.members[index].address, self.members[index].port
