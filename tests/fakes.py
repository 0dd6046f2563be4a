"""In-memory fakes of every port, so the service tests run without a database,
a broker or a provider.  Each subclasses the same port as its real adapter."""

from __future__ import annotations

import copy
import ipaddress
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from accounts import bootstrap as accounts_bootstrap
from accounts.application.payloads import TeamQuery
from accounts.application.ports import AccountsUnitOfWork, TeamRepository, TokenRepository, UserDirectory
from accounts.application.read_model import MemberView as TeamMemberView
from accounts.application.read_model import TeamReadModel, TeamView
from accounts.domain.errors import TeamNotFound, TeamSlugTaken, TokenNotFound
from accounts.domain.model import Membership, Quotas, Role, Team
from accounts.domain.tokens import ApiToken
from audit import bootstrap as audit_bootstrap
from audit.application.payloads import AuditQuery
from audit.application.ports import AuditReadModel, AuditRepository
from audit.domain.model import AuditEntry, RetentionPolicy
from loadbalancers import bootstrap
from loadbalancers.application.lbaas import (
    LBaaSClient,
    LoadBalancerSpec,
    MemberHealth,
    ProviderLoadBalancer,
    ProviderOperation,
    ProviderPlan,
    Providers,
    spec_changes,
)
from loadbalancers.application.payloads import LoadBalancerQuery
from loadbalancers.application.ports import DriftRepository, LoadBalancerRepository, OrphanRepository, UnitOfWork
from loadbalancers.application.provisioning import ProvisioningPolicy, inventory_handlers
from loadbalancers.application.read_model import DriftView, LoadBalancerReadModel, LoadBalancerView, new_view
from loadbalancers.domain.drift import Drift
from loadbalancers.domain.errors import (
    LoadBalancerNotFound,
    NameTaken,
    ProviderResourceNotFound,
)
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.model import PENDING, LoadBalancer, OperatingStatus, ProvisioningStatus
from loadbalancers.domain.orphans import Orphan
from notifications import bootstrap as notifications_bootstrap
from notifications.application.ports import DeliveryRepository, EmailPreferences, NotificationsUnitOfWork
from notifications.application.ports import WebhookRepository as WebhookRepositoryPort
from notifications.domain.errors import DeliveryFailed, DeliveryNotFound, WebhookNotFound
from notifications.domain.model import Delivery, DeliveryPolicy, DeliveryStatus, Webhook
from portal.kernel.actors import Actor
from portal.kernel.errors import StaleVersion
from portal.kernel.events import DomainEvent, known_actions
from portal.kernel.messagebus import MessageBus, batched
from portal.kernel.pagination import Page
from servers import bootstrap as servers_bootstrap
from servers.application.payloads import ServerQuery
from servers.application.ports import ServerReadModel, ServerRepository, ServersUnitOfWork
from servers.domain.errors import ServerAddressTaken, ServerNameTaken, ServerNotFound
from servers.domain.model import STRICT_ADDRESS_POLICY, AddressPolicy, Server, ServerStatus


def _page(items: list, query_page) -> Page:  # type: ignore[no-untyped-def]
    key = query_page.sort_by
    ordered = sorted(items, key=lambda item: (getattr(item, key), str(item.id)), reverse=query_page.descending)
    return Page(
        items=ordered[query_page.offset : query_page.offset + query_page.limit],
        total=len(items),
        limit=query_page.limit,
        offset=query_page.offset,
    )


# Operations staff, as the server inventory and the admin act.
OPS = Actor(user_id=3, username="ops", sees_all=True, changes_all=True)


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeServerRepository(ServerRepository):
    def __init__(self, clock: FakeClock) -> None:
        self.rows: dict[int, Server] = {}
        self._ids = itertools.count(1)
        self._clock = clock

    def get_one(self, server_id: int, *, for_update: bool = False) -> Server:
        if server_id not in self.rows:
            raise ServerNotFound(server_id)
        return copy.deepcopy(self.rows[server_id])

    def get_list(self, server_ids: Iterable[int], *, for_update: bool = False) -> list[Server]:
        return [copy.deepcopy(self.rows[i]) for i in sorted(set(server_ids)) if i in self.rows]

    def create_one(self, server: Server) -> Server:
        self._check_unique(server)
        stored = replace(server, id=next(self._ids), created_at=self._clock.now(), updated_at=self._clock.now())
        self.rows[stored.id] = stored
        return copy.deepcopy(stored)

    def update_one(self, server: Server) -> Server:
        self._check_unique(server)
        self.rows[server.id] = replace(server, updated_at=self._clock.now())
        return copy.deepcopy(self.rows[server.id])

    def delete_one(self, server_id: int) -> None:
        self.rows.pop(server_id, None)

    def get_list_by_name(self, names: Iterable[str], *, for_update: bool = False) -> list[Server]:
        wanted = set(names)
        return [copy.deepcopy(s) for s in self.rows.values() if s.name in wanted]

    def get_list_by_address(self, addresses: Iterable[str]) -> list[Server]:
        wanted = set(addresses)
        return [copy.deepcopy(s) for s in self.rows.values() if s.address in wanted]

    def create_batch(self, servers: list[Server]) -> list[Server]:
        return [self.create_one(server) for server in servers]

    def update_batch(self, servers: list[Server]) -> list[Server]:
        return [self.update_one(server) for server in servers]

    def _check_unique(self, server: Server) -> None:
        for other in self.rows.values():
            if other.id == server.id:
                continue
            if other.name == server.name:
                raise ServerNameTaken(server.name)
            if (other.address, other.port) == (server.address, server.port):
                raise ServerAddressTaken(server.address, server.port)


class FakeServerReadModel(ServerReadModel):
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def get_plist(self, query: ServerQuery) -> Page[Server]:
        rows = [
            s
            for s in self._uow.servers.rows.values()
            if (query.status is None or s.status == query.status)
            and (not query.search or query.search in s.name or query.search in s.address)
        ]
        return _page(rows, query.page)

    def get_iter(self, query: ServerQuery) -> Iterator[Server]:
        return iter(self.get_plist(replace(query, page=replace(query.page, limit=10**9, offset=0))).items)


class FakeLoadBalancerRepository(LoadBalancerRepository):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.rows: dict[UUID, LoadBalancer] = {}
        self._clock = clock
        self.servers_of: Callable[[], dict[int, Server]] | None = None
        """The servers by id (set by the unit of work), to find members on servers that are not OK."""

    def get_one(self, lb_id: UUID, *, for_update: bool = False) -> LoadBalancer:
        if lb_id not in self.rows:
            raise LoadBalancerNotFound(lb_id)
        return self._copy(self.rows[lb_id])

    def get_list(
        self,
        *,
        ids: Iterable[UUID] | None = None,
        provider: str | None = None,
        statuses: Iterable[ProvisioningStatus] | None = None,
        server_id: int | None = None,
        inventory_candidates: bool = False,
    ) -> list[LoadBalancer]:
        wanted_ids = None if ids is None else set(ids)
        wanted_statuses = None if statuses is None else set(statuses)
        return [
            self._copy(lb)
            for lb in self.rows.values()
            if (wanted_ids is None or lb.id in wanted_ids)
            and (provider is None or lb.provider == provider)
            and (wanted_statuses is None or lb.provisioning_status in wanted_statuses)
            and (server_id is None or server_id in lb.server_ids)
            and (not inventory_candidates or self._followed(lb))
        ]

    def _followed(self, lb: LoadBalancer) -> bool:
        servers = self.servers_of() if self.servers_of else {}
        return any(
            m.drained_by_inventory or (m.server_id in servers and servers[m.server_id].status != ServerStatus.OK)
            for m in lb.members
        )

    def get_list_pending(self, *, not_checked_since: datetime) -> list[LoadBalancer]:
        return [
            self._copy(lb)
            for lb in self.rows.values()
            if lb.provisioning_status in PENDING
            and (lb.checked_at or lb.pending_since or lb.updated_at) < not_checked_since
        ]

    def count_live(self, *, team_id: int) -> int:
        return sum(
            1
            for lb in self.rows.values()
            if lb.team_id == team_id and lb.provisioning_status is not ProvisioningStatus.DELETED
        )

    def name_taken(self, name: str) -> bool:
        return self._live_name(name)

    def _live_name(self, name: str) -> bool:
        return any(
            lb.name == name and lb.provisioning_status is not ProvisioningStatus.DELETED for lb in self.rows.values()
        )

    def _create_one(self, lb: LoadBalancer) -> LoadBalancer:
        if self._live_name(lb.name):  # the database's unique constraint on live names
            raise NameTaken(lb.name)
        lb.version, lb.created_at, lb.updated_at = 1, self._clock.now(), self._clock.now()
        self.rows[lb.id] = self._copy(lb)
        return lb

    def _update_one(self, lb: LoadBalancer) -> LoadBalancer:
        if self.rows[lb.id].version != lb.version:
            raise StaleVersion()
        lb.version += 1
        lb.updated_at = self._clock.now()
        self.rows[lb.id] = self._copy(lb)
        return lb

    @staticmethod
    def _copy(lb: LoadBalancer) -> LoadBalancer:
        copied = copy.deepcopy(lb)
        copied.events = []
        return copied


class FakeOrphanRepository(OrphanRepository):
    def __init__(self) -> None:
        self.rows: dict[int, Orphan] = {}
        self._ids = itertools.count(1)

    def get_list(
        self, *, provider: str | None = None, ids: Iterable[int] | None = None, deleted: bool | None = False
    ) -> list[Orphan]:
        wanted = None if ids is None else set(ids)
        return [
            copy.deepcopy(orphan)
            for orphan in self.rows.values()
            if (provider is None or orphan.provider == provider)
            and (wanted is None or orphan.id in wanted)
            and (deleted is None or (orphan.deleted_at is not None) == deleted)
        ]

    def create_one(self, orphan: Orphan) -> Orphan:
        if any((o.provider, o.ref) == (orphan.provider, orphan.ref) for o in self.rows.values()):
            raise AssertionError(f"orphan {orphan.ref} recorded twice")
        orphan.id = next(self._ids)
        self.rows[orphan.id] = copy.deepcopy(orphan)
        return orphan

    def update_one(self, orphan: Orphan) -> Orphan:
        assert orphan.id is not None
        self.rows[orphan.id] = copy.deepcopy(orphan)
        return orphan

    def delete_batch(self, ids: Iterable[int]) -> None:
        for orphan_id in list(ids):
            self.rows.pop(orphan_id, None)


class FakeDriftRepository(DriftRepository):
    def __init__(self) -> None:
        self.rows: dict[int, Drift] = {}
        self._ids = itertools.count(1)

    def get_list(self, *, lb_ids: Iterable[UUID] | None = None, open_only: bool = True) -> list[Drift]:
        wanted = None if lb_ids is None else set(lb_ids)
        return [
            copy.deepcopy(drift)
            for drift in self.rows.values()
            if (wanted is None or drift.lb_id in wanted) and (not open_only or drift.is_open)
        ]

    def create_one(self, drift: Drift) -> Drift:
        if any((d.lb_id, d.field) == (drift.lb_id, drift.field) and d.is_open for d in self.rows.values()):
            raise AssertionError(f"drift {drift.field} of {drift.lb_id} open twice")
        drift.id = next(self._ids)
        self.rows[drift.id] = copy.deepcopy(drift)
        return drift

    def update_one(self, drift: Drift) -> Drift:
        assert drift.id is not None
        self.rows[drift.id] = copy.deepcopy(drift)
        return drift


class FakeTeamRepository(TeamRepository):
    def __init__(self, clock: FakeClock) -> None:
        self.rows: dict[int, Team] = {}
        self._ids = itertools.count(1)
        self._clock = clock
        self.project_lookups: list[list[int]] = []
        """The team ids each ``projects_of`` call asked for (one call is one query)."""

    def get_one(self, team_id: int, *, for_update: bool = False, memberships: bool = True) -> Team:
        if team_id not in self.rows:
            raise TeamNotFound(team_id)
        return self._copy(self.rows[team_id], memberships)

    def get_by_slug(self, slug: str, *, for_update: bool = False, memberships: bool = True) -> Team:
        found = next((team for team in self.rows.values() if team.slug == slug), None)
        if found is None:
            raise TeamNotFound(slug)
        return self._copy(found, memberships)

    @staticmethod
    def _copy(team: Team, memberships: bool) -> Team:
        found = copy.deepcopy(team)
        if not memberships:
            found.memberships = []
        return found

    def create_one(self, team: Team) -> Team:
        if any(other.slug == team.slug for other in self.rows.values()):
            raise TeamSlugTaken(team.slug)
        team.id, team.created_at = next(self._ids), self._clock.now()
        self.rows[team.id] = copy.deepcopy(team)
        return team

    def update_one(self, team: Team) -> Team:
        assert team.id is not None
        self.rows[team.id] = copy.deepcopy(team)
        return team

    def projects_of(self, team_ids: Iterable[int]) -> dict[int, str | None]:
        self.project_lookups.append(sorted(set(team_ids)))
        return {team_id: self.rows[team_id].project_id for team_id in set(team_ids) if team_id in self.rows}


class FakeUserDirectory(UserDirectory):
    def __init__(self, usernames: dict[int, str]) -> None:
        self._usernames = usernames

    def find(self, username: str) -> int | None:
        return next((user_id for user_id, name in self._usernames.items() if name == username), None)


class FakeTokenRepository(TokenRepository):
    def __init__(self) -> None:
        self.rows: dict[int, ApiToken] = {}
        self._ids = itertools.count(1)

    def get_one(self, token_id: int) -> ApiToken:
        if token_id not in self.rows:
            raise TokenNotFound(token_id)
        return copy.deepcopy(self.rows[token_id])

    def get_by_digest(self, digest: str) -> ApiToken | None:
        found = next((t for t in self.rows.values() if t.digest == digest), None)
        return copy.deepcopy(found)

    def get_list(self, *, user_id: int | None = None) -> list[ApiToken]:
        tokens = [t for t in self.rows.values() if user_id is None or t.user_id == user_id]
        return [copy.deepcopy(t) for t in sorted(tokens, key=lambda t: t.id or 0, reverse=True)]

    def create_one(self, token: ApiToken) -> ApiToken:
        token.id = next(self._ids)
        self.rows[token.id] = copy.deepcopy(token)
        return token

    def delete_one(self, token_id: int) -> None:
        self.rows.pop(token_id, None)

    def touch(self, token_id: int, *, now: datetime, not_since: datetime) -> None:
        token = self.rows.get(token_id)
        if token is not None and (token.last_used_at is None or token.last_used_at < not_since):
            token.last_used_at = now


class FakeTeamReadModel(TeamReadModel):
    def __init__(self, uow: FakeUnitOfWork, defaults: Quotas) -> None:
        self._uow = uow
        self._defaults = defaults

    def get_one(self, slug: str) -> TeamView | None:
        found = next((t for t in self._uow.teams.rows.values() if t.slug == slug), None)
        return None if found is None else self._view(found)

    def get_plist(self, query: TeamQuery) -> Page[TeamView]:
        views = [
            self._view(team)
            for team in self._uow.teams.rows.values()
            if (query.team_ids is None or team.id in query.team_ids)
            and (not query.search or query.search in team.slug or query.search in team.name)
        ]
        return _page(views, query.page)

    def get_slugs(self, team_ids: tuple[int, ...]) -> list[str]:
        return sorted(team.slug for team in self._uow.teams.rows.values() if team.id in team_ids)

    def _view(self, team: Team) -> TeamView:
        live = [
            lb
            for lb in self._uow.load_balancers.rows.values()
            if lb.team_id == team.id and lb.provisioning_status is not ProvisioningStatus.DELETED
        ]
        assert team.id is not None
        assert team.created_at is not None
        return TeamView(
            id=team.id,
            slug=team.slug,
            name=team.name,
            members=[
                TeamMemberView(m.username, m.role.value) for m in sorted(team.memberships, key=lambda m: m.username)
            ],
            quotas=team.quotas(self._defaults),
            default_quotas=tuple(
                name for name in ("load_balancers", "members") if getattr(team, f"quota_{name}") is None
            ),
            usage=Quotas(len(live), max((len(lb.members) for lb in live), default=0)),
            created_at=team.created_at,
        )


class FakeUnitOfWork(UnitOfWork, ServersUnitOfWork, AccountsUnitOfWork, NotificationsUnitOfWork):
    """Serves every app's use cases.  Changes made in a unit of work that is not
    committed are thrown away, as a database transaction would."""

    def __init__(self, clock: FakeClock, usernames: dict[int, str]) -> None:
        super().__init__(now=clock.now)
        self.load_balancers = FakeLoadBalancerRepository(clock)
        self.servers = FakeServerRepository(clock)
        self.load_balancers.servers_of = lambda: self.servers.rows
        self.orphans = FakeOrphanRepository()
        self.drift = FakeDriftRepository()
        self.teams = FakeTeamRepository(clock)
        self.users = FakeUserDirectory(usernames)
        self.tokens = FakeTokenRepository()
        self.deliveries = FakeDeliveryRepository(clock)
        self.webhooks = FakeWebhookRepository(self.deliveries)
        self.preferences = FakeEmailPreferences()
        self.usage = self

    def using(self, bus: MessageBus) -> FakeUnitOfWork:
        """This unit of work, publishing to ``bus`` (what bootstrap.build() hands it)."""
        self.bus = bus
        return self

    def _begin(self) -> None:
        self._snapshot = tuple(copy.deepcopy(repo.rows) for repo in self._repositories)

    def _end(self, commit: bool, *exc_info: object) -> None:
        if not commit:
            for repo, rows in zip(self._repositories, self._snapshot, strict=True):
                repo.rows = rows

    @property
    def _repositories(self) -> tuple:  # type: ignore[type-arg]
        return (
            self.load_balancers,
            self.servers,
            self.orphans,
            self.drift,
            self.teams,
            self.tokens,
            self.webhooks,
            self.deliveries,
            self.preferences,
        )

    def users_of(self, server_id: int) -> list[str]:
        return sorted(
            lb.name
            for lb in self.load_balancers.rows.values()
            if server_id in lb.server_ids and lb.provisioning_status is not ProvisioningStatus.DELETED
        )


class FakeWebhookRepository(WebhookRepositoryPort):
    def __init__(self, deliveries: FakeDeliveryRepository) -> None:
        self.rows: dict[int, Webhook] = {}
        self._ids = itertools.count(1)
        self._deliveries = deliveries

    def get_one(self, webhook_id: int, *, for_update: bool = False) -> Webhook:
        if webhook_id not in self.rows:
            raise WebhookNotFound(webhook_id)
        return copy.deepcopy(self.rows[webhook_id])

    def get_list(self, *, team_ids: Iterable[int], enabled: bool | None = None) -> list[Webhook]:
        wanted = set(team_ids)
        return [
            copy.deepcopy(w)
            for w in sorted(self.rows.values(), key=lambda w: w.id or 0)
            if w.team_id in wanted and (enabled is None or w.enabled is enabled)
        ]

    def create_one(self, webhook: Webhook) -> Webhook:
        webhook = replace(webhook, id=next(self._ids), created_at=datetime(2026, 1, 1, tzinfo=UTC))
        self.rows[webhook.id] = copy.deepcopy(webhook)  # type: ignore[index]
        return webhook

    def update_one(self, webhook: Webhook) -> Webhook:
        self.rows[webhook.id] = copy.deepcopy(webhook)  # type: ignore[index]
        return webhook

    def delete_one(self, webhook_id: int) -> None:
        """Its deliveries go with it, as the database cascades."""
        self.rows.pop(webhook_id, None)
        for delivery_id in [d.id for d in self._deliveries.rows.values() if d.webhook_id == webhook_id]:
            del self._deliveries.rows[delivery_id]  # type: ignore[arg-type]


class FakeSubscriptions:
    """The enabled webhooks as committed: those the unit of work holds outside a transaction."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.reads = 0

    def enabled(self, team_ids: Iterable[int]) -> list[Webhook]:
        self.reads += 1
        return self._uow.webhooks.get_list(team_ids=team_ids, enabled=True)


class FakeDeliveryRepository(DeliveryRepository):
    def __init__(self, clock: FakeClock) -> None:
        self.rows: dict[int, Delivery] = {}
        self._ids = itertools.count(1)
        self._clock = clock

    def get_one(self, delivery_id: int, *, for_update: bool = False) -> Delivery:
        if delivery_id not in self.rows:
            raise DeliveryNotFound(delivery_id)
        return copy.deepcopy(self.rows[delivery_id])

    def get_list(self, *, webhook_id: int, limit: int) -> list[Delivery]:
        found = [d for d in self.rows.values() if d.webhook_id == webhook_id]
        return copy.deepcopy(sorted(found, key=lambda d: -(d.id or 0))[:limit])

    def get_list_stale(self, *, not_updated_since: datetime, limit: int) -> list[Delivery]:
        found = [
            d
            for d in self.rows.values()
            if d.status is DeliveryStatus.PENDING and d.updated_at is not None and d.updated_at < not_updated_since
        ]
        return copy.deepcopy(sorted(found, key=lambda d: d.id or 0)[:limit])

    def delete_finished(self, *, before: datetime, batch: int) -> int:
        done = sorted(
            d.id
            for d in self.rows.values()
            if d.status is not DeliveryStatus.PENDING and d.created_at is not None and d.created_at < before
        )[:batch]
        for delivery_id in done:
            del self.rows[delivery_id]  # type: ignore[arg-type]
        return len(done)

    def create_batch(self, deliveries: list[Delivery]) -> list[Delivery]:
        made = []
        for delivery in deliveries:
            now = self._clock.now()
            delivery = replace(delivery, id=next(self._ids), created_at=now, updated_at=now)
            self.rows[delivery.id] = copy.deepcopy(delivery)  # type: ignore[index]
            made.append(delivery)
        return made

    def update_one(self, delivery: Delivery) -> Delivery:
        delivery.updated_at = self._clock.now()
        self.rows[delivery.id] = copy.deepcopy(delivery)  # type: ignore[index]
        return delivery


class FakeEmailPreferences(EmailPreferences):
    def __init__(self) -> None:
        self.rows: dict[tuple[int, int], bool] = {}

    def get(self, *, user_id: int, team_id: int) -> bool | None:
        return self.rows.get((user_id, team_id))

    def set(self, *, user_id: int, team_id: int, enabled: bool) -> None:
        self.rows[(user_id, team_id)] = enabled

    def chosen(self, team_id: int) -> dict[int, bool]:
        return {user_id: enabled for (user_id, team), enabled in self.rows.items() if team == team_id}


class FakeAuditRepository(AuditRepository):
    """The trail in memory, pruned by the same rule as the database's."""

    def __init__(self) -> None:
        self.rows: dict[int, AuditEntry] = {}
        self._ids = itertools.count(1)
        self.fail_next = 0
        self.refused: set[str] = set()
        """The target ids whose entries the store refuses (as a constraint would)."""
        self.batches: list[int] = []
        """The size of each batch stored together."""

    def create_one(self, entry: AuditEntry) -> AuditEntry:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the audit store is down")
        if entry.target_id in self.refused:
            raise ValueError(f"the audit store refuses the entry of {entry.target_id}")
        entry = replace(entry, id=next(self._ids))
        self.rows[entry.id] = entry  # type: ignore[index]
        return entry

    def create_batch(self, entries: list[AuditEntry]) -> list[AuditEntry]:
        """All or none, as one INSERT."""
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the audit store is down")
        if refused := [e.target_id for e in entries if e.target_id in self.refused]:
            raise ValueError(f"the audit store refuses the entries of {', '.join(refused)}")
        self.batches.append(len(entries))
        stored = [replace(entry, id=next(self._ids)) for entry in entries]
        self.rows.update({entry.id: entry for entry in stored})  # type: ignore[misc]
        return stored

    def prune(self, *, keep: int, older_than: datetime | None, batch: int, batches: int | None = None) -> int:
        newest = sorted(self.rows, reverse=True)
        doomed = set(newest[keep:])
        if older_than is not None:
            doomed |= {entry_id for entry_id, entry in self.rows.items() if entry.at < older_than}
        doomed_now = sorted(doomed)[: None if batches is None else batch * batches]
        for entry_id in doomed_now:
            del self.rows[entry_id]
        return len(doomed_now)


class FakeAuditReadModel(AuditReadModel):
    def __init__(self, repository: FakeAuditRepository) -> None:
        self._repository = repository

    def get_one(self, entry_id: int) -> AuditEntry | None:
        return self._repository.rows.get(entry_id)

    def get_plist(self, query: AuditQuery) -> Page[AuditEntry]:
        def matches(entry: AuditEntry) -> bool:
            mine = query.or_actor_id is not None and entry.actor_id == query.or_actor_id
            if query.team_ids is not None and entry.team_id not in query.team_ids and not mine:
                return False
            exact = {
                "actor": query.actor,
                "team_id": None if query.team is None else int(query.team),
                "target_type": query.target_type,
                "target_id": query.target_id,
                "action": query.action,
                "source": query.source,
            }
            if any(value is not None and getattr(entry, name) != value for name, value in exact.items()):
                return False
            if query.since is not None and entry.at < query.since:
                return False
            if query.until is not None and entry.at >= query.until:
                return False
            return not query.search or query.search.lower() in entry.message.lower()

        found = sorted(
            (e for e in self._repository.rows.values() if matches(e)),
            key=lambda e: e.id or 0,
            reverse=query.page.descending,
        )
        return _page(found, query.page)


class FakeTeamDirectory:
    """The teams as the audit trail and notifications ask accounts about them."""

    def __init__(self, uow: FakeUnitOfWork, emails: dict[int, str]) -> None:
        self._uow = uow
        self._emails = emails

    def id_of(self, slug: str) -> int | None:
        return next((t.id for t in self._uow.teams.rows.values() if t.slug == slug), None)

    def slug_of(self, team_id: int) -> str | None:
        team = self._uow.teams.rows.get(team_id)
        return None if team is None else team.slug

    def slugs_of(self, team_ids: list[int]) -> dict[int, str]:
        return {team_id: slug for team_id in team_ids if (slug := self.slug_of(team_id)) is not None}

    def people(self, team_id: int) -> list[tuple[int, str, str, str]]:
        team = self._uow.teams.rows.get(team_id)
        members = [] if team is None else team.memberships
        return [(m.user_id, m.username, self._emails.get(m.user_id, ""), m.role.value) for m in members]


class FakeServerUsers:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.asked: list[list[int]] = []
        """The server ids of each call, one id per ``teams_using``."""

    def teams_using_many(self, server_ids: list[int]) -> dict[int, dict[int, list[str]]]:
        self.asked.append(list(server_ids))
        return {server_id: found for server_id in server_ids if (found := self._teams_using(server_id))}

    def teams_using(self, server_id: int) -> dict[int, list[str]]:
        self.asked.append([server_id])
        return self._teams_using(server_id)

    def _teams_using(self, server_id: int) -> dict[int, list[str]]:
        teams: dict[int, list[str]] = {}
        for lb in sorted(self._uow.load_balancers.rows.values(), key=lambda lb: lb.name):
            if server_id in lb.server_ids and lb.provisioning_status is not ProvisioningStatus.DELETED:
                teams.setdefault(lb.team_id, []).append(lb.name)
        return teams


class FakeResolver:
    """Host names as a test says they resolve (an address resolves to itself)."""

    def __init__(self) -> None:
        self.hosts: dict[str, list[str]] = {"hooks.example.com": ["93.184.216.34"]}

    def resolve(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            pass
        if host not in self.hosts:
            raise DeliveryFailed(f"{host} does not resolve")
        return self.hosts[host]


class FakeSender:
    """Records each POST; answers with the codes (or DeliveryFailed) a test queues, 204 otherwise."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []
        self.answers: list[int | DeliveryFailed] = []

    def post(self, url: str, address: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        self.sent.append({"url": url, "address": address, "headers": headers, "body": body, "timeout": timeout})
        answer = self.answers.pop(0) if self.answers else 204
        if isinstance(answer, DeliveryFailed):
            raise answer
        return answer


class FakeNotificationScheduler:
    def __init__(self) -> None:
        self.deliveries: list[tuple[int, float]] = []
        self.emails: list[tuple[list[str], str, str]] = []

    def deliver(self, delivery_id: int, *, delay: float = 0) -> None:
        self.deliveries.append((delivery_id, delay))

    def email(self, recipients: list[str], subject: str, body: str) -> None:
        self.emails.append((list(recipients), subject, body))


class FakeReadModel(LoadBalancerReadModel):
    def __init__(self, uow: FakeUnitOfWork, usernames: dict[int, str]) -> None:
        self._uow = uow
        self._usernames = usernames

    def _team_slug(self, team_id: int) -> str:
        return self._uow.teams.rows[team_id].slug

    def get_one(self, lb_id: UUID) -> LoadBalancerView | None:
        lb = self._uow.load_balancers.rows.get(lb_id)
        return None if lb is None else self._view(lb)

    def get_list(self, ids: Sequence[UUID]) -> list[LoadBalancerView]:
        rows = self._uow.load_balancers.rows
        return [self._view(rows[lb_id]) for lb_id in ids if lb_id in rows]

    def get_plist(self, query: LoadBalancerQuery) -> Page[LoadBalancerView]:
        views = [
            self._view(lb)
            for lb in self._uow.load_balancers.rows.values()
            if (query.team_ids is None or lb.team_id in query.team_ids)
            and (query.team is None or self._team_slug(lb.team_id) == query.team)
            and (query.provider is None or lb.provider == query.provider)
            and (
                lb.provisioning_status == query.provisioning_status
                if query.provisioning_status
                else lb.provisioning_status is not ProvisioningStatus.DELETED
            )
            and (query.operating_status is None or lb.operating_status == query.operating_status)
            and (not query.search or query.search in lb.name)
            and set(query.tags) <= set(lb.tags)
        ]
        return _page(views, query.page)

    def _view(self, lb: LoadBalancer) -> LoadBalancerView:
        """As the database's read model answers: the load balancer as a create's answer
        builds it (``new_view``), with the drift stored since."""
        view = new_view(
            lb,
            team=self._team_slug(lb.team_id),
            created_by=None if lb.created_by_id is None else self._usernames.get(lb.created_by_id),
            servers=self._uow.servers.rows,
        )
        drift = sorted(self._uow.drift.get_list(lb_ids=[lb.id]), key=lambda d: d.field)
        return replace(
            view, drift=[DriftView(d.field, d.desired, d.actual, d.first_seen_at, d.last_seen_at) for d in drift]
        )


class FakeScheduler:
    def __init__(self) -> None:
        self.sent: list[tuple[str, UUID]] = []

    def provision(self, lb_id: UUID) -> None:
        self.sent.append(("provision", lb_id))

    def apply_update(self, lb_id: UUID) -> None:
        self.sent.append(("apply_update", lb_id))

    def deprovision(self, lb_id: UUID) -> None:
        self.sent.append(("deprovision", lb_id))

    def follow(self, lb_id: UUID, *, delay: float) -> None:
        self.sent.append(("follow", lb_id))

    def follow_inventory(self, server_id: int) -> None:
        self.sent.append(("follow_inventory", server_id))  # type: ignore[arg-type]

    def take(self) -> list[tuple[str, UUID]]:
        sent, self.sent = self.sent, []
        return sent


@dataclass
class _Remote:
    token: str
    spec: LoadBalancerSpec
    status: ProvisioningStatus
    vip: str
    error: str | None = None
    installation: str | None = None


@dataclass
class FakeLBaaS(LBaaSClient):
    """A provider whose answers the test decides: ``finish()`` completes pending work;
    ``fail_next`` makes the next call raise."""

    name: str = "fake"
    resources: dict[str, _Remote] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_next: list[Exception] = field(default_factory=list)
    health: dict[tuple[str, int], MemberHealth] = field(default_factory=dict)
    """What it says of a member (by address and port) when ACTIVE; ONLINE unless set here."""
    installation: str | None = "this-portal"
    refuse: list[str] = field(default_factory=list)
    """What ``refusals`` answers for a spec with an enabled member of weight above 1."""

    def refusals(self, spec: LoadBalancerSpec) -> list[str]:
        return list(self.refuse) if any(m.weight > 1 and not m.is_draining for m in spec.members) else []

    def plan(self, ref: str | None, spec: LoadBalancerSpec) -> ProviderPlan:
        self._call("plan")
        if ref is None:
            return ProviderPlan((ProviderOperation("create", {"name": spec.name}),))
        current = self._remote(ref).spec
        if current == spec:
            return ProviderPlan()
        changed = [change.field for change in spec_changes(current, spec)]
        return ProviderPlan((ProviderOperation("update", {"fields": changed}),))

    def tamper(self, ref: str, **changes: object) -> None:
        """Change what the provider runs behind the portal's back."""
        remote = self._remote(ref)
        remote.spec = replace(remote.spec, **changes)  # type: ignore[arg-type]

    def create(self, spec: LoadBalancerSpec, *, client_token: str) -> ProviderLoadBalancer:
        self._call("create")
        for ref, remote in self.resources.items():
            if remote.token == client_token:
                return self._answer(ref)
        ref = f"fake-{len(self.resources) + 1}"
        vip = f"192.0.2.{len(self.resources) + 1}"
        self.resources[ref] = _Remote(
            client_token, spec, ProvisioningStatus.PENDING_CREATE, vip, installation=self.installation
        )
        return self._answer(ref)

    def get(self, ref: str) -> ProviderLoadBalancer:
        self._call("get")
        return self._answer(ref)

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        self._call("update")
        remote = self._remote(ref)
        remote.spec, remote.status = spec, ProvisioningStatus.PENDING_UPDATE
        return self._answer(ref)

    def delete(self, ref: str) -> None:
        self._call("delete")
        if ref in self.resources:
            self.resources[ref].status = ProvisioningStatus.PENDING_DELETE

    def get_list(self) -> list[ProviderLoadBalancer]:
        self._call("get_list")
        return [self._answer(ref) for ref in self.resources]

    def finish(self, error: str | None = None) -> None:
        """Complete every pending operation (with ``error``: fail it)."""
        for ref, remote in list(self.resources.items()):
            if remote.status is ProvisioningStatus.PENDING_DELETE:
                del self.resources[ref]
            elif remote.status.is_pending:
                remote.status = ProvisioningStatus.ERROR if error else ProvisioningStatus.ACTIVE
                remote.error = error

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_next:
            raise self.fail_next.pop(0)

    def _remote(self, ref: str) -> _Remote:
        if ref not in self.resources:
            raise ProviderResourceNotFound(f"no load balancer {ref}")
        return self.resources[ref]

    def _answer(self, ref: str) -> ProviderLoadBalancer:
        remote = self._remote(ref)
        active = remote.status is ProvisioningStatus.ACTIVE
        members = tuple(
            self.health.get((m.address, m.port), MemberHealth(m.address, m.port, OperatingStatus.ONLINE))
            if active
            else MemberHealth(m.address, m.port, OperatingStatus.OFFLINE)
            for m in remote.spec.members
        )
        return ProviderLoadBalancer(
            ref=ref,
            provisioning_status=remote.status,
            operating_status=overall_operating_status(m.operating_status for m in members),
            vip_address=remote.vip,
            health_monitor=remote.spec.health_monitor,
            members=members,
            error=remote.error,
            client_token=remote.token,
            installation=remote.installation,
            running=remote.spec,
        )


class FakeObservations:
    """The metrics ports (load balancers' Observations, notifications'
    DeliveryObservations): what was measured, in order, as (what, fields)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def provisioning_finished(self, **fields: Any) -> None:
        self.seen.append(("provisioning_finished", fields))

    def provider_called(self, **fields: Any) -> None:
        self.seen.append(("provider_called", fields))

    def reconcile_passed(self, **fields: Any) -> None:
        self.seen.append(("reconcile_passed", fields))

    def delivery_attempted(self, **fields: Any) -> None:
        self.seen.append(("delivery_attempted", fields))

    def delivery_finished(self, **fields: Any) -> None:
        self.seen.append(("delivery_finished", fields))

    def of(self, what: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.seen if name == what]


class Portal:
    """Every use case wired to fakes by the composition roots production uses."""

    def __init__(
        self,
        policy: ProvisioningPolicy | None = None,
        *,
        provider: LBaaSClient | None = None,
        installation: str = "this-portal",
        address_policy: AddressPolicy = STRICT_ADDRESS_POLICY,
    ) -> None:
        """With ``provider``, a real adapter stands where the fake provider does."""
        self.clock = FakeClock()
        self.usernames = {1: "alice", 2: "bob", 3: "ops", 4: "auditor", 5: "carol"}
        self.uow = FakeUnitOfWork(self.clock, self.usernames)
        self.quota_defaults = Quotas(load_balancers=20, members=50)
        # Each person's team, as the migration made them: alice owns team 1, bob team 2.
        for user_id in (1, 2):
            self.add_team(self.usernames[user_id], {user_id: Role.OWNER})
        self.lbaas = FakeLBaaS(name="fake")
        client = provider or self.lbaas
        self.providers = Providers({client.name: client}, default=client.name, descriptions={client.name: "test"})
        self.scheduler = FakeScheduler()
        self.policy = policy or ProvisioningPolicy(poll_interval=1, pending_timeout=600, stuck_after=60)
        # The audit trail and notifications hear every event, as in production.
        self.emails = {1: "alice@example.com", 2: "bob@example.com", 5: "carol@example.com"}
        self.directory = FakeTeamDirectory(self.uow, self.emails)
        self.trail = FakeAuditRepository()
        self.audit = audit_bootstrap.build(
            repository=self.trail,
            read_model=FakeAuditReadModel(self.trail),
            teams=self.directory,
            policy=RetentionPolicy(),
            now=self.clock.now,
        )
        self.resolver = FakeResolver()
        self.sender = FakeSender()
        self.outbox = FakeNotificationScheduler()
        self.delivery_policy = DeliveryPolicy(max_attempts=3, disable_after=5)
        self.observations = FakeObservations()
        self.notifications = notifications_bootstrap.build(
            unit_of_work=self.uow.using,
            subscriptions=FakeSubscriptions(self.uow),
            teams=self.directory,
            server_users=FakeServerUsers(self.uow),
            resolver=self.resolver,
            sender=self.sender,
            scheduler=self.outbox,
            policy=self.delivery_policy,
            clock=self.clock,
            known_actions=known_actions,
            subscribers=self.subscribers,
            observations=self.observations,
        )
        self.accounts = accounts_bootstrap.build(
            subscribers=self.subscribers,
            unit_of_work=self.uow.using,
            read_model=FakeTeamReadModel(self.uow, self.quota_defaults),
            clock=self.clock,
        )
        self.teams = self.accounts.teams
        self.tokens = self.accounts.tokens
        self.servers = servers_bootstrap.build(
            subscribers=self.subscribers,
            unit_of_work=self.uow.using,
            read_model=FakeServerReadModel(self.uow),
            address_policy=address_policy,
        )
        services = bootstrap.build(
            unit_of_work=self.uow.using,
            read_model=FakeReadModel(self.uow, self.usernames),
            providers=self.providers,
            scheduler=self.scheduler,
            clock=self.clock,
            policy=self.policy,
            address_policy=address_policy,
            installation=installation,
            servers=self.servers,
            quota_defaults=self.quota_defaults,
            teams=self.teams,
            subscribers=self.subscribers,
            observations=self.observations,
        )
        self.load_balancers = services.load_balancers
        self.provisioning = services.provisioning
        self.reconciliation = services.reconciliation

    @property
    def subscribers(self) -> dict[type, list]:  # type: ignore[type-arg]
        """What production's apps subscribe to every event: the trail and the notifier,
        and the load balancers' follow-up of server status changes."""
        return {DomainEvent: [batched(self._record), batched(self._notify)], **inventory_handlers(self.scheduler)}

    def _record(self, events: list[object]) -> None:
        self.audit.record_many(events)  # type: ignore[arg-type]

    def _notify(self, events: list[object]) -> None:
        self.notifications.notifier.handle_many(events)  # type: ignore[arg-type]

    def entries(self, **filters: object) -> list[AuditEntry]:
        """The trail, oldest first, with entries matching every filter (field=value)."""
        return [
            e
            for e in sorted(self.trail.rows.values(), key=lambda e: e.id or 0)
            if all(getattr(e, name) == value for name, value in filters.items())
        ]

    def deliver_all(self) -> None:
        """Run once the deliveries the outbox was handed, as a worker would."""
        handed, self.outbox.deliveries = self.outbox.deliveries, []
        for delivery_id, _delay in handed:
            self.notifications.deliveries.deliver(delivery_id)

    def add_team(self, slug: str, roles: dict[int, Role], **quotas: int) -> int:
        """A team with these members (user id -> role) and quotas, as operations would make it."""
        team = Team.new(slug=slug, name=slug.title(), **quotas)
        team.memberships = [Membership(user_id, self.usernames[user_id], role) for user_id, role in roles.items()]
        team = self.uow.teams.create_one(team)
        assert team.id is not None
        return team.id

    def actor(self, user_id: int, **flags: bool) -> Actor:
        """The user as the use cases know them, with their role in each team as stored
        now (what accounts.bootstrap.actor reads from the database on each request)."""
        roles = {
            team.id: m.role.value
            for team in self.uow.teams.rows.values()
            for m in team.memberships
            if m.user_id == user_id and team.id is not None
        }
        return Actor(user_id=user_id, username=self.usernames[user_id], roles=roles, **flags)

    def add_server(self, name: str | None = None, status: ServerStatus = ServerStatus.OK) -> int:
        n = len(self.uow.servers.rows) + 1
        server = self.uow.servers.create_one(
            Server.new(name=name or f"server-{n}", address=f"10.0.{n // 250}.{n % 250 + 1}", port=8080, status=status)
        )
        assert server.id is not None
        return server.id

    def member_health(self, server_id: int, status: OperatingStatus, reason: str | None = None) -> None:
        """What the fake provider says from now on of the member on this server."""
        server = self.uow.servers.rows[server_id]
        self.lbaas.health[(server.address, server.port)] = MemberHealth(server.address, server.port, status, reason)

    def degrade(self, lb_id: UUID) -> int:
        """Its first member fails its checks at the provider (it reads DEGRADED once
        seen); returns that member's server id."""
        first = self.stored(lb_id).server_ids[0]
        self.member_health(first, OperatingStatus.ERROR, "check failed")
        return first

    def stored(self, lb_id: UUID) -> LoadBalancer:
        return self.uow.load_balancers.rows[lb_id]

    def run_tasks(self) -> None:
        """Run once what the scheduler was handed, as a worker would."""
        steps = {
            "provision": self.provisioning.provision,
            "apply_update": self.provisioning.apply_update,
            "deprovision": self.provisioning.deprovision,
            "follow": self.provisioning.follow,
            "follow_inventory": lambda server_id: self.provisioning.follow_inventory(server_id=server_id),
        }
        for step, lb_id in self.scheduler.take():
            steps[step](lb_id)

    def settle(self, error: str | None = None) -> None:
        """Run the workers while the provider completes (or, with ``error``, fails)
        everything asked of it, until no work is left."""
        for _ in range(20):
            if not self.scheduler.sent:
                return
            self.run_tasks()
            self.lbaas.finish(error)
        raise AssertionError("the background work did not settle")
