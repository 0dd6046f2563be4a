from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CreateWebhook:
    url: str
    event_types: list[str] = field(default_factory=lambda: ["*"])
    secret: str | None = None
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class UpdateWebhook:
    """A partial change: fields left as None keep their value."""

    url: str | None = None
    event_types: list[str] | None = None
    secret: str | None = None
    description: str | None = None
    enabled: bool | None = None
