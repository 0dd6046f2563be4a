"""Composition root of notifications: ``build()`` wires the webhook, notifier and
delivery use cases to the Django adapters and the settings (WEBHOOK_*); tests call the
same function with fakes.  At start-up the app subscribes the notifier to every domain
event of every app (``apps.NotificationsConfig.ready``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts import bootstrap as accounts_bootstrap
from loadbalancers import bootstrap as loadbalancers_bootstrap
from notifications.adapters.http import HttpSender, PinnedResolver
from notifications.adapters.metrics import PrometheusDeliveryObservations
from notifications.adapters.outbox import CeleryNotificationScheduler, DjangoMailer
from notifications.adapters.repositories import DjangoSubscriptions
from notifications.adapters.unit_of_work import DjangoNotificationsUnitOfWork
from notifications.application.services import DeliveryService, Notifier, WebhookService
from notifications.domain.model import DeliveryPolicy
from portal import events as portal_events
from portal.kernel.actors import Actor
from portal.kernel.events import DomainEvent, known_actions


class _Teams:
    def id_of(self, slug: str) -> int | None:
        return accounts_bootstrap.team_id(slug)

    def slug_of(self, team_id: int) -> str | None:
        return accounts_bootstrap.team_slugs([team_id]).get(team_id)

    def slugs_of(self, team_ids: list[int]) -> dict[int, str]:
        return accounts_bootstrap.team_slugs(team_ids)

    def people(self, team_id: int) -> list[tuple[int, str, str, str]]:
        return accounts_bootstrap.team_people(team_id)


class _ServerUsers:
    def teams_using(self, server_id: int) -> dict[int, list[str]]:
        return loadbalancers_bootstrap.teams_using_server(server_id)

    def teams_using_many(self, server_ids: list[int]) -> dict[int, dict[int, list[str]]]:
        return loadbalancers_bootstrap.teams_using_servers(server_ids)


class _Clock:
    def now(self):  # type: ignore[no-untyped-def]
        return timezone.now()


def policy() -> DeliveryPolicy:
    return DeliveryPolicy(
        timeout=settings.WEBHOOK_TIMEOUT,
        max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
        backoff_cap=settings.WEBHOOK_BACKOFF_CAP,
        disable_after=settings.WEBHOOK_DISABLE_AFTER,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
        log_days=settings.WEBHOOK_LOG_DAYS,
    )


def actor(request: Any) -> Actor:
    """The signed-in user of this request (operations: with the permission on webhooks)."""
    return accounts_bootstrap.actor(request, "notifications.webhook")


@dataclass(frozen=True)
class NotificationServices:
    webhooks: WebhookService
    notifier: Notifier
    deliveries: DeliveryService


_DEFAULTS: dict[str, Callable[[], Any]] = {
    "unit_of_work": lambda: DjangoNotificationsUnitOfWork,
    "teams": _Teams,
    "server_users": _ServerUsers,
    "resolver": lambda: PinnedResolver(settings.WEBHOOK_TIMEOUT),
    "sender": HttpSender,
    "scheduler": CeleryNotificationScheduler,
    "subscriptions": DjangoSubscriptions,
    "mailer": DjangoMailer,
    "policy": policy,
    "clock": _Clock,
    "known_actions": lambda: known_actions,
    "subscribers": portal_events.subscribers,
    "observations": PrometheusDeliveryObservations,
}


def build(**overrides: Any) -> NotificationServices:
    """The notification use cases.  ``overrides`` replace any part by name:
    ``unit_of_work`` (called with the message bus, it opens a NotificationsUnitOfWork),
    ``subscriptions`` (the enabled webhooks, read outside it), ``teams``,
    ``server_users``, ``resolver``, ``sender``, ``scheduler``, ``mailer``,
    ``policy``, ``clock``, ``known_actions``, ``subscribers``, ``observations`` (where the
    metrics of deliveries go)."""
    if unknown := set(overrides) - set(_DEFAULTS):
        raise TypeError(f"build() got unknown parts: {', '.join(sorted(unknown))}")
    part = {name: overrides[name] if name in overrides else make() for name, make in _DEFAULTS.items()}
    uow_factory = functools.partial(part["unit_of_work"], portal_events.bus({}, part["subscribers"]))
    notifier = Notifier(
        uow_factory=uow_factory,
        teams=part["teams"],
        server_users=part["server_users"],
        scheduler=part["scheduler"],
        subscriptions=part["subscriptions"],
    )
    return NotificationServices(
        webhooks=WebhookService(
            uow_factory=uow_factory,
            teams=part["teams"],
            resolver=part["resolver"],
            policy=part["policy"],
            known_actions=part["known_actions"],
        ),
        notifier=notifier,
        deliveries=DeliveryService(
            uow_factory=uow_factory,
            resolver=part["resolver"],
            sender=part["sender"],
            scheduler=part["scheduler"],
            policy=part["policy"],
            clock=part["clock"],
            notifier=notifier,
            teams=part["teams"],
            observations=part["observations"],
        ),
    )


def notify(event: object) -> None:
    """Every committed domain event may be worth telling someone."""
    if isinstance(event, DomainEvent):
        build().notifier.handle(event)


def notify_many(happened: list[object]) -> None:
    """The bus's batch subscriber: ``notify`` for each of a commit's domain events,
    their look-ups made together."""
    events = [event for event in happened if isinstance(event, DomainEvent)]
    if events:
        build().notifier.handle_many(events)


def mailer() -> DjangoMailer:
    return DjangoMailer()
