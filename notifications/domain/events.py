"""What happened to a team's webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from portal.kernel.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class WebhookEvent(DomainEvent):
    target_type: ClassVar[str] = "webhook"


@dataclass(frozen=True, kw_only=True)
class WebhookCreated(WebhookEvent):
    action: ClassVar[str] = "webhook.created"

    @property
    def message(self) -> str:
        return f"added {self.target_name}"


@dataclass(frozen=True, kw_only=True)
class WebhookUpdated(WebhookEvent):
    action: ClassVar[str] = "webhook.updated"

    @property
    def message(self) -> str:
        return f"changed {self.target_name}: {', '.join(c.field for c in self.changes) or 'nothing'}"


@dataclass(frozen=True, kw_only=True)
class WebhookDeleted(WebhookEvent):
    action: ClassVar[str] = "webhook.deleted"

    @property
    def message(self) -> str:
        return f"removed {self.target_name}"


@dataclass(frozen=True, kw_only=True)
class WebhookDisabled(WebhookEvent):
    action: ClassVar[str] = "webhook.disabled"
    reason: str

    @property
    def message(self) -> str:
        return f"{self.target_name} was {self.reason}"


@dataclass(frozen=True, kw_only=True)
class EmailPreferenceChanged(DomainEvent):
    """Someone chose whether they get a team's e-mails."""

    action: ClassVar[str] = "notification_preference.updated"
    target_type: ClassVar[str] = "notification_preference"
    enabled: bool

    @property
    def message(self) -> str:
        return f"{'started' if self.enabled else 'stopped'} e-mails about team {self.target_name}"
