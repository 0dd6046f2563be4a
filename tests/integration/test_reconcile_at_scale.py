"""What keeps a reconcile pass flat as load balancers grow: the records read in bulk (many
ids in chunks a database takes, members and tags by the query that read the rows), one
provider listing per pass and no statement per load balancer, and the sandbox's listing
the same as its answers one by one."""

import sqlite3
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loadbalancers import bootstrap, models
from loadbalancers.adapters import repositories
from loadbalancers.adapters.lbaas.sandbox import SandboxLBaaS
from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec, Providers
from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.application.provisioning import ProvisioningPolicy
from loadbalancers.domain.members import Observed
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, ProvisioningStatus
from tests.factories import ServerFactory, UserFactory, personal_team
from tests.fakes import FakeScheduler

pytestmark = pytest.mark.django_db


def stored_lb(owner, servers, name, *, tags=(), status=ProvisioningStatus.ACTIVE) -> LoadBalancer:
    repo = DjangoLoadBalancerRepository()
    lb = LoadBalancer.new(
        id=uuid4(),
        name=name,
        team_id=personal_team(owner).pk,
        created_by_id=owner.pk,
        members=[s.pk for s in servers],
        listener_protocol="HTTP",
        listener_port=80,
        algorithm="ROUND_ROBIN",
        provider="sandbox",
        description="",
        now=timezone.now(),
        tags=list(tags),
    )
    lb = repo.create_one(lb)
    if status is not ProvisioningStatus.PENDING_CREATE:
        lb.record_provider_ref(f"sbx-{name}", now=timezone.now())
        lb.mark_active(vip_address=None, reported={s.pk: Observed(OperatingStatus.ONLINE) for s in servers})
        if status is ProvisioningStatus.DELETED:
            lb.request_delete(now=timezone.now())
            lb.mark_deleted()
        repo.update_one(lb)
    return repo.get_one(lb.id)


class TestRecordsReadInBulk:
    @pytest.fixture
    def five(self):
        owner = UserFactory()
        a, b, c = ServerFactory.create_batch(3)
        members = [[a, b], [c, a], [b], [a, b, c], [c]]
        return [
            stored_lb(owner, servers, f"lb-{n}", tags=[f"n={n}"] if n % 2 else []) for n, servers in enumerate(members)
        ]

    def test_ids_by_chunks_read_each_load_balancer_whole_and_in_order(self, five, monkeypatch):
        monkeypatch.setattr(repositories, "CHUNK", 2)
        wanted = [lb.id for lb in reversed(five)] + [uuid4()]

        found = DjangoLoadBalancerRepository().get_list(ids=wanted)

        assert found == five

    def test_many_rows_read_their_members_and_tags_by_their_query(self, five, monkeypatch):
        monkeypatch.setattr(repositories, "CHUNK", 2)
        owner = UserFactory()
        stored_lb(owner, [ServerFactory()], "gone", status=ProvisioningStatus.DELETED)
        stored_lb(owner, [ServerFactory()], "pending", status=ProvisioningStatus.PENDING_CREATE)

        with CaptureQueriesContext(connection) as queries:
            found = DjangoLoadBalancerRepository().get_list(provider="sandbox", statuses=[ProvisioningStatus.ACTIVE])

        assert found == five
        assert len(queries) == 3  # the rows, their members, their tags

    def test_more_ids_than_a_statement_takes_are_read(self):
        owner = UserFactory()
        lb = stored_lb(owner, [ServerFactory()], "one")
        many = 70_000
        if connection.vendor == "sqlite":  # as many as one statement may have, and one more
            connection.ensure_connection()
            many = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) + 1

        found = DjangoLoadBalancerRepository().get_list(ids=[uuid4() for _ in range(many)] + [lb.id])

        assert [each.id for each in found] == [lb.id]


def same(found: LoadBalancer, alone: LoadBalancer) -> None:
    """Equal field by field, each value of the same type (an enum, not its string; a
    tuple, not a list; a UUID, not its text)."""
    assert found == alone
    for name, value in vars(alone).items():
        assert type(getattr(found, name)) is type(value), name
    for mine, theirs in zip(found.members, alone.members, strict=True):
        assert [type(v) for v in vars(mine).values()] == [type(v) for v in vars(theirs).values()]


class TestReadAsTuples:
    """The lists read rows as tuples (members and monitors each made once per read and
    shared): every aggregate exactly as ``get_one`` makes it alone, nothing shared
    between two reads."""

    @pytest.fixture
    def varied(self):
        owner = UserFactory()
        a, b, c = ServerFactory.create_batch(3)
        repo = DjangoLoadBalancerRepository()
        made = []
        monitors = [
            None,
            {"type": "HTTP", "interval": 7, "http_path": "/healthz", "expected_codes": "200-204"},
            {"type": "TCP", "retries_down": 5},
            {"type": "HTTP", "interval": 7, "http_path": "/healthz", "expected_codes": "200-204"},
        ]
        for n, monitor in enumerate(monitors):
            lb = LoadBalancer.new(
                id=uuid4(),
                name=f"lb-{n}",
                team_id=personal_team(owner).pk,
                created_by_id=owner.pk,
                members=[{"server": a.pk, "weight": 3}, {"server": b.pk, "admin_state": "drain"}, c.pk][n % 2 :],
                listener_protocol="TCP" if n % 2 else "HTTP",
                listener_port=8000 + n,
                algorithm=["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP"][n % 3],
                provider="sandbox",
                description=f"number {n}",
                now=timezone.now(),
                health_monitor=monitor,
                tags=["web", f"n={n}"] if n else [],
                deletion_protection=bool(n % 2),
            )
            repo.create_one(lb)
            lb.record_provider_ref(f"sbx-{n}", now=timezone.now())
            lb.mark_active(
                vip_address=f"192.0.2.{n}",
                reported={
                    a.pk: Observed(OperatingStatus.ERROR, "check failed"),
                    c.pk: Observed(OperatingStatus.ONLINE),
                },
            )
            repo.update_one(lb)
            made.append(lb.id)
        # One in ERROR (with its reason), one drained by the inventory.
        broken = repo.get_one(made[0])
        broken.mark_lost("the provider no longer has this load balancer")
        repo.update_one(broken)
        models.Member.objects.filter(load_balancer_id=made[1], server=c).update(
            admin_state="drain", drained_by_inventory=True
        )
        return [repo.get_one(lb_id) for lb_id in made]

    def test_every_list_makes_each_aggregate_as_reading_it_alone_does(self, varied, monkeypatch):
        repo = DjangoLoadBalancerRepository()
        assert varied[0].members[1].status_reason == "not reported by the provider"
        assert varied[1].members[1].drained_by_inventory
        assert varied[0].health_monitor is None
        assert varied[2].health_monitor is not None

        for found in (
            repo.get_list(),
            repo.get_list(ids=[lb.id for lb in reversed(varied)]),
            repo.get_list(provider="sandbox", statuses=list(ProvisioningStatus)),
        ):
            assert len(found) == len(varied)
            for mine, alone in zip(found, varied, strict=True):
                same(mine, alone)
        monkeypatch.setattr(repositories, "CHUNK", 2)  # the members read by the rows' query, and ids by chunks
        for found in (repo.get_list(), repo.get_list(ids=[lb.id for lb in reversed(varied)] + [uuid4()] * 3)):
            for mine, alone in zip(found, varied, strict=True):
                same(mine, alone)

    def test_the_pending_ones_are_made_as_alone_too(self, varied):
        repo = DjangoLoadBalancerRepository()
        lb = repo.get_one(varied[2].id)
        lb.request_update(now=timezone.now(), description="changed")
        repo.update_one(lb)

        (found,) = repo.get_list_pending(not_checked_since=timezone.now() + timedelta(minutes=1))

        same(found, repo.get_one(lb.id))

    def test_equal_members_and_monitors_are_shared_within_one_read_only(self, varied):
        repo = DjangoLoadBalancerRepository()
        first = repo.get_list()
        assert first[1].members[0] == first[3].members[0]
        assert first[1].health_monitor == first[3].health_monitor

        assert first[1].members[0] is first[3].members[0]
        assert first[1].health_monitor is first[3].health_monitor
        again = repo.get_list()
        assert again[1].members[0] is not first[1].members[0]
        assert again[1].health_monitor is not first[1].health_monitor

    def test_a_member_changed_between_two_reads_reads_changed(self, varied):
        repo = DjangoLoadBalancerRepository()
        before = repo.get_list()
        assert before[2].members[0] is before[0].members[0]
        server_id = before[2].members[0].server_id
        models.Member.objects.filter(load_balancer_id=before[2].id, server_id=server_id).update(
            operating_status="ONLINE", status_reason=""
        )

        after = repo.get_list()

        assert after[2].members[0] == replace(
            before[2].members[0], operating_status=OperatingStatus.ONLINE, status_reason=None
        )
        assert after[0].members[0] == before[0].members[0]  # its twin unchanged
        assert after[0].members[0].status_reason == "check failed"


class CountingSandbox(SandboxLBaaS):
    def __init__(self, **options):
        super().__init__(**options)
        self.calls: Counter[str] = Counter()

    def _simulate_network(self, step: str) -> None:
        self.calls[step] += 1
        super()._simulate_network(step)


class TestOnePassIsFlat:
    @pytest.fixture
    def world(self, tmp_path):
        sandbox = CountingSandbox(path=str(tmp_path / "sandbox.sqlite3"), delay=0, installation="this-portal")
        services = bootstrap.build(
            providers=Providers({"sandbox": sandbox}, default="sandbox", descriptions={}),
            scheduler=FakeScheduler(),
            installation="this-portal",
            policy=ProvisioningPolicy(poll_interval=1, pending_timeout=600, stuck_after=60),
        )
        owner = UserFactory()
        servers = [s.pk for s in ServerFactory.create_batch(4)]
        made = []

        def make(count: int) -> None:
            for _ in range(count):
                payload = CreateLoadBalancer(name=f"lb-{len(made)}", servers=servers)
                lb_id = services.load_balancers.create_one(bootstrap.actor_of(owner), payload).id
                services.provisioning.provision(lb_id)  # the sandbox creates it at once
                made.append(lb_id)

        return services, sandbox, make

    def pass_costs(self, services, sandbox):
        sandbox.calls.clear()
        with CaptureQueriesContext(connection) as queries:
            report = services.reconciliation.reconcile()
        assert (report.failed, report.lost, report.orphans_found) == ([], [], [])
        return dict(sandbox.calls), len(queries)

    def test_calls_and_statements_do_not_grow_with_the_load_balancers(self, world):
        services, sandbox, make = world
        make(3)
        assert set(models.LoadBalancer.objects.values_list("provisioning_status", flat=True)) == {"ACTIVE"}
        calls_for_three, statements_for_three = self.pass_costs(services, sandbox)

        make(9)
        calls_for_twelve, statements_for_twelve = self.pass_costs(services, sandbox)

        assert calls_for_three == calls_for_twelve == {"get_list": 1}
        assert statements_for_three == statements_for_twelve


class TestSandboxListing:
    def test_the_listing_answers_as_each_load_balancer_does_alone(self, tmp_path):
        now = [1_000.0]
        sandbox = SandboxLBaaS(path=str(tmp_path / "s.sqlite3"), delay=5, clock=lambda: now[0])
        shared = (MemberSpec("10.0.0.1", 8080), MemberSpec("10.0.0.2", 8080, weight=3, admin_state="drain"))
        done = sandbox.create(LoadBalancerSpec("done", "HTTP", 80, "ROUND_ROBIN", shared), client_token="a")
        now[0] += 10
        pending = sandbox.create(LoadBalancerSpec("pending", "HTTP", 80, "ROUND_ROBIN", shared), client_token="b")

        listed = {each.ref: each for each in sandbox.get_list()}

        assert listed == {done.ref: sandbox.get(done.ref), pending.ref: sandbox.get(pending.ref)}
        assert [m.operating_status for m in listed[done.ref].members] == [
            OperatingStatus.NO_MONITOR,
            OperatingStatus.DRAINING,
        ]
        assert [m.operating_status for m in listed[pending.ref].members] == [OperatingStatus.OFFLINE] * 2
