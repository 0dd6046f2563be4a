from notifications.adapters.repositories import (
    DjangoDeliveryRepository,
    DjangoEmailPreferences,
    DjangoWebhookRepository,
)
from notifications.application.ports import NotificationsUnitOfWork
from portal.unit_of_work import AtomicUnitOfWork


class DjangoNotificationsUnitOfWork(AtomicUnitOfWork, NotificationsUnitOfWork):
    def _open_repositories(self) -> None:
        self.webhooks = DjangoWebhookRepository()
        self.deliveries = DjangoDeliveryRepository()
        self.preferences = DjangoEmailPreferences()
