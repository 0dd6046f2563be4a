from collections.abc import Callable

from accounts.application.ports import TeamRepository
from loadbalancers.adapters.repositories import (
    DjangoDriftRepository,
    DjangoLoadBalancerRepository,
    DjangoOrphanRepository,
)
from loadbalancers.application.ports import UnitOfWork
from portal.kernel.messagebus import MessageBus
from portal.unit_of_work import AtomicUnitOfWork
from servers.application.ports import ServerRepository


class DjangoUnitOfWork(AtomicUnitOfWork, UnitOfWork):
    """One database transaction over load balancers, their drift, orphans, the servers and the teams
    (read through the servers and accounts apps' repositories, which ``servers`` and
    ``teams`` build)."""

    def __init__(
        self,
        servers: Callable[[], ServerRepository],
        teams: Callable[[], TeamRepository],
        bus: MessageBus | None = None,
    ):
        super().__init__(bus)
        self._servers = servers
        self._teams = teams

    def _open_repositories(self) -> None:
        self.load_balancers = DjangoLoadBalancerRepository()
        self.servers = self._servers()
        self.teams = self._teams()
        self.orphans = DjangoOrphanRepository()
        self.drift = DjangoDriftRepository()
