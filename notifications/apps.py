from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import bootstrap
        from portal import events
        from portal.kernel.events import DomainEvent

        events.subscribe_batch(DomainEvent, bootstrap.notify_many)
