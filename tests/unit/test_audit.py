"""The audit trail: its retention rule, pruning by the service, reading it scoped to
what each person may see, with filters and pages, and the entry made of an event.
Against in-memory fakes (tests.fakes)."""

from dataclasses import replace
from datetime import timedelta

import pytest

from accounts.application.payloads import AddMember, CreateToken, UpdateTeam
from accounts.domain.model import Role
from audit import bootstrap as audit_bootstrap
from audit.application.payloads import AuditQuery
from audit.domain.errors import AuditEntryNotFound
from audit.domain.model import MESSAGE_MAX_LENGTH, AuditEntry, RetentionPolicy
from loadbalancers.application.payloads import CreateLoadBalancer
from portal.kernel.actors import Actor, Source
from portal.kernel.errors import ValidationFailed
from portal.kernel.events import Change, Context
from portal.kernel.pagination import PageRequest
from servers.domain.events import ServerCreated
from tests.fakes import FakeAuditReadModel, FakeAuditRepository, FakeClock, Portal

AUDITOR = Actor(user_id=4, username="auditor", sees_all=True)


# -- the retention policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rows": 0}, "rows"),
        ({"rows": -5}, "rows"),
        ({"rows": True}, "rows"),
        ({"rows": "1000"}, "rows"),
        ({"rows": 10.5}, "rows"),
        ({"days": 0}, "days"),
        ({"days": -1}, "days"),
        ({"days": True}, "days"),
        ({"days": False}, "days"),
        ({"days": "30"}, "days"),
        ({"batch": 0}, "batch"),
        ({"batch": True}, "batch"),
    ],
)
def test_a_bad_retention_value_is_refused_naming_the_field(fields, field):
    with pytest.raises(ValidationFailed) as refused:
        RetentionPolicy(**fields)

    assert set(refused.value.details) == {field}


def test_every_bad_retention_value_is_reported_at_once():
    with pytest.raises(ValidationFailed) as refused:
        RetentionPolicy(rows=0, days=0, batch=0)

    assert set(refused.value.details) == {"rows", "days", "batch"}


def test_the_defaults_keep_1000_rows_and_no_age_limit():
    policy = RetentionPolicy()

    assert (policy.rows, policy.days) == (1000, None)
    assert policy.oldest_kept(FakeClock().now()) is None


@pytest.mark.parametrize(
    ("rows", "every"),
    [(1, 1), (9, 1), (10, 1), (19, 1), (20, 2), (55, 5), (999, 99), (1000, 100), (1009, 100), (50_000, 100)],
)
def test_pruning_comes_every_tenth_of_the_rows_kept_clamped_to_1_to_100(rows, every):
    assert RetentionPolicy(rows=rows).every == every


def test_pruning_is_due_on_each_multiple_of_every():
    policy = RetentionPolicy(rows=50)  # every 5

    assert [entry_id for entry_id in range(1, 21) if policy.due(entry_id)] == [5, 10, 15, 20]


def test_with_days_entries_older_than_that_many_days_go():
    now = FakeClock().now()

    assert RetentionPolicy(days=3).oldest_kept(now) == now - timedelta(days=3)


# -- pruning by the service ---------------------------------------------------------------------


class Trail:
    """The audit service on a fake repository, with its own clock and policy."""

    def __init__(self, policy: RetentionPolicy) -> None:
        self.clock = FakeClock()
        self.repository = FakeAuditRepository()
        self.portal = Portal()  # for its team directory
        self.service = audit_bootstrap.build(
            repository=self.repository,
            read_model=FakeAuditReadModel(self.repository),
            teams=self.portal.directory,
            policy=policy,
            now=self.clock.now,
        )
        self.written: list[int] = []

    def record(self, n: int = 1) -> None:
        for _ in range(n):
            number = len(self.written) + 1
            context = Context(actor_id=None, actor="system", source="worker", request_id=None, at=self.clock.now())
            event = ServerCreated(target_id=str(number), target_name=f"server-{number}", context=context)
            entry = self.service.record(event)
            self.written.append(entry.id)

    @property
    def ids(self) -> list[int]:
        return sorted(self.repository.rows)


@pytest.mark.parametrize("rows", [1, 7, 30, 250])
def test_the_trail_never_holds_more_than_rows_plus_every_minus_one_entries(rows):
    policy = RetentionPolicy(rows=rows)
    trail = Trail(policy)

    for _ in range(2 * rows + 3 * policy.every + 1):
        trail.record()
        assert len(trail.repository.rows) <= rows + policy.every - 1

    assert len(trail.repository.rows) > rows or policy.every == 1


@pytest.mark.parametrize("rows", [1, 7, 30, 250])
def test_prune_keeps_exactly_the_newest_rows_entries(rows):
    trail = Trail(RetentionPolicy(rows=rows))
    trail.record(2 * rows + 5)

    trail.service.prune()

    assert trail.ids == trail.written[-rows:]


def test_prune_says_how_many_entries_went():
    trail = Trail(RetentionPolicy(rows=30))  # every 3
    trail.record(31)  # pruned at 30: 31 left

    assert trail.service.prune() == 1
    assert trail.service.prune() == 0


def test_prune_with_fewer_entries_than_rows_drops_nothing():
    trail = Trail(RetentionPolicy(rows=30))
    trail.record(10)

    assert trail.service.prune() == 0
    assert trail.ids == trail.written


@pytest.mark.parametrize("rows", [1, 7, 30])
def test_prune_never_drops_an_entry_with_fewer_than_rows_newer_ones(rows):
    trail = Trail(RetentionPolicy(rows=rows))
    for _ in range(3 * rows + 7):
        before = set(trail.repository.rows)
        trail.record()
        for dropped in before - set(trail.repository.rows):
            newer = [entry_id for entry_id in trail.written if entry_id > dropped]
            assert len(newer) >= rows, f"entry {dropped} dropped with only {len(newer)} newer"


def test_the_days_rule_drops_entries_older_than_days_on_prune():
    trail = Trail(RetentionPolicy(rows=1000, days=2))
    trail.record(3)
    trail.clock.advance(timedelta(days=1).total_seconds())
    trail.record(2)
    trail.clock.advance(timedelta(days=1, seconds=1).total_seconds())
    trail.record(1)

    assert trail.service.prune() == 3
    assert trail.ids == trail.written[3:]


def test_the_days_rule_applies_when_pruning_is_due_on_a_write():
    trail = Trail(RetentionPolicy(rows=5, days=1))  # every write prunes
    trail.record(2)
    trail.clock.advance(timedelta(days=1, seconds=1).total_seconds())

    trail.record()

    assert trail.ids == trail.written[-1:]


def test_an_entry_exactly_days_old_stays():
    trail = Trail(RetentionPolicy(rows=1000, days=1))
    trail.record()
    trail.clock.advance(timedelta(days=1).total_seconds())

    assert trail.service.prune() == 0


# -- reading the trail -------------------------------------------------------------------------


class Story:
    """Ten seconds apart:
    1. alice requests load balancer "shop" in team alice (api)
    2. bob requests load balancer "cart" in team bob (page)
    3. bob adds alice to team "web" (page)
    4. alice requests load balancer "blog" in team web (api)
    5. alice leaves team web (page)
    6. bob renames team web (page)"""

    def __init__(self) -> None:
        self.portal = portal = Portal()
        portal.add_team("web", {2: Role.OWNER})
        self.start = portal.clock.now()
        alice, bob = self.person(1, Source.API), self.person(2, Source.PAGE)
        self.shop = self.create(alice, "shop", "alice")
        self.cart = self.create(bob, "cart", "bob")
        portal.teams.add_member(bob, "web", AddMember("alice", "member"))
        self.tick()
        self.blog = self.create(self.person(1, Source.API), "blog", "web")
        portal.teams.remove_member(self.person(1, Source.PAGE), "web", "alice")
        self.tick()
        portal.teams.update_one(bob, "web", UpdateTeam(name="The Web"))
        self.tick()
        assert len(portal.trail.rows) == 6

    def person(self, user_id: int, source: Source) -> Actor:
        return replace(self.portal.actor(user_id), source=source, request_id=f"req-{user_id}")

    def create(self, actor, name, team):
        server = self.portal.add_server()
        view = self.portal.load_balancers.create_one(actor, CreateLoadBalancer(name=name, servers=[server], team=team))
        self.tick()
        return view

    def tick(self) -> None:
        self.portal.clock.advance(10)

    def at(self, n: int):
        """When entry n was written."""
        return self.start + timedelta(seconds=10 * (n - 1))

    def ids(self, reader: Actor, **filters) -> list[int]:
        return [entry.id for entry in self.portal.audit.get_plist(reader, AuditQuery(**filters)).items]


@pytest.fixture
def story():
    return Story()


def test_a_user_sees_their_teams_entries_and_their_own_actions_newest_first(story):
    alice = story.portal.actor(1)

    assert story.ids(alice) == [5, 4, 1]


def test_a_user_never_sees_another_teams_entries(story):
    bob = story.portal.actor(2)

    seen = story.portal.audit.get_plist(bob, AuditQuery()).items

    assert "shop" not in [e.target_name for e in seen]
    assert [e.id for e in seen] == [6, 5, 4, 3, 2]


def test_an_own_action_in_a_team_left_stays_visible_but_not_the_teams_other_entries(story):
    alice = story.portal.actor(1)

    seen = {e.id: e for e in story.portal.audit.get_plist(alice, AuditQuery(team="web")).items}

    assert sorted(seen) == [4, 5]
    assert {e.actor for e in seen.values()} == {"alice"}
    assert story.portal.audit.get_one(alice, 4).target_name == "blog"


def test_staff_who_see_all_see_every_entry(story):
    assert story.ids(AUDITOR) == [6, 5, 4, 3, 2, 1]


def test_an_entry_read_back_names_its_teams_current_slug(story):
    entry = story.portal.audit.get_one(AUDITOR, 1)

    assert (entry.team_id, entry.team) == (1, "alice")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor": "bob"}, [6, 3, 2]),
        ({"actor": "nobody"}, []),
        ({"team": "alice"}, [1]),
        ({"team": "web"}, [6, 5, 4, 3]),
        ({"action": "load_balancer.create_requested"}, [4, 2, 1]),
        ({"action": "team.member_removed"}, [5]),
        ({"source": "page"}, [6, 5, 3, 2]),
        ({"source": "api"}, [4, 1]),
        ({"source": "worker"}, []),
        ({"target_type": "team"}, [6, 5, 3]),
        ({"search": "SHOP"}, [1]),
        ({"search": "Alice"}, [5, 3]),
        ({"actor": "alice", "team": "web"}, [5, 4]),
    ],
)
def test_filters_narrow_the_trail(story, filters, expected):
    assert story.ids(AUDITOR, **filters) == expected


def test_filter_by_target_type_and_id_gives_one_records_history(story):
    shop = str(story.shop.id)

    assert story.ids(AUDITOR, target_type="load_balancer", target_id=shop) == [1]
    assert story.ids(AUDITOR, target_type="team", target_id=shop) == []


def test_since_is_inclusive_and_until_exclusive(story):
    assert story.ids(AUDITOR, since=story.at(2), until=story.at(4)) == [3, 2]
    assert story.ids(AUDITOR, since=story.at(6)) == [6]
    assert story.ids(AUDITOR, until=story.at(2)) == [1]
    assert story.ids(AUDITOR, since=story.at(3), until=story.at(3)) == []


def test_filters_stay_within_what_the_user_may_see(story):
    bob = story.portal.actor(2)

    assert story.ids(bob, team="alice") == []
    assert story.ids(bob, actor="alice") == [5, 4]
    assert story.ids(bob, search="shop") == []


def test_an_unknown_team_slug_gives_an_empty_page(story):
    page = story.portal.audit.get_plist(AUDITOR, AuditQuery(team="nowhere"))

    assert (page.items, page.total) == ([], 0)


def test_pages_take_limit_and_offset_and_count_the_total(story):
    page = story.portal.audit.get_plist(
        AUDITOR, AuditQuery(page=PageRequest(limit=2, offset=1, sort_by="id", sort_direction="desc"))
    )

    assert [e.id for e in page.items] == [5, 4]
    assert (page.total, page.limit, page.offset) == (6, 2, 1)


def test_a_page_past_the_end_is_empty_with_the_total(story):
    page = story.portal.audit.get_plist(
        AUDITOR, AuditQuery(page=PageRequest(limit=5, offset=10, sort_by="id", sort_direction="desc"))
    )

    assert (page.items, page.total) == ([], 6)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (AuditQuery(source="email"), "source"),
        (AuditQuery(source="API"), "source"),
        (AuditQuery(since=FakeClock().now(), until=FakeClock().now() - timedelta(seconds=1)), "until"),
        (AuditQuery(page=PageRequest(limit=0, sort_by="id", sort_direction="desc")), "limit"),
        (AuditQuery(page=PageRequest(limit=1001, sort_by="id", sort_direction="desc")), "limit"),
        (AuditQuery(page=PageRequest(limit=True, sort_by="id", sort_direction="desc")), "limit"),
        (AuditQuery(page=PageRequest(offset=-1, sort_by="id", sort_direction="desc")), "offset"),
        (AuditQuery(page=PageRequest(sort_by="at", sort_direction="desc")), "sort_by"),
    ],
)
def test_a_bad_query_is_refused_naming_the_field(story, query, field):
    with pytest.raises(ValidationFailed) as refused:
        story.portal.audit.get_plist(AUDITOR, query)

    assert field in refused.value.details


def test_get_one_of_another_teams_entry_is_not_found(story):
    bob = story.portal.actor(2)

    with pytest.raises(AuditEntryNotFound):
        story.portal.audit.get_one(bob, 1)


def test_get_one_of_an_unknown_entry_is_not_found(story):
    with pytest.raises(AuditEntryNotFound):
        story.portal.audit.get_one(AUDITOR, 999)


def test_get_one_of_an_entry_of_a_team_or_an_own_action_is_found(story):
    alice, bob = story.portal.actor(1), story.portal.actor(2)

    assert story.portal.audit.get_one(alice, 1).target_name == "shop"
    assert story.portal.audit.get_one(bob, 4).actor == "alice"


def test_an_entry_without_a_team_is_seen_only_by_its_actor_and_staff():
    portal = Portal()
    portal.tokens.create_one(portal.actor(1), CreateToken())
    (entry,) = portal.entries()

    assert entry.team_id is None
    assert [e.id for e in portal.audit.get_plist(portal.actor(1), AuditQuery()).items] == [entry.id]
    assert portal.audit.get_plist(portal.actor(2), AuditQuery()).items == []
    with pytest.raises(AuditEntryNotFound):
        portal.audit.get_one(portal.actor(2), entry.id)


# -- the entry of an event ----------------------------------------------------------------------


def test_an_event_nobody_committed_has_no_entry():
    with pytest.raises(ValueError, match="context"):
        AuditEntry.of(ServerCreated(target_id="1", target_name="web-1"))


def test_the_entry_of_an_event_copies_its_facts_and_context():
    at = FakeClock().now()
    context = Context(actor_id=1, actor="alice", source="api", request_id="req-9", at=at)
    event = ServerCreated(
        target_id="7", target_name="web-7", team_id=None, changes=(Change("name", None, "web-7"),), context=context
    )

    entry = AuditEntry.of(event)

    assert entry == AuditEntry(
        at=at,
        actor_id=1,
        actor="alice",
        source="api",
        request_id="req-9",
        team_id=None,
        action="server.created",
        target_type="server",
        target_id="7",
        target_name="web-7",
        message="added server web-7 to the inventory",
        changes=(Change("name", None, "web-7"),),
    )


def test_an_entrys_message_is_capped_at_500_characters():
    context = Context(actor_id=None, actor="system", source="worker", request_id=None, at=FakeClock().now())
    event = ServerCreated(target_id="1", target_name="x" * 600, context=context)

    entry = AuditEntry.of(event)

    assert MESSAGE_MAX_LENGTH == 500
    assert len(entry.message) == 500
    assert entry.message == event.message[:500]
    assert entry.target_name == "x" * 600


def test_a_write_prunes_one_batch_at_most_and_the_scheduled_pass_the_rest():
    """After the rule is tightened, one user's write does not delete the whole backlog."""
    trail = Trail(RetentionPolicy(rows=1000, batch=5))
    trail.record(120)
    tightened = RetentionPolicy(rows=10, batch=5)
    trail.service = audit_bootstrap.build(
        repository=trail.repository,
        read_model=FakeAuditReadModel(trail.repository),
        teams=trail.portal.directory,
        policy=tightened,
        now=trail.clock.now,
    )
    while (len(trail.written) + 1) % tightened.every:
        trail.record()
    before = len(trail.repository.rows)

    trail.record()  # due: prunes

    assert len(trail.repository.rows) == before + 1 - tightened.batch
    backlog = len(trail.repository.rows) - 10
    assert trail.service.prune() == backlog
    assert trail.ids == sorted(trail.written)[-10:]
