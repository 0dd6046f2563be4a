from portal.unit_of_work import AtomicUnitOfWork
from servers.adapters.repositories import DjangoServerRepository
from servers.application.ports import ServersUnitOfWork, ServerUsage


class DjangoServersUnitOfWork(AtomicUnitOfWork, ServersUnitOfWork):
    def __init__(self, usage: ServerUsage):
        self.usage = usage

    def _open_repositories(self) -> None:
        self.servers = DjangoServerRepository()
