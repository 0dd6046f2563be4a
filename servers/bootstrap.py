"""Composition root of the servers app: ``build()`` wires the use cases to the Django
adapters and the settings; tests call the same function with fakes.

Apps that build on servers tell it who uses a server (``register_usage``), so that
a server in use is never deleted, without servers depending on them.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings

from portal import events as portal_events
from servers.adapters.repositories import DjangoServerRepository
from servers.adapters.unit_of_work import DjangoServersUnitOfWork
from servers.application.files import ImportLimits
from servers.application.ports import ServerRepository, ServersUnitOfWork, ServerUsage
from servers.application.services import ServerService
from servers.domain.model import AddressPolicy
from servers.selectors import DjangoServerReadModel

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


def import_limits() -> ImportLimits:
    """How large an import may be (SERVER_IMPORT_MAX_BYTES, SERVER_IMPORT_MAX_ROWS)."""
    return ImportLimits(max_bytes=settings.SERVER_IMPORT_MAX_BYTES, max_rows=settings.SERVER_IMPORT_MAX_ROWS)


def server_repository() -> ServerRepository:
    """The servers as another app's unit of work reads them, in its own transaction."""
    return DjangoServerRepository()


_DEFAULTS: dict[str, Callable[[], Any]] = {
    "unit_of_work": lambda: lambda bus: DjangoServersUnitOfWork(_AllUsages(), bus),
    "read_model": DjangoServerReadModel,
    "address_policy": address_policy,
    "subscribers": portal_events.subscribers,
}


def build(**overrides: Any) -> ServerService:
    """The servers use cases.  ``overrides`` replace any of: ``unit_of_work`` (called
    with the message bus, it opens a ServersUnitOfWork), ``read_model``,
    ``address_policy``, ``subscribers`` (the handlers of the events committed)."""
    if unknown := set(overrides) - set(_DEFAULTS):
        raise TypeError(f"build() got unknown parts: {', '.join(sorted(unknown))}")
    part = {name: overrides[name] if name in overrides else make() for name, make in _DEFAULTS.items()}
    unit_of_work: Callable[[], ServersUnitOfWork] = functools.partial(
        part["unit_of_work"], portal_events.bus({}, part["subscribers"])
    )
    return ServerService(unit_of_work, part["read_model"], policy=part["address_policy"])
