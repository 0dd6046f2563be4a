from __future__ import annotations

from portal.kernel.errors import NotFound, PermissionDenied, ValidationFailed


class TeamNotFound(NotFound):
    def __init__(self, slug: str):
        super().__init__(f"team {slug!r} not found", details={"team": slug})


class WebhookNotFound(NotFound):
    def __init__(self, webhook_id: object):
        super().__init__(f"webhook {webhook_id} not found", details={"id": str(webhook_id)})


class DeliveryNotFound(NotFound):
    """Gone with its webhook (removing a webhook removes its deliveries)."""

    def __init__(self, delivery_id: object):
        super().__init__(f"delivery {delivery_id} not found", details={"id": str(delivery_id)})


class NotOwner(PermissionDenied):
    def __init__(self, team: str, role: str, action: str):
        super().__init__(
            f"only owners of team {team} may {action}; you are a {role}",
            details={"team": team, "role": role, "needed": "owner"},
        )

    @property
    def name(self) -> str:
        return "NotAllowed"


class UrlRefused(ValidationFailed):
    """The webhook's URL leads where the portal must not send requests (SSRF)."""

    def __init__(self, url: str, reason: str):
        message = f"{reason}: webhooks may not be sent there (WEBHOOK_ALLOW_PRIVATE allows private addresses)"
        super().__init__(f"url: {message}", details={"url": [message]})


class DeliveryFailed(Exception):
    """One delivery attempt did not reach the endpoint or was not accepted by it."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
