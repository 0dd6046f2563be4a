from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository, DjangoOrphanRepository
from loadbalancers.application.ports import UnitOfWork
from portal.unit_of_work import AtomicUnitOfWork
from servers.adapters.repositories import DjangoServerRepository


class DjangoUnitOfWork(AtomicUnitOfWork, UnitOfWork):
    def _open_repositories(self) -> None:
        self.load_balancers = DjangoLoadBalancerRepository()
        self.servers = DjangoServerRepository()
        self.orphans = DjangoOrphanRepository()
