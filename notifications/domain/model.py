"""Webhooks a team's owners register, the deliveries made to them, and the rules of
both: which URLs may be called (never the portal's own network unless allowed), how a
delivery is signed, retried and given up, and when a failing webhook is disabled."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from portal.kernel.errors import FieldErrors
from portal.kernel.events import Change, changes_between

URL_MAX_LENGTH = 2000
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 200
ERROR_MAX_LENGTH = 500
ALL_EVENTS = "*"
SIGNATURE_HEADER = "X-Portal-Signature"


def url_errors(url: object) -> list[str]:
    if not isinstance(url, str) or not url.strip():
        return ["url is required"]
    if len(url) > URL_MAX_LENGTH:
        return [f"url must be at most {URL_MAX_LENGTH} characters"]
    if any(ord(c) < 33 or ord(c) > 126 for c in url):
        return [
            "url must be printable ASCII without spaces: percent-encode other characters, and write an"
            " international host name in its xn-- form"
        ]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as bad:
        return [f"url is not valid: {bad}"]
    if parts.scheme not in ("http", "https"):
        return ["url must start with http:// or https://"]
    if not parts.hostname:
        return ["url must name a host"]
    if parts.username or parts.password:
        return ["url must not carry a user name or password: sign with the secret instead"]
    if port == 0:
        return ["url must not use port 0"]
    return []


def event_type_errors(event_types: object, known: Sequence[str]) -> list[str]:
    if isinstance(event_types, str) or not isinstance(event_types, Sequence):
        return ["event_types must be a list of event types"]
    if not event_types:
        return [f"choose at least one event type (or {ALL_EVENTS!r} for all)"]
    problems = []
    for item in event_types:
        if not isinstance(item, str) or (item != ALL_EVENTS and item not in known):
            problems.append(f"{item!r} is not an event type; known: {', '.join(known)}, or {ALL_EVENTS!r}")
    if len(set(map(str, event_types))) != len(event_types):
        problems.append("each event type may be listed once")
    return problems


def secret_errors(secret: object) -> list[str]:
    if not isinstance(secret, str) or not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        return [f"secret must be {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} characters"]
    if any(ord(c) < 33 or ord(c) > 126 for c in secret):
        return ["secret must be printable ASCII without spaces"]
    return []


def description_errors(description: object) -> list[str]:
    if not isinstance(description, str):
        return ["description must be text"]
    if len(description) > DESCRIPTION_MAX_LENGTH:
        return [f"description must be at most {DESCRIPTION_MAX_LENGTH} characters"]
    return []


def address_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why a webhook must not be sent to this IP address (None: it may).  The portal's
    own host and networks (loopback, link-local such as the cloud's metadata service,
    private ranges) are refused unless ``allow_private``; addresses nobody can be
    (unspecified, multicast, reserved) always are."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one (mapped, 6to4, Teredo) is judged as itself.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_refusal(str(embedded), allow_private=allow_private)
        if ip.is_site_local and not allow_private:
            return f"{ip} is a site-local address"
    if ip.is_unspecified or ip.is_multicast:
        return f"{ip} is not an address a webhook can be sent to"
    if ip.is_loopback:  # before "reserved": ::1 is in the reserved ::/8
        return None if allow_private else f"{ip} is a loopback address (this machine)"
    if ip.is_reserved:
        return f"{ip} is not an address a webhook can be sent to"
    if allow_private:
        return None
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private or not ip.is_global:
        return f"{ip} is a private address"
    return None


def redacted(url: str) -> str:
    """The URL's scheme, host and port; what follows is replaced by an ellipsis."""
    try:
        parts = urlsplit(url)
        rest = "/…" if (parts.path not in ("", "/") or parts.query) else "/"
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{rest}"
    except ValueError:
        return "(not a URL)"


def _shown_url_change(change: Change) -> Change:
    """A URL change as the trail shows it (see ``redacted``); one within the same host
    still says that the URL changed."""
    before, after = redacted(str(change.before)), redacted(str(change.after))
    return Change("url", before, after if after != before else f"{after} (changed)")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of "<timestamp>.<body>" with the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    """Given up after the last attempt."""
    SKIPPED = "SKIPPED"
    """Not sent: the webhook was disabled or deleted before its turn."""


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout: float = 5.0
    """Seconds a delivery may take in all (connect, send, answer)."""
    max_attempts: int = 5
    backoff_cap: float = 300.0
    disable_after: int = 20
    """Consecutive failed attempts after which a webhook is disabled."""
    allow_private: bool = False
    log_days: int = 30
    """Days a finished delivery stays in the log."""

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones: 10, 20, 40, ... capped."""
        return min(self.backoff_cap, 10.0 * 2 ** max(attempts - 1, 0))


@dataclass
class Webhook:
    id: int | None
    team_id: int
    url: str
    secret: str
    event_types: tuple[str, ...]
    description: str = ""
    enabled: bool = True
    failures: int = 0
    disabled_reason: str = ""
    created_at: datetime | None = None

    @classmethod
    def new(
        cls,
        *,
        team_id: int,
        url: str,
        event_types: Sequence[str],
        known: Sequence[str],
        secret: str | None = None,
        description: str = "",
        enabled: bool = True,
    ) -> Webhook:
        errors = FieldErrors()
        cls._check(errors, url=url, event_types=event_types, secret=secret, description=description, known=known)
        if not isinstance(enabled, bool):
            errors.add("enabled", "enabled must be true or false")
        errors.raise_if_any("the webhook is not valid")
        return cls(
            id=None,
            team_id=team_id,
            url=url,
            secret=secret if secret is not None else "whsec_" + secrets.token_urlsafe(24),
            event_types=tuple(event_types),
            description=description,
            enabled=enabled,
        )

    def change(
        self,
        *,
        known: Sequence[str],
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        secret: str | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> tuple[Change, ...]:
        """Change what is given; enabling a disabled webhook starts its failure count
        again.  Returns what changed (the secret as "changed", never its value)."""
        errors = FieldErrors()
        self._check(errors, url=url, event_types=event_types, secret=secret, description=description, known=known)
        if enabled is not None and not isinstance(enabled, bool):
            errors.add("enabled", "enabled must be true or false")
        errors.raise_if_any("the webhook is not valid")
        before = self._fields()
        old_secret = self.secret
        if url is not None:
            self.url = url
        if event_types is not None:
            self.event_types = tuple(event_types)
        if secret is not None:
            self.secret = secret
        if description is not None:
            self.description = description
        if enabled is not None:
            if enabled and not self.enabled:
                self.failures, self.disabled_reason = 0, ""
            self.enabled = enabled
        changes = tuple(
            _shown_url_change(change) if change.field == "url" else change
            for change in changes_between(before, self._fields())
        )
        if self.secret != old_secret:
            changes += (Change("secret", "(set)", "(changed)"),)
        return changes

    def wants(self, action: str) -> bool:
        return self.enabled and (ALL_EVENTS in self.event_types or action in self.event_types)

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, policy: DeliveryPolicy, reason: str) -> bool:
        """One more failed attempt; True when that disables the webhook."""
        self.failures += 1
        if self.enabled and self.failures >= policy.disable_after:
            self.enabled = False
            self.disabled_reason = (f"disabled after {self.failures} failed deliveries in a row; last: {reason}")[
                :ERROR_MAX_LENGTH
            ]
            return True
        return False

    def described(self) -> dict[str, object]:
        """Its fields as the audit trail and other webhooks see them: the URL without its
        path and query, which are often a credential themselves (chat services' hooks)."""
        return {**self._fields(), "url": redacted(self.url)}

    def _fields(self) -> dict[str, object]:
        return {
            "url": self.url,
            "event_types": list(self.event_types),
            "description": self.description,
            "enabled": self.enabled,
        }

    @property
    def label(self) -> str:
        host = urlsplit(self.url).hostname or self.url
        return f"webhook {self.id} ({host})"

    @staticmethod
    def _check(
        errors: FieldErrors,
        *,
        url: object,
        event_types: object,
        secret: object,
        description: object,
        known: Sequence[str],
    ) -> None:
        for name, value, rule in (
            ("url", url, url_errors),
            ("event_types", event_types, lambda v: event_type_errors(v, known)),
            ("secret", secret, secret_errors),
            ("description", description, description_errors),
        ):
            if value is not None:
                for message in rule(value):
                    errors.add(name, message)


@dataclass
class Delivery:
    id: int | None
    webhook_id: int
    event_id: str
    action: str
    payload: dict[str, Any]
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    response_code: int | None = None
    last_error: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    delivered_at: datetime | None = None

    def succeeded(self, code: int, now: datetime) -> None:
        self.attempts += 1
        self.status, self.response_code, self.last_error, self.delivered_at = DeliveryStatus.SUCCEEDED, code, "", now

    def failed(self, reason: str, code: int | None, policy: DeliveryPolicy) -> float | None:
        """One failed attempt; seconds until the next, or None once it is given up."""
        self.attempts += 1
        self.response_code, self.last_error = code, reason[:ERROR_MAX_LENGTH]
        if self.attempts >= policy.max_attempts:
            self.status = DeliveryStatus.FAILED
            return None
        return policy.backoff(self.attempts)

    def skipped(self, reason: str) -> None:
        self.status, self.last_error = DeliveryStatus.SKIPPED, reason[:ERROR_MAX_LENGTH]


@dataclass(frozen=True)
class EmailNotice:
    """One e-mail to the people of a team who want it."""

    team_id: int
    subject: str
    body: str
    recipients: tuple[str, ...] = field(default=())
