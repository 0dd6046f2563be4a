"""The bus hands a commit's events to batch subscribers together: the audit trail stores
them with one write, notifications look their teams and webhooks up once; what they
store, deliver and e-mail is what one-by-one handling would, in the same order, and a
bad event loses only itself."""

from dataclasses import dataclass, replace

import pytest

from accounts.domain.model import Role
from audit import bootstrap as audit_bootstrap
from audit.domain.model import RetentionPolicy
from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.application.provisioning import inventory_handlers
from notifications import bootstrap as notifications_bootstrap
from notifications.application.payloads import CreateWebhook
from notifications.domain.model import ALL_EVENTS
from portal import events as portal_events
from portal.kernel.events import DomainEvent, known_actions
from portal.kernel.messagebus import MessageBus, batched
from servers import bootstrap as servers_bootstrap
from servers.application.files import ImportLimits, read_import
from tests.fakes import OPS, FakeAuditReadModel, FakeServerReadModel, FakeServerUsers, FakeSubscriptions, Portal

LIMITS = ImportLimits(max_bytes=100_000, max_rows=100)


@dataclass(frozen=True)
class Happened:
    n: int


@dataclass(frozen=True)
class HappenedLoudly(Happened):
    pass


class TestTheBus:
    def test_a_batch_handler_hears_a_commits_events_together_in_order_after_the_others(self):
        heard = []
        bus = MessageBus({Happened: [lambda e: heard.append(("one", e.n)), batched(lambda es: heard.append(es))]})

        bus.handle([Happened(1), HappenedLoudly(2), Happened(3)])

        assert heard == [("one", 1), ("one", 2), ("one", 3), [Happened(1), HappenedLoudly(2), Happened(3)]]

    def test_a_single_event_goes_to_a_batch_handler_in_its_place(self):
        heard = []
        bus = MessageBus()
        bus.subscribe_batch(Happened, lambda es: heard.append(es))
        bus.subscribe(Happened, lambda e: heard.append(e.n))

        bus.handle([Happened(1)])

        assert heard == [[Happened(1)], 1]

    def test_only_the_events_of_its_kind_in_batches_of_at_most_batch_size(self):
        heard = []
        bus = MessageBus({HappenedLoudly: [batched(lambda es: heard.append([e.n for e in es]))]}, batch_size=2)

        bus.handle([HappenedLoudly(1), Happened(2), HappenedLoudly(3), HappenedLoudly(4), HappenedLoudly(5)])

        assert heard == [[1], [3, 4], [5]]

    def test_a_failing_batch_is_handed_over_one_by_one_and_the_other_handlers_still_run(self, caplog):
        stored, others = [], []

        def store(events):
            if any(e.n == 2 for e in events):
                raise ValueError("the store refuses 2")
            stored.extend(e.n for e in events)

        bus = MessageBus({Happened: [batched(store), batched(lambda es: others.extend(e.n for e in es))]})

        bus.handle([Happened(1), Happened(2), Happened(3)])

        assert (stored, others) == ([1, 3], [1, 2, 3])
        assert "handing them one by one" in caplog.text
        assert "handling Happened failed" in caplog.text

    def test_the_portal_wide_subscribers_keep_one_batch_handler_once(self, monkeypatch):
        monkeypatch.setattr(portal_events, "_subscribers", {})
        heard = []

        def hear(events):
            heard.append(len(events))

        portal_events.subscribe_batch(Happened, hear)
        portal_events.subscribe_batch(Happened, hear)
        portal_events.bus({}, portal_events.subscribers()).handle([Happened(1), Happened(2)])

        assert heard == [2]


class OneByOnePortal(Portal):
    """The same portal, its trail and notifier hearing each event alone (as before batches)."""

    @property
    def subscribers(self):
        return {DomainEvent: [self._record_one, self._notify_one], **inventory_handlers(self.scheduler)}

    def _record_one(self, event):
        self.audit.record(event)

    def _notify_one(self, event):
        self.notifications.notifier.handle(event)


def counted(portal):
    """The portal's notifier built again with look-ups the test counts."""
    portal.server_users = FakeServerUsers(portal.uow)
    portal.subscriptions = FakeSubscriptions(portal.uow)
    portal.notifications = notifications_bootstrap.build(
        unit_of_work=portal.uow.using,
        subscriptions=portal.subscriptions,
        teams=portal.directory,
        server_users=portal.server_users,
        resolver=portal.resolver,
        sender=portal.sender,
        scheduler=portal.outbox,
        policy=portal.delivery_policy,
        clock=portal.clock,
        known_actions=known_actions,
        subscribers=portal.subscribers,
        observations=portal.observations,
    )
    return portal


def with_retention(portal, rows):
    portal.audit = audit_bootstrap.build(
        repository=portal.trail,
        read_model=FakeAuditReadModel(portal.trail),
        teams=portal.directory,
        policy=RetentionPolicy(rows=rows),
        now=portal.clock.now,
    )
    return portal


def inventory(portal):
    """Four servers; alice's team's load balancer uses two, bob's one and a shared one;
    each team has a webhook for server status changes and one for everything."""
    portal.add_team("carol", {5: Role.MEMBER})
    servers = [portal.add_server(f"app-{n}") for n in range(1, 5)]
    for actor_id, team, used in ((1, "alice", servers[:2]), (2, "bob", servers[1:3])):
        actor = portal.actor(actor_id)
        portal.load_balancers.create_one(actor, CreateLoadBalancer(name=f"{team}-lb", servers=used, team=team))
        for types in (["server.status_changed"], [ALL_EVENTS]):
            portal.notifications.webhooks.create_one(
                actor, team, CreateWebhook(url="https://hooks.example.com/in", event_types=types)
            )
    portal.outbox.deliveries.clear()
    portal.outbox.emails.clear()
    portal.scheduler.take()
    return servers


def an_import(portal, rows):
    """Every server to MAINTENANCE and ``rows`` new ones: one commit, one event each."""
    lines = ["name,address,port,status"]
    lines += [f"{s.name},{s.address},{s.port},MAINTENANCE" for s in portal.uow.servers.rows.values()]
    lines += [f"new-{n},10.9.0.{n + 1},80,OK" for n in range(rows)]
    return portal.servers.import_batch(OPS, read_import("\n".join(lines).encode(), "csv", LIMITS))


def trail(portal):
    """The entries of servers (the load balancers' ids differ from one portal to another)."""
    return [replace(e, id=None) for e in portal.entries(target_type="server")]


def deliveries(portal):
    return [
        (d.webhook_id, d.action, {k: v for k, v in d.payload.items() if k != "id"})
        for d in sorted(portal.uow.deliveries.rows.values(), key=lambda d: d.id)
        if d.payload["target"]["type"] == "server"
    ]


@pytest.fixture
def both():
    """The same portal twice: handling events one by one, and in batches."""
    pair = OneByOnePortal(), Portal()
    for portal in pair:
        inventory(portal)
        counted(portal)
    return pair


class TestTheSameAsOneByOne:
    def test_the_same_entries_deliveries_emails_and_follow_ups(self, both):
        alone, together = both
        entries_before, deliveries_before = len(trail(together)), len(deliveries(together))

        for portal in both:
            result = an_import(portal, rows=3)
            assert (result.created, result.updated) == (3, 4)

        assert trail(together) == trail(alone)
        assert len(trail(together)) - entries_before == 7
        assert deliveries(together) == deliveries(alone)
        # app-1: alice's two webhooks; app-2: alice's and bob's; app-3: bob's; app-4 and the new: nobody's
        assert len(deliveries(together)) - deliveries_before == 2 + 4 + 2
        assert together.outbox.emails == alone.outbox.emails
        assert len(together.outbox.emails) == 4
        assert [d for d, _ in together.outbox.deliveries] == sorted(together.uow.deliveries.rows)[-8:]
        followed = together.scheduler.take()
        assert followed == alone.scheduler.take()
        assert sorted(followed) == [("follow_inventory", server_id) for server_id in range(1, 5)]

    def test_the_commit_is_stored_with_one_write_and_looked_up_once(self, both):
        alone, together = both

        batches_before = len(together.trail.batches)

        for portal in both:
            an_import(portal, rows=3)

        assert together.trail.batches[batches_before:] == [7]
        assert together.server_users.asked == [sorted(together.uow.servers.rows)]
        assert together.subscriptions.reads == 1
        assert (len(alone.server_users.asked), alone.subscriptions.reads) == (7, 3)

    def test_pruning_keeps_the_same_newest_entries(self, both):
        for portal in both:
            with_retention(portal, rows=5)
            an_import(portal, rows=6)

        alone, together = both
        assert trail(together) == trail(alone)
        assert len(together.trail.rows) == 5


class TestFailures:
    def test_an_entry_the_store_refuses_loses_only_itself_and_the_order_is_kept(self, both, caplog):
        alone, together = both
        refused = str(next(s.id for s in together.uow.servers.rows.values() if s.name == "app-2"))
        together.trail.refused = {refused}
        start = len(together.entries())

        for portal in both:
            an_import(portal, rows=2)

        assert trail(together) == [e for e in trail(alone) if e.target_id != refused]
        assert len(together.entries()) - start == 5
        assert "storing them one by one" in caplog.text
        # the notifier heard every event all the same
        assert deliveries(together) == deliveries(alone)

    def test_an_event_nobody_committed_loses_only_itself(self, portal, caplog):
        events = [replace(e, context=None) if n == 1 else e for n, e in enumerate(self._committed(portal, 3))]
        start = len(portal.trail.rows)

        portal.audit.record_many(events)

        assert [e.target_id for e in portal.entries()[start:]] == [events[0].target_id, events[2].target_id]
        assert "no entry for" in caplog.text

    def test_a_failing_look_up_falls_back_to_one_by_one(self, both, caplog):
        alone, together = both

        def down(server_ids):
            raise ConnectionError("loadbalancers is down")

        together.server_users.teams_using_many = down

        for portal in both:
            an_import(portal, rows=1)

        assert len(together.server_users.asked) == 5
        assert deliveries(together) == deliveries(alone)
        assert together.outbox.emails == alone.outbox.emails
        assert "one by one" in caplog.text

    def test_deliveries_that_cannot_be_stored_together_are_stored_event_by_event(self, both, caplog):
        alone, together = both
        batches = together.uow.deliveries.create_batch
        sizes = []

        def fragile(deliveries):
            sizes.append(len(deliveries))
            if len(deliveries) > 4:
                raise RuntimeError("too many at once")
            return batches(deliveries)

        together.uow.deliveries.create_batch = fragile

        for portal in both:
            an_import(portal, rows=0)

        assert sizes == [8, 2, 4, 2]
        assert deliveries(together) == deliveries(alone)
        assert "together failed" in caplog.text

    @staticmethod
    def _committed(portal, n):
        """The events of a commit that creates ``n`` servers, as the bus has them."""
        heard = []
        service = servers_bootstrap.build(
            subscribers={DomainEvent: [batched(heard.extend)]},
            unit_of_work=portal.uow.using,
            read_model=FakeServerReadModel(portal.uow),
        )
        lines = ["name,address,port"] + [f"late-{i},10.8.0.{i + 1},80" for i in range(n)]
        service.import_batch(OPS, read_import("\n".join(lines).encode(), "csv", LIMITS))
        return heard
