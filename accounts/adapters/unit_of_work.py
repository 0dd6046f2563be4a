from accounts.adapters.repositories import DjangoTeamRepository, DjangoTokenRepository, DjangoUserDirectory
from accounts.application.ports import AccountsUnitOfWork
from portal.unit_of_work import AtomicUnitOfWork


class DjangoAccountsUnitOfWork(AtomicUnitOfWork, AccountsUnitOfWork):
    def _open_repositories(self) -> None:
        self.teams = DjangoTeamRepository()
        self.users = DjangoUserDirectory()
        self.tokens = DjangoTokenRepository()
