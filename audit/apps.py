from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from audit import bootstrap
        from portal import events
        from portal.kernel.events import DomainEvent

        events.subscribe_batch(DomainEvent, bootstrap.record_many)
