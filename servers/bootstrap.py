"""Composition root of the servers app.

Apps that build on servers tell it who uses a server (``register_usage``), so that
a server in use is never deleted, without servers depending on them.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

from servers.adapters.unit_of_work import DjangoServersUnitOfWork
from servers.application.ports import ServerUsage
from servers.application.services import ServerService
from servers.domain.model import AddressPolicy

_usages: list[ServerUsage] = []


class _AllUsages:
    def users_of(self, server_id: int) -> list[str]:
        return [user for usage in _usages for user in usage.users_of(server_id)]


def register_usage(usage: ServerUsage) -> None:
    if usage not in _usages:
        _usages.append(usage)


def address_policy() -> AddressPolicy:
    """Which server addresses the settings allow (ALLOW_LOOPBACK_BACKENDS, REFUSED_BACKEND_NETWORKS)."""
    return AddressPolicy(
        allow_loopback=settings.ALLOW_LOOPBACK_BACKENDS,
        refused_networks=tuple(ipaddress.ip_network(network) for network in settings.REFUSED_BACKEND_NETWORKS),
    )


def server_service() -> ServerService:
    return ServerService(lambda: DjangoServersUnitOfWork(_AllUsages()), policy=address_policy())
