"""The portal's one error hierarchy.

Every error a client can cause is a ``PortalError`` with an HTTP status, a stable
name (the class name) and details that say which input was wrong.  Entry points
render them in one shape (``portal.api.errors`` for the API, ``portal.web`` for
pages); nothing here knows about HTTP frameworks.  Each app's domain adds its own
errors as subclasses.
"""

from __future__ import annotations

from typing import Any


class PortalError(Exception):
    status_code = 500
    default_message = "unexpected error"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)

    @property
    def name(self) -> str:
        return type(self).__name__


class ValidationFailed(PortalError):
    """Input breaks one or more rules; ``details`` maps each field to its messages."""

    status_code = 400
    default_message = "the request is not valid"

    @property
    def name(self) -> str:
        return "ValidationError"


class PermissionDenied(PortalError):
    status_code = 403
    default_message = "you are not allowed to do this"


class NotFound(PortalError):
    status_code = 404
    default_message = "not found"


class Conflict(PortalError):
    status_code = 409
    default_message = "the request conflicts with the current state"


class StaleVersion(Conflict):
    default_message = "the record was changed by someone else; reload it and try again"


class DependencyUnavailable(PortalError):
    status_code = 503
    default_message = "a service the portal depends on is unavailable; try again later"


class FieldErrors:
    """Collects every problem with an input before failing once, so a client
    learns about all its mistakes in one answer."""

    def __init__(self) -> None:
        self._errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self._errors.setdefault(field, []).append(message)

    def extend(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            for message in messages:
                self.add(field, message)

    def __bool__(self) -> bool:
        return bool(self._errors)

    def __contains__(self, field: object) -> bool:
        return field in self._errors

    def as_dict(self) -> dict[str, list[str]]:
        return {field: list(messages) for field, messages in self._errors.items()}

    def raise_if_any(self, message: str = "the request is not valid") -> None:
        if self._errors:
            fields = ", ".join(self._errors)
            raise ValidationFailed(f"{message}: check {fields}", details=self.as_dict())
