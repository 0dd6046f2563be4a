from __future__ import annotations

import abc
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from notifications.domain.model import Delivery, Webhook
from portal.kernel.unit_of_work import AbstractUnitOfWork


class WebhookRepository(abc.ABC):
    @abc.abstractmethod
    def get_one(self, webhook_id: int, *, for_update: bool = False) -> Webhook: ...

    @abc.abstractmethod
    def get_list(self, *, team_ids: Iterable[int], enabled: bool | None = None) -> list[Webhook]: ...

    @abc.abstractmethod
    def create_one(self, webhook: Webhook) -> Webhook: ...

    @abc.abstractmethod
    def update_one(self, webhook: Webhook) -> Webhook: ...

    @abc.abstractmethod
    def delete_one(self, webhook_id: int) -> None: ...


class DeliveryRepository(abc.ABC):
    @abc.abstractmethod
    def get_one(self, delivery_id: int, *, for_update: bool = False) -> Delivery: ...

    @abc.abstractmethod
    def get_list(self, *, webhook_id: int, limit: int) -> list[Delivery]:
        """The newest first."""

    @abc.abstractmethod
    def get_list_stale(self, *, not_updated_since: datetime, limit: int) -> list[Delivery]:
        """PENDING deliveries nobody has touched since then (their message was lost)."""

    @abc.abstractmethod
    def delete_finished(self, *, before: datetime, batch: int) -> int:
        """Delete up to ``batch`` deliveries that are no longer PENDING and were made
        before then; how many went."""

    @abc.abstractmethod
    def create_batch(self, deliveries: list[Delivery]) -> list[Delivery]: ...

    @abc.abstractmethod
    def update_one(self, delivery: Delivery) -> Delivery: ...


class EmailPreferences(abc.ABC):
    @abc.abstractmethod
    def get(self, *, user_id: int, team_id: int) -> bool | None:
        """The user's choice for the team (None: never chosen)."""

    @abc.abstractmethod
    def set(self, *, user_id: int, team_id: int, enabled: bool) -> None: ...

    @abc.abstractmethod
    def chosen(self, team_id: int) -> dict[int, bool]:
        """Each choice made in the team, by user id."""


class NotificationsUnitOfWork(AbstractUnitOfWork):
    webhooks: WebhookRepository
    deliveries: DeliveryRepository
    preferences: EmailPreferences


class Subscriptions(Protocol):
    """The webhooks events go to, read as committed, outside any unit of work (most
    events concern a team that has none: no transaction is opened for them)."""

    def enabled(self, team_ids: Iterable[int]) -> list[Webhook]:
        """The enabled webhooks of these teams, by id (one read for any number of teams)."""
        ...


class Person(Protocol):
    user_id: int
    username: str
    email: str
    role: str


class TeamDirectory(Protocol):
    """The teams, as accounts knows them."""

    def id_of(self, slug: str) -> int | None: ...

    def slug_of(self, team_id: int) -> str | None: ...

    def slugs_of(self, team_ids: list[int]) -> dict[int, str]:
        """The slugs of those of these teams that exist, by id."""
        ...

    def people(self, team_id: int) -> list[tuple[int, str, str, str]]:
        """(user id, username, e-mail, role) of each active member."""
        ...


class ServerUsers(Protocol):
    """Which teams' live load balancers use a server (by name), as loadbalancers knows."""

    def teams_using(self, server_id: int) -> dict[int, list[str]]: ...

    def teams_using_many(self, server_ids: list[int]) -> dict[int, dict[int, list[str]]]:
        """``teams_using`` of each of these servers at once, by server id (a server no
        load balancer uses may be left out)."""
        ...


class Resolver(Protocol):
    def resolve(self, host: str, port: int) -> list[str]:
        """The IP addresses of a host name (or the address itself); DeliveryFailed when none."""
        ...


class Sender(Protocol):
    def post(self, url: str, address: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        """POST to ``url``, connecting to ``address`` (already checked), within
        ``timeout`` seconds in all; returns the status code, or raises DeliveryFailed."""
        ...


class Mailer(Protocol):
    def send(self, recipients: list[str], subject: str, body: str) -> None: ...


class NotificationScheduler(Protocol):
    def deliver(self, delivery_id: int, *, delay: float = 0) -> None:
        """Deliver later (after the current transaction commits), in a worker."""
        ...

    def email(self, recipients: list[str], subject: str, body: str) -> None: ...


class Clock(Protocol):
    def now(self): ...  # type: ignore[no-untyped-def]


class DeliveryObservations(Protocol):
    """What the delivery of webhooks measures, for the portal's metrics."""

    def delivery_attempted(self, *, succeeded: bool) -> None:
        """One attempt to send a delivery, whatever comes of the delivery."""

    def delivery_finished(self, *, status: str) -> None:
        """A delivery ended: ``status`` succeeded, failed (given up) or skipped."""
