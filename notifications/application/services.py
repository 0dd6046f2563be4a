"""The notification use cases: owners manage their team's webhooks; everyone in a team
chooses whether they get its e-mails; every committed event is turned into signed
webhook deliveries and, for the problems people must hear about, e-mails; the workers
deliver, retry with capped backoff, and disable a webhook that keeps failing."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from notifications.application.payloads import CreateWebhook, UpdateWebhook
from notifications.application.ports import (
    Clock,
    DeliveryObservations,
    NotificationScheduler,
    NotificationsUnitOfWork,
    Resolver,
    Sender,
    ServerUsers,
    Subscriptions,
    TeamDirectory,
)
from notifications.domain.errors import (
    DeliveryFailed,
    DeliveryNotFound,
    NotOwner,
    TeamNotFound,
    UrlRefused,
    WebhookNotFound,
)
from notifications.domain.events import (
    EmailPreferenceChanged,
    WebhookCreated,
    WebhookDeleted,
    WebhookDisabled,
    WebhookUpdated,
)
from notifications.domain.model import (
    SIGNATURE_HEADER,
    Delivery,
    DeliveryPolicy,
    DeliveryStatus,
    Webhook,
    address_refusal,
    sign,
    url_errors,
)
from portal.kernel.actors import Actor, Source
from portal.kernel.errors import ValidationFailed
from portal.kernel.events import Change, DomainEvent, created, removed

logger = logging.getLogger(__name__)

WORKER = Actor.system(Source.WORKER)
OWNER = "owner"
# The problems people are e-mailed about (the team's owners, and members who opted in).
BAD_OPERATING = ("DEGRADED", "ERROR")
BAD_SERVER = ("DOWN", "MAINTENANCE")


def _about(webhook: Webhook) -> dict[str, Any]:
    return {"team_id": webhook.team_id, "target_id": str(webhook.id), "target_name": webhook.label}


class WebhookService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], NotificationsUnitOfWork],
        teams: TeamDirectory,
        resolver: Resolver,
        policy: DeliveryPolicy,
        known_actions: Callable[[], list[str]],
    ):
        self._uow_factory = uow_factory
        self._teams = teams
        self._resolver = resolver
        self._policy = policy
        self._known_actions = known_actions

    # -- webhooks (owners) ----------------------------------------------------------------

    def get_list(self, actor: Actor, slug: str) -> list[Webhook]:
        team_id = self._team(actor, slug, "see the team's webhooks")
        with self._uow_factory() as uow:
            return uow.webhooks.get_list(team_ids=[team_id])

    def get_one(self, actor: Actor, slug: str, webhook_id: int) -> Webhook:
        team_id = self._team(actor, slug, "see the team's webhooks")
        with self._uow_factory() as uow:
            return self._webhook(uow, team_id, webhook_id)

    def get_deliveries(self, actor: Actor, slug: str, webhook_id: int, *, limit: int = 50) -> list[Delivery]:
        """The webhook's newest deliveries: what was sent, how it went."""
        team_id = self._team(actor, slug, "see the team's webhooks")
        with self._uow_factory() as uow:
            self._webhook(uow, team_id, webhook_id)
            return uow.deliveries.get_list(webhook_id=webhook_id, limit=limit)

    def create_one(self, actor: Actor, slug: str, payload: CreateWebhook) -> Webhook:
        team_id = self._team(actor, slug, "add webhooks", writing=True)
        webhook = Webhook.new(
            team_id=team_id,
            url=payload.url,
            event_types=payload.event_types,
            known=self._known_actions(),
            secret=payload.secret,
            description=payload.description,
            enabled=payload.enabled,
        )
        self._check_url(webhook.url)
        with self._uow_factory() as uow:
            webhook = uow.webhooks.create_one(webhook)
            uow.record(WebhookCreated(**_about(webhook), changes=created(webhook.described())))
            uow.commit(by=actor)
        return webhook

    def update_one(self, actor: Actor, slug: str, webhook_id: int, payload: UpdateWebhook) -> Webhook:
        team_id = self._team(actor, slug, "change webhooks", writing=True)
        if payload.url is not None and not url_errors(payload.url):  # a bad one is reported with the rest
            self._check_url(payload.url)
        with self._uow_factory() as uow:
            webhook = self._webhook(uow, team_id, webhook_id, for_update=True)
            changes = webhook.change(
                known=self._known_actions(),
                url=payload.url,
                event_types=payload.event_types,
                secret=payload.secret,
                description=payload.description,
                enabled=payload.enabled,
            )
            if not changes:
                return webhook
            webhook = uow.webhooks.update_one(webhook)
            uow.record(WebhookUpdated(**_about(webhook), changes=changes))
            uow.commit(by=actor)
        return webhook

    def delete_one(self, actor: Actor, slug: str, webhook_id: int) -> None:
        team_id = self._team(actor, slug, "remove webhooks", writing=True)
        with self._uow_factory() as uow:
            webhook = self._webhook(uow, team_id, webhook_id, for_update=True)
            uow.webhooks.delete_one(webhook_id)
            uow.record(WebhookDeleted(**_about(webhook), changes=removed(webhook.described())))
            uow.commit(by=actor)

    # -- e-mail (everyone in the team, for themselves) ---------------------------------------

    def get_role(self, actor: Actor, slug: str) -> str | None:
        """The actor's role in the team (None: operations, not in it)."""
        return actor.roles.get(self._team(actor, slug, None))

    def get_email_preference(self, actor: Actor, slug: str) -> bool:
        """Whether the actor gets the team's e-mails: owners unless they opted out,
        everyone else once they opted in."""
        team_id = self._team(actor, slug, None)
        with self._uow_factory() as uow:
            chosen = uow.preferences.get(user_id=actor.user_id, team_id=team_id) if actor.user_id else None
        return actor.roles.get(team_id) == OWNER if chosen is None else chosen

    def update_email_preference(self, actor: Actor, slug: str, enabled: bool) -> bool:
        team_id = self._team(actor, slug, None)
        if not isinstance(enabled, bool):
            raise ValidationFailed("enabled must be true or false", details={"enabled": ["must be true or false"]})
        if actor.user_id is None or team_id not in actor.roles:
            raise ValidationFailed(
                "only people in the team choose its e-mails", details={"team": ["you are not in this team"]}
            )
        before = self.get_email_preference(actor, slug)
        with self._uow_factory() as uow:
            uow.preferences.set(user_id=actor.user_id, team_id=team_id, enabled=enabled)
            if before != enabled:
                uow.record(
                    EmailPreferenceChanged(
                        team_id=team_id,
                        target_id=f"{team_id}:{actor.user_id}",
                        target_name=slug,
                        enabled=enabled,
                        changes=(Change("email", before, enabled),),
                    )
                )
            uow.commit(by=actor)
        return enabled

    # -- helpers ---------------------------------------------------------------------------------

    def _team(self, actor: Actor, slug: str, action: str | None, *, writing: bool = False) -> int:
        """The team's id, if the actor may ``action`` there (None: anyone in it).
        Outside the team it does not exist; in it, only owners manage webhooks;
        operations see all and change all with the permission to change."""
        team_id = self._teams.id_of(slug) if isinstance(slug, str) else None
        if team_id is None or not (actor.sees_all or team_id in actor.roles):
            raise TeamNotFound(str(slug))
        if action is None:
            return team_id
        role = actor.roles.get(team_id)
        if role == OWNER or (actor.changes_all if writing else actor.sees_all):
            return team_id
        raise NotOwner(slug, role or "staff member without the permission to change webhooks", action)

    @staticmethod
    def _webhook(uow: NotificationsUnitOfWork, team_id: int, webhook_id: int, *, for_update: bool = False) -> Webhook:
        webhook = uow.webhooks.get_one(webhook_id, for_update=for_update)
        if webhook.team_id != team_id:
            raise WebhookNotFound(webhook_id)
        return webhook

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        try:
            addresses = self._resolver.resolve(parts.hostname or "", parts.port or 443)
        except DeliveryFailed as failed:
            raise UrlRefused(url, failed.message) from None
        for address in addresses:
            refusal = address_refusal(address, allow_private=self._policy.allow_private)
            if refusal is not None:
                raise UrlRefused(url, f"{parts.hostname} resolves to {refusal}")


class Notifier:
    """The bus's subscriber: each committed event becomes a delivery to every enabled
    webhook of its team that wants it (an inventory event: of every team whose load
    balancers use the server), and problems become e-mails."""

    def __init__(
        self,
        *,
        uow_factory: Callable[[], NotificationsUnitOfWork],
        teams: TeamDirectory,
        server_users: ServerUsers,
        scheduler: NotificationScheduler,
        subscriptions: Subscriptions,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ):
        self._uow_factory = uow_factory
        self._teams = teams
        self._server_users = server_users
        self._scheduler = scheduler
        self._subscriptions = subscriptions
        self._new_id = new_id

    def handle(self, event: DomainEvent) -> list[Delivery]:
        teams = self._teams_of(event)
        if not teams:
            return []
        wanted = [w for w in self._subscriptions.enabled(teams) if w.wants(event.action)]
        deliveries = self._queue(event, wanted) if wanted else []
        self._email(event, teams)
        return deliveries

    def handle_many(self, events: list[DomainEvent]) -> list[Delivery]:
        """``handle`` for each of a commit's events (the bus's batch subscriber), with
        the look-ups made once for all of them (the teams using the servers, the teams'
        webhooks and slugs, the people to e-mail) and their deliveries stored together:
        the same deliveries and e-mails as event by event, in the events' order.  A
        failure loses only the events it concerns and is logged, never raised (the bus
        would hand the events over again)."""
        if len(events) == 1:
            return self.handle(events[0])
        try:
            concerned = self._teams_of_many(events)
            team_ids = sorted({team_id for teams in concerned for team_id in teams})
            webhooks = self._subscriptions.enabled(team_ids) if team_ids else []
            slugs = self._teams.slugs_of(sorted({w.team_id for w in webhooks})) if webhooks else {}
        except Exception:
            logger.exception("notifications: looking up %d events together failed: one by one", len(events))
            return self._one_by_one(events)
        queued = []
        for event, teams in zip(events, concerned, strict=True):
            wanted = [w for w in webhooks if w.team_id in teams and w.wants(event.action)] if teams else []
            if wanted:
                queued.append((event, wanted))
        deliveries = self._queue_many(queued, slugs.get)
        people: dict[int, list[str]] = {}
        names: dict[int, str | None] = dict(slugs)
        for event, teams in zip(events, concerned, strict=True):
            if not teams:
                continue
            try:
                self._email(
                    event,
                    teams,
                    recipients=lambda team_id: _kept(people, team_id, self.recipients),
                    slug_of=lambda team_id: _kept(names, team_id, self._teams.slug_of),
                )
            except Exception:
                logger.exception("notifications: e-mailing about %s %s failed", event.action, event.target_id)
        return deliveries

    def _one_by_one(self, events: list[DomainEvent]) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for event in events:
            try:
                deliveries.extend(self.handle(event))
            except Exception:
                logger.exception("notifications: handling %s %s failed", event.action, event.target_id)
        return deliveries

    def _queue(self, event: DomainEvent, wanted: list[Webhook]) -> list[Delivery]:
        """A delivery of the event to each of these webhooks, stored, then handed over."""
        event_id = self._new_id()
        with self._uow_factory() as uow:
            deliveries = uow.deliveries.create_batch(self._deliveries(event, event_id, wanted, self._teams.slug_of))
            uow.commit(by=WORKER)
        for delivery in deliveries:
            self._scheduler.deliver(delivery.id)  # type: ignore[arg-type]
        return deliveries

    def _queue_many(
        self, queued: list[tuple[DomainEvent, list[Webhook]]], slug_of: Callable[[int], str | None]
    ) -> list[Delivery]:
        """``_queue`` for each (event, its webhooks), stored in one transaction; when that
        fails, each event's in its own, so that a failure loses only that event's."""
        if not queued:
            return []
        made = [(event, self._new_id(), wanted) for event, wanted in queued]
        try:
            with self._uow_factory() as uow:
                deliveries = uow.deliveries.create_batch(
                    [d for event, event_id, wanted in made for d in self._deliveries(event, event_id, wanted, slug_of)]
                )
                uow.commit(by=WORKER)
        except Exception:
            logger.exception("notifications: storing the deliveries of %d events together failed", len(made))
            deliveries = []
            for event, event_id, wanted in made:
                try:
                    with self._uow_factory() as uow:
                        deliveries += uow.deliveries.create_batch(self._deliveries(event, event_id, wanted, slug_of))
                        uow.commit(by=WORKER)
                except Exception:
                    logger.exception("notifications: the deliveries of %s %s were lost", event.action, event.target_id)
        for delivery in deliveries:
            try:
                self._scheduler.deliver(delivery.id)  # type: ignore[arg-type]
            except Exception:
                logger.exception("notifications: delivery %s was not handed over", delivery.id)
        return deliveries

    def _deliveries(
        self, event: DomainEvent, event_id: str, wanted: list[Webhook], slug_of: Callable[[int], str | None]
    ) -> list[Delivery]:
        payloads = {team_id: self.payload(event, event_id, slug_of(team_id)) for team_id in {w.team_id for w in wanted}}
        return [
            Delivery(
                id=None,
                webhook_id=webhook.id,  # type: ignore[arg-type]
                event_id=event_id,
                action=event.action,
                payload=payloads[webhook.team_id],
            )
            for webhook in wanted
        ]

    @staticmethod
    def payload(event: DomainEvent, event_id: str, team: str | None) -> dict[str, Any]:
        """The JSON body of a delivery (documented in the README)."""
        context = event.context
        return {
            "id": event_id,
            "type": event.action,
            "occurred_at": context.at.isoformat() if context else None,
            "team": team,
            "actor": {"id": context.actor_id, "username": context.actor} if context else None,
            "source": context.source if context else None,
            "request_id": context.request_id if context else None,
            "target": {"type": event.target_type, "id": event.target_id, "name": event.target_name},
            "message": event.message,
            "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in event.changes],
        }

    def _teams_of(self, event: DomainEvent) -> dict[int, list[str]]:
        """The teams the event concerns, each with the load balancers it is about."""
        if event.target_type == "server":
            try:
                return self._server_users.teams_using(int(event.target_id))
            except ValueError:
                return {}
        return {} if event.team_id is None else {event.team_id: [event.target_name]}

    def _teams_of_many(self, events: list[DomainEvent]) -> list[dict[int, list[str]]]:
        """``_teams_of`` of each event, the servers' looked up together."""
        server_ids = {int(e.target_id) for e in events if e.target_type == "server" and _whole(e.target_id)}
        using = self._server_users.teams_using_many(sorted(server_ids)) if server_ids else {}
        concerned = []
        for event in events:
            if event.target_type != "server":
                concerned.append({} if event.team_id is None else {event.team_id: [event.target_name]})
                continue
            try:
                concerned.append(using.get(int(event.target_id), {}))
            except ValueError:
                concerned.append({})
        return concerned

    def _email(
        self,
        event: DomainEvent,
        teams: dict[int, list[str]],
        *,
        recipients: Callable[[int], list[str]] | None = None,
        slug_of: Callable[[int], str | None] | None = None,
    ) -> None:
        subject = _problem(event)
        if subject is None:
            return
        for team_id, names in teams.items():
            to = (recipients or self.recipients)(team_id)
            if not to:
                continue
            slug = (slug_of or self._teams.slug_of)(team_id) or str(team_id)
            context = event.context
            when, who = (context.at.isoformat(), context.actor) if context else ("now", "system")
            body = "\n".join(
                [
                    event.message,
                    "",
                    f"Team: {slug}",
                    f"Load balancers concerned: {', '.join(names)}",
                    *(f"{c.field}: {_shown(c.before)} -> {_shown(c.after)}" for c in event.changes),
                    "",
                    f"When: {when}, by {who}",
                    "You get this because you are in this team and want its e-mails (the team's notifications"
                    " page changes that).",
                ]
            )
            self._scheduler.email(to, f"[{slug}] {subject}", body)

    def recipients(self, team_id: int, *, owners_only: bool = False) -> list[str]:
        people = self._teams.people(team_id)
        with self._uow_factory() as uow:
            chosen = uow.preferences.chosen(team_id)
        wanted = []
        for user_id, _username, email, role in people:
            if not email:
                continue
            if owners_only:
                if role == OWNER:
                    wanted.append(email)
            elif chosen.get(user_id, role == OWNER):
                wanted.append(email)
        return sorted(set(wanted))


def _whole(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _kept(found: dict, key: int, look_up: Callable[[int], Any]) -> Any:  # type: ignore[type-arg]
    """``look_up(key)``, asked once and kept in ``found``."""
    if key not in found:
        found[key] = look_up(key)
    return found[key]


def _problem(event: DomainEvent) -> str | None:
    """The e-mail subject of an event people must hear about, or None."""
    if event.action == "load_balancer.error":
        return f"load balancer {event.target_name} is in ERROR"
    if event.action == "load_balancer.drift_found":
        return f"load balancer {event.target_name} runs otherwise at its provider than its record (drift)"
    operating = event.change_of("operating_status")
    if event.target_type == "load_balancer" and operating is not None and operating.after in BAD_OPERATING:
        return f"load balancer {event.target_name} is {operating.after}"
    status = event.change_of("status")
    if event.target_type == "server" and status is not None and status.after in BAD_SERVER:
        return f"server {event.target_name} is {status.after}"
    return None


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "none"
    return "none" if value is None else str(value)


class DeliveryService:
    """A worker's step: send one delivery, record how it went, and plan what comes next."""

    def __init__(
        self,
        *,
        uow_factory: Callable[[], NotificationsUnitOfWork],
        resolver: Resolver,
        sender: Sender,
        scheduler: NotificationScheduler,
        policy: DeliveryPolicy,
        clock: Clock,
        notifier: Notifier,
        teams: TeamDirectory,
        observations: DeliveryObservations,
    ):
        self._uow_factory = uow_factory
        self._resolver = resolver
        self._sender = sender
        self._scheduler = scheduler
        self._policy = policy
        self._clock = clock
        self._notifier = notifier
        self._teams = teams
        self._observations = observations

    def deliver(self, delivery_id: int) -> DeliveryStatus:
        """Send it (never inside a transaction); the delivery's status afterwards."""
        with self._uow_factory() as uow:
            try:
                delivery = uow.deliveries.get_one(delivery_id)
            except DeliveryNotFound:  # its webhook was removed, and its deliveries with it
                return DeliveryStatus.SKIPPED
            if delivery.status is not DeliveryStatus.PENDING:
                return delivery.status
            try:
                webhook: Webhook | None = uow.webhooks.get_one(delivery.webhook_id)
            except WebhookNotFound:
                webhook = None
        if webhook is None or not webhook.enabled:
            return self._skip(delivery_id, "the webhook was removed" if webhook is None else "the webhook is disabled")
        try:
            code = self._send(webhook, delivery)
            failure = None if 200 <= code < 300 else DeliveryFailed(f"the endpoint answered {code}", code)
        except DeliveryFailed as failed:
            code, failure = failed.code, failed
        except Exception as unexpected:
            logger.exception("delivery %s failed unexpectedly", delivery_id)
            code, failure = None, DeliveryFailed(f"could not deliver: {type(unexpected).__name__}: {unexpected}")
        return self._outcome(delivery_id, delivery.attempts, code, failure)

    def resend_stale(self, *, limit: int = 500) -> int:
        """Hand the workers again the PENDING deliveries whose message was lost (the
        broker was down, a worker died): untouched for longer than any planned retry."""
        quiet = timedelta(seconds=self._policy.backoff_cap + 2 * self._policy.timeout + 600)
        with self._uow_factory() as uow:
            stale = uow.deliveries.get_list_stale(not_updated_since=self._clock.now() - quiet, limit=limit)
        for delivery in stale:
            self._scheduler.deliver(delivery.id)  # type: ignore[arg-type]
        return len(stale)

    def prune_log(self, *, batch: int = 1000) -> int:
        """Forget the finished deliveries older than the policy's ``log_days``."""
        before, deleted = self._clock.now() - timedelta(days=self._policy.log_days), 0
        while True:
            with self._uow_factory() as uow:
                gone = uow.deliveries.delete_finished(before=before, batch=batch)
                uow.commit(by=WORKER)
            deleted += gone
            if gone < batch:
                return deleted

    def _send(self, webhook: Webhook, delivery: Delivery) -> int:
        """One attempt, within the policy's timeout in all: resolving the host counts."""
        started = self._clock.now()
        parts = urlsplit(webhook.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = self._resolver.resolve(parts.hostname or "", port)
        for address in addresses:
            if (refusal := address_refusal(address, allow_private=self._policy.allow_private)) is not None:
                raise DeliveryFailed(f"not sent: {parts.hostname} resolves to {refusal}")
        body = json.dumps(delivery.payload, sort_keys=True, default=str).encode()
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "lb-portal-webhooks/1",
            "X-Portal-Event": delivery.action,
            "X-Portal-Delivery": str(delivery.id),
            "X-Portal-Event-Id": delivery.event_id,
            SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
        }
        left = max(self._policy.timeout - (self._clock.now() - started).total_seconds(), 0.1)
        return self._sender.post(webhook.url, addresses[0], headers, body, left)

    def _skip(self, delivery_id: int, reason: str) -> DeliveryStatus:
        with self._uow_factory() as uow:
            try:
                delivery = uow.deliveries.get_one(delivery_id, for_update=True)
            except DeliveryNotFound:
                return DeliveryStatus.SKIPPED
            delivery.skipped(reason)
            uow.deliveries.update_one(delivery)
            uow.commit(by=WORKER)
        self._observations.delivery_finished(status=DeliveryStatus.SKIPPED.value.lower())
        return DeliveryStatus.SKIPPED

    def _outcome(
        self, delivery_id: int, attempts: int, code: int | None, failure: DeliveryFailed | None
    ) -> DeliveryStatus:
        """Record the attempt made after ``attempts`` earlier ones, unless another run of
        the same delivery (a redelivered message, a resend) recorded one meanwhile: each
        attempt is counted once, and only one chain of retries goes on."""
        delay, disabled = None, None
        with self._uow_factory() as uow:
            try:
                delivery = uow.deliveries.get_one(delivery_id, for_update=True)
                webhook = uow.webhooks.get_one(delivery.webhook_id, for_update=True)
            except (DeliveryNotFound, WebhookNotFound):  # removed with its webhook meanwhile
                return DeliveryStatus.SKIPPED
            if delivery.status is not DeliveryStatus.PENDING or delivery.attempts != attempts:
                return delivery.status  # another run got there first
            if failure is None:
                delivery.succeeded(code or 200, self._clock.now())
                webhook.succeeded()
            else:
                delay = delivery.failed(failure.message, failure.code, self._policy)
                if webhook.failed(self._policy, failure.message):
                    disabled = webhook
                    uow.record(
                        WebhookDisabled(
                            **_about(webhook),
                            reason=webhook.disabled_reason,
                            changes=(Change("enabled", True, False),),
                        )
                    )
            uow.deliveries.update_one(delivery)
            uow.webhooks.update_one(webhook)
            uow.commit(by=WORKER)
        self._observations.delivery_attempted(succeeded=failure is None)
        if delivery.status is not DeliveryStatus.PENDING:
            self._observations.delivery_finished(status=delivery.status.value.lower())
        if delay is not None:
            self._scheduler.deliver(delivery_id, delay=delay)
        if disabled is not None:
            self._tell_owners(disabled)
        return delivery.status

    def _tell_owners(self, webhook: Webhook) -> None:
        recipients = self._notifier.recipients(webhook.team_id, owners_only=True)
        if recipients:
            slug = self._teams.slug_of(webhook.team_id) or str(webhook.team_id)
            self._scheduler.email(
                recipients,
                f"[{slug}] {webhook.label} was disabled",
                f"The portal stopped sending to {webhook.url}: it {webhook.disabled_reason}.\n\n"
                "Fix the endpoint, then enable the webhook again on the team's notifications page.",
            )
