"""The LBaaS adapters, and the one table of them that the settings (which names are
known) and the composition root (how to build each) both read."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loadbalancers.application.lbaas import LBaaSClient


@dataclass(frozen=True)
class ProviderKind:
    name: str
    description: str
    setting: str
    """The setting that holds the client's options (keyword arguments)."""
    client: str
    """``module:Class`` of the client, imported only when the provider is enabled (so
    that boto3 is loaded only for elbv2, openstacksdk only for octavia)."""

    def build(self, options: dict[str, object], *, installation: str) -> LBaaSClient:
        """The client, made for this installation: every resource it makes carries it."""
        module, _, name = self.client.partition(":")
        return getattr(import_module(module), name)(**options, installation=installation)


PROVIDER_KINDS: dict[str, ProviderKind] = {
    kind.name: kind
    for kind in (
        ProviderKind(
            "sandbox",
            "Simulated LBaaS built into the portal: no traffic, real provisioning behaviour.",
            "SANDBOX_LBAAS",
            "loadbalancers.adapters.lbaas.sandbox:SandboxLBaaS",
        ),
        ProviderKind(
            "haproxy",
            "HAProxy on this host: a real data plane that balances traffic.",
            "HAPROXY_LBAAS",
            "loadbalancers.adapters.lbaas.haproxy:HAProxyLBaaS",
        ),
        ProviderKind(
            "elbv2",
            "AWS Elastic Load Balancing v2: application (HTTP) and network (TCP) load balancers.",
            "ELBV2_LBAAS",
            "loadbalancers.adapters.lbaas.elbv2:Elbv2LBaaS",
        ),
        ProviderKind(
            "octavia",
            "OpenStack Octavia: a load balancer, listener, pool and members in the team's project.",
            "OCTAVIA_LBAAS",
            "loadbalancers.adapters.lbaas.octavia:OctaviaLBaaS",
        ),
    )
}
