from portal.kernel.messagebus import MessageBus
from portal.unit_of_work import AtomicUnitOfWork
from servers.adapters.repositories import DjangoServerRepository
from servers.application.ports import ServersUnitOfWork, ServerUsage


class DjangoServersUnitOfWork(AtomicUnitOfWork, ServersUnitOfWork):
    def __init__(self, usage: ServerUsage, bus: MessageBus | None = None):
        super().__init__(bus)
        self.usage = usage

    def _open_repositories(self) -> None:
        self.servers = DjangoServerRepository()
