"""What the contract suite needs from each adapter's test set-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loadbalancers.application.lbaas import LBaaSClient, LoadBalancerSpec, MemberSpec

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

    def spec(self, name: str, *member_indexes: int, algorithm: str = "ROUND_ROBIN") -> LoadBalancerSpec:
        return LoadBalancerSpec(
            name=name,
            listener_protocol="HTTP",
            listener_port=self.listener_port,
            algorithm=algorithm,
            members=tuple(self.members[i] for i in member_indexes),
        )
