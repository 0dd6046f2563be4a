"""Composition root of the servers app.

Apps that build on servers tell it who uses a server (``register_usage``), so that
a server in use is never deleted, without servers depending on them.
"""

from __future__ import annotations

from servers.adapters.unit_of_work import DjangoServersUnitOfWork
from servers.application.ports import ServerUsage
from servers.application.services import ServerService

_usages: list[ServerUsage] = []


class _AllUsages:
    def users_of(self, server_id: int) -> list[str]:
        return [user for usage in _usages for user in usage.users_of(server_id)]


def register_usage(usage: ServerUsage) -> None:
    if usage not in _usages:
        _usages.append(usage)


def server_service() -> ServerService:
    return ServerService(lambda: DjangoServersUnitOfWork(_AllUsages()))
