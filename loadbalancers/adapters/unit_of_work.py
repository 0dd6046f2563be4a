from collections.abc import Callable

from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository, DjangoOrphanRepository
from loadbalancers.application.ports import UnitOfWork
from portal.kernel.messagebus import MessageBus
from portal.unit_of_work import AtomicUnitOfWork
from servers.application.ports import ServerRepository


class DjangoUnitOfWork(AtomicUnitOfWork, UnitOfWork):
    """One database transaction over load balancers, orphans and the servers (read
    through the servers app's repository, which ``servers`` builds)."""

    def __init__(self, servers: Callable[[], ServerRepository], bus: MessageBus | None = None):
        super().__init__(bus)
        self._servers = servers

    def _open_repositories(self) -> None:
        self.load_balancers = DjangoLoadBalancerRepository()
        self.servers = self._servers()
        self.orphans = DjangoOrphanRepository()
