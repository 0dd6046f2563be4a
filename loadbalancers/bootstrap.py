"""Composition root: builds the use cases with the adapters named in settings.
Tests build the same services with in-memory fakes instead."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings

from loadbalancers.adapters.clock import DjangoClock
from loadbalancers.adapters.lbaas.elbv2 import Elbv2LBaaS
from loadbalancers.adapters.lbaas.haproxy import HAProxyLBaaS
from loadbalancers.adapters.lbaas.sandbox import SandboxLBaaS
from loadbalancers.adapters.scheduler import CeleryTaskScheduler
from loadbalancers.adapters.unit_of_work import DjangoUnitOfWork
from loadbalancers.application.ports import LBaaSClient, Providers
from loadbalancers.application.services import (
    LoadBalancerService,
    ProvisioningPolicy,
    ProvisioningService,
    provisioning_handlers,
)
from loadbalancers.selectors import DjangoLoadBalancerReadModel
from portal.kernel.messagebus import MessageBus
from portal.runtime import instance_id
from servers.bootstrap import address_policy

# Each factory takes the installation's identity, which every resource it makes carries.
PROVIDER_FACTORIES: dict[str, tuple[str, Callable[[str], LBaaSClient]]] = {
    "sandbox": (
        "Simulated LBaaS built into the portal: no traffic, real provisioning behaviour.",
        lambda installation: SandboxLBaaS(**settings.SANDBOX_LBAAS, installation=installation),
    ),
    "haproxy": (
        "HAProxy on this host: a real data plane that balances traffic.",
        lambda installation: HAProxyLBaaS(**settings.HAPROXY_LBAAS, installation=installation),
    ),
    "elbv2": (
        "AWS Elastic Load Balancing v2: application (HTTP) and network (TCP) load balancers.",
        lambda installation: Elbv2LBaaS(**settings.ELBV2_LBAAS, installation=installation),
    ),
}


def providers() -> Providers:
    """The enabled providers, built once for each configuration (clients keep their
    connections between requests)."""
    config = repr((settings.SANDBOX_LBAAS, settings.HAPROXY_LBAAS, settings.ELBV2_LBAAS))
    return _providers(tuple(settings.LBAAS_PROVIDERS), settings.LBAAS_PROVIDER, config, instance_id())


def check_providers() -> None:
    """Build every enabled provider once, without keeping them: a bad setting raises
    ValueError.  Needs no database (the installation's identity is not read)."""
    _providers.__wrapped__(tuple(settings.LBAAS_PROVIDERS), settings.LBAAS_PROVIDER, "", "")


@functools.cache
def _providers(enabled: tuple[str, ...], default: str, _config: str, installation: str) -> Providers:
    return Providers(
        {name: PROVIDER_FACTORIES[name][1](installation) for name in enabled},
        default=default,
        descriptions={name: PROVIDER_FACTORIES[name][0] for name in enabled},
    )


def _bus() -> MessageBus:
    return MessageBus(provisioning_handlers(CeleryTaskScheduler()))


def load_balancer_service() -> LoadBalancerService:
    return LoadBalancerService(
        uow_factory=DjangoUnitOfWork,
        read_model=DjangoLoadBalancerReadModel(),
        providers=providers(),
        bus=_bus(),
        clock=DjangoClock(),
        address_policy=address_policy(),
    )


def provisioning_service() -> ProvisioningService:
    return ProvisioningService(
        uow_factory=DjangoUnitOfWork,
        providers=providers(),
        scheduler=CeleryTaskScheduler(),
        bus=_bus(),
        clock=DjangoClock(),
        policy=ProvisioningPolicy(
            poll_interval=settings.LBAAS_POLL_INTERVAL,
            pending_timeout=settings.LBAAS_PENDING_TIMEOUT,
            stuck_after=settings.LBAAS_STUCK_AFTER,
            orphan_grace=settings.RECONCILE_ORPHAN_GRACE,
            orphan_max_deletes=settings.RECONCILE_ORPHAN_MAX_DELETES,
        ),
        installation=instance_id(),
    )
