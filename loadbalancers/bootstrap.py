"""Composition root of the load balancers app: ``build()`` wires every use case to the
Django adapters and the settings.  Tests call the same function with fakes for any
part, so the wiring they run is the wiring production runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from django.conf import settings

from accounts import bootstrap as accounts_bootstrap
from accounts.application.teams import TeamService
from loadbalancers.adapters import usage
from loadbalancers.adapters.clock import DjangoClock
from loadbalancers.adapters.lbaas import PROVIDER_KINDS
from loadbalancers.adapters.metrics import PrometheusObservations
from loadbalancers.adapters.observed_lbaas import ObservedLBaaSClient
from loadbalancers.adapters.provider_health import record_call
from loadbalancers.adapters.scheduler import CeleryTaskScheduler
from loadbalancers.adapters.unit_of_work import DjangoUnitOfWork
from loadbalancers.application.lbaas import LBaaSClient, Providers
from loadbalancers.application.load_balancers import LoadBalancerService
from loadbalancers.application.provisioning import (
    ProvisioningPolicy,
    ProvisioningService,
    inventory_handlers,
    provisioning_handlers,
)
from loadbalancers.application.reconciliation import ReconciliationService
from loadbalancers.domain.drift import DriftPolicy
from loadbalancers.selectors import DjangoLoadBalancerReadModel
from portal import events as portal_events
from portal.kernel.actors import Actor
from portal.runtime import instance_id
from servers import bootstrap as servers_bootstrap
from servers.application.services import ServerService
from servers.domain.events import ServerUpdated


@dataclass(frozen=True)
class LoadBalancerServices:
    load_balancers: LoadBalancerService
    """What people ask for: the API, the pages and the admin."""
    provisioning: ProvisioningService
    """The background steps at the provider: the workers, and operations' actions."""
    reconciliation: ReconciliationService
    """The periodic repair pass, and operations' decisions on orphans."""
    servers: ServerService
    """The server inventory, as the pages that pick members read it."""
    teams: TeamService
    """The teams, as the pages that create load balancers offer them."""


def teams_using_server(server_id: int) -> dict[int, list[str]]:
    """The names of the live load balancers that use a server, by team id."""
    return usage.teams_using(server_id)


def teams_using_servers(server_ids: list[int]) -> dict[int, dict[int, list[str]]]:
    """``teams_using_server`` of each of these servers at once, by server id."""
    return usage.teams_using_many(server_ids)


def on_server_changed(event: Any) -> None:
    """A server's status changed in the inventory: the load balancers using it follow,
    in the background (subscribed to every app's events at start-up)."""
    for handler in inventory_handlers(CeleryTaskScheduler())[ServerUpdated]:
        handler(event)


def actor(request: Any) -> Actor:
    """The signed-in user of this request as the load balancer use cases know them."""
    return accounts_bootstrap.actor(request, "loadbalancers.loadbalancer")


def actor_of(user: Any) -> Actor:
    """A user as the load balancer use cases know them, outside a request."""
    return accounts_bootstrap.actor_of(user, "loadbalancers.loadbalancer")


def providers() -> Providers:
    """The enabled providers, built once for each configuration (clients keep their
    connections between requests)."""
    config = repr([getattr(settings, kind.setting) for kind in PROVIDER_KINDS.values()])
    return _providers(tuple(settings.LBAAS_PROVIDERS), settings.LBAAS_PROVIDER, config, instance_id())


def check_providers() -> None:
    """Build every enabled provider once, without keeping them: a bad setting raises
    ValueError.  Needs no database (the installation's identity is not read)."""
    _providers.__wrapped__(tuple(settings.LBAAS_PROVIDERS), settings.LBAAS_PROVIDER, "", "")


def observations() -> PrometheusObservations:
    return PrometheusObservations()


def observed(client: LBaaSClient) -> LBaaSClient:
    """A provider's client with its calls measured (metrics) and its health recorded."""
    return ObservedLBaaSClient(client, observations=observations(), record_health=record_call, now=DjangoClock().now)


@functools.cache
def _providers(enabled: tuple[str, ...], default: str, _config: str, installation: str) -> Providers:
    kinds = [PROVIDER_KINDS[name] for name in enabled]
    return Providers(
        {kind.name: observed(kind.build(getattr(settings, kind.setting), installation=installation)) for kind in kinds},
        default=default,
        descriptions={kind.name: kind.description for kind in kinds},
    )


def policy() -> ProvisioningPolicy:
    return ProvisioningPolicy(
        poll_interval=settings.LBAAS_POLL_INTERVAL,
        pending_timeout=settings.LBAAS_PENDING_TIMEOUT,
        stuck_after=settings.LBAAS_STUCK_AFTER,
        orphan_grace=settings.RECONCILE_ORPHAN_GRACE,
        orphan_max_deletes=settings.RECONCILE_ORPHAN_MAX_DELETES,
        drain_on_maintenance=settings.DRAIN_ON_MAINTENANCE,
        drift_policy=DriftPolicy(settings.DRIFT_POLICY),
    )


# Each part, made from the settings unless build() is given it.
_DEFAULTS: dict[str, Callable[[], Any]] = {
    "unit_of_work": lambda: functools.partial(
        DjangoUnitOfWork, servers_bootstrap.server_repository, accounts_bootstrap.team_repository
    ),
    "read_model": DjangoLoadBalancerReadModel,
    "providers": providers,
    "scheduler": CeleryTaskScheduler,
    "clock": DjangoClock,
    "policy": policy,
    "address_policy": servers_bootstrap.address_policy,
    "installation": instance_id,
    "new_id": lambda: uuid4,
    "servers": servers_bootstrap.build,
    "quota_defaults": accounts_bootstrap.quota_defaults,
    "teams": lambda: accounts_bootstrap.build().teams,
    "subscribers": portal_events.subscribers,
    "observations": observations,
}


def build(**overrides: Any) -> LoadBalancerServices:
    """Every load balancer use case, wired.  ``overrides`` replace any part by name:
    ``unit_of_work`` (called with the message bus, it opens a UnitOfWork),
    ``read_model``, ``providers``, ``scheduler``, ``clock``, ``policy``,
    ``address_policy``, ``installation``, ``new_id``, ``servers`` (the ServerService),
    ``quota_defaults`` (a team's quotas unless it has its own), ``teams`` (the TeamService),
    ``subscribers`` (the handlers, beside provisioning's, of the events committed),
    ``observations`` (where the metrics of provisioning go)."""
    if unknown := set(overrides) - set(_DEFAULTS):
        raise TypeError(f"build() got unknown parts: {', '.join(sorted(unknown))}")
    part = {name: overrides[name] if name in overrides else make() for name, make in _DEFAULTS.items()}
    bus = portal_events.bus(provisioning_handlers(part["scheduler"]), part["subscribers"])
    uow_factory = functools.partial(part["unit_of_work"], bus)
    steps = ProvisioningService(
        uow_factory=uow_factory,
        providers=part["providers"],
        scheduler=part["scheduler"],
        clock=part["clock"],
        policy=part["policy"],
        observations=part["observations"],
    )
    return LoadBalancerServices(
        load_balancers=LoadBalancerService(
            uow_factory=uow_factory,
            read_model=part["read_model"],
            providers=part["providers"],
            clock=part["clock"],
            quota_defaults=part["quota_defaults"],
            new_id=part["new_id"],
            address_policy=part["address_policy"],
            drain_on_maintenance=part["policy"].drain_on_maintenance,
        ),
        provisioning=steps,
        reconciliation=ReconciliationService(
            uow_factory=uow_factory,
            providers=part["providers"],
            scheduler=part["scheduler"],
            clock=part["clock"],
            policy=part["policy"],
            installation=part["installation"],
            steps=steps,
        ),
        servers=part["servers"],
        teams=part["teams"],
    )
