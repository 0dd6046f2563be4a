"""Repositories, mappers and the unit of work against the real database."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.adapters.repositories import DjangoTeamRepository
from loadbalancers import models
from loadbalancers.adapters.repositories import DjangoLoadBalancerRepository
from loadbalancers.adapters.unit_of_work import DjangoUnitOfWork
from loadbalancers.domain.errors import LoadBalancerNotFound, NameTaken
from loadbalancers.domain.members import Observed
from loadbalancers.domain.model import LoadBalancer, OperatingStatus, ProvisioningStatus
from portal.kernel.errors import StaleVersion
from servers import bootstrap as servers_bootstrap
from servers.adapters.repositories import DjangoServerRepository
from servers.domain.errors import ServerAddressTaken, ServerInUse, ServerNameTaken, ServerNotFound
from servers.domain.model import Server, ServerStatus
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory, personal_team
from tests.fakes import OPS

pytestmark = pytest.mark.django_db


def new_lb(owner, servers, name="shop", **fields):
    return LoadBalancer.new(
        id=uuid4(),
        name=name,
        team_id=personal_team(owner).pk,
        created_by_id=owner.pk,
        members=[s.pk for s in servers],
        listener_protocol="TCP",
        listener_port=443,
        algorithm="SOURCE_IP",
        provider="sandbox",
        description="d",
        now=timezone.now(),
        **fields,
    )


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def repo():
    return DjangoLoadBalancerRepository()


class TestLoadBalancerRepository:
    def test_round_trip_keeps_every_field_and_member_order(self, repo, owner):
        servers = ServerFactory.create_batch(3)
        lb = new_lb(owner, [servers[2], servers[0], servers[1]])

        repo.create_one(lb)
        loaded = repo.get_one(lb.id)

        assert loaded == lb
        assert loaded.server_ids == (servers[2].pk, servers[0].pk, servers[1].pk)
        assert loaded.version == 1
        assert loaded.created_at is not None

    def test_update_round_trip_with_provider_fields_and_new_members(self, repo, owner):
        a, b, c = ServerFactory.create_batch(3)
        lb = repo.create_one(new_lb(owner, [a, b]))
        lb.record_provider_ref("sbx-1", now=timezone.now())
        lb.mark_active(
            vip_address="198.51.100.7",
            reported={a.pk: Observed(OperatingStatus.ONLINE), b.pk: Observed(OperatingStatus.ERROR, "L7STS/500")},
        )
        repo.update_one(lb)
        assert repo.get_one(lb.id).operating_status is OperatingStatus.DEGRADED
        assert repo.get_one(lb.id).members[1].status_reason == "L7STS/500"
        lb.request_update(
            now=timezone.now(),
            members=[{"server": c.pk, "weight": 3}, {"server": a.pk, "admin_state": "drain"}],
            algorithm="ROUND_ROBIN",
            health_monitor={"type": "HTTP", "http_path": "/health", "expected_codes": "200-399"},
            tags=["env=prod", "web"],
            deletion_protection=True,
        )

        repo.update_one(lb)

        loaded = repo.get_one(lb.id)
        assert loaded == lb
        assert [(m.weight, m.admin_state.value) for m in loaded.members] == [(3, "enabled"), (1, "drain")]
        assert loaded.health_monitor.http_path == "/health"
        assert (loaded.tags, loaded.deletion_protection) == (("env=prod", "web"), True)
        assert (loaded.server_ids, loaded.provider_ref, loaded.vip_address, loaded.version) == (
            (c.pk, a.pk),
            "sbx-1",
            "198.51.100.7",
            3,
        )

    def test_the_inventory_candidates_are_those_on_a_server_not_ok_or_drained_by_the_inventory(self, repo, owner):
        ok, down, spare = ServerFactory(), ServerFactory(), ServerFactory()
        healthy = repo.create_one(new_lb(owner, [ok], name="healthy"))
        on_down = repo.create_one(new_lb(owner, [ok, down], name="on-down"))
        drained = repo.create_one(new_lb(owner, [spare], name="drained"))
        drained.provisioning_status = ProvisioningStatus.ACTIVE
        drained.follow_inventory(now=timezone.now(), unavailable={spare.pk: "spare is DOWN"})
        repo.update_one(drained)  # spare is OK again meanwhile: to be enabled again
        models.LoadBalancer.objects.update(provisioning_status=ProvisioningStatus.ACTIVE)
        type(down).objects.filter(pk=down.pk).update(status=ServerStatus.DOWN)

        found = repo.get_list(statuses=[ProvisioningStatus.ACTIVE], inventory_candidates=True)

        assert sorted(lb.name for lb in found) == ["drained", "on-down"]
        assert healthy.id not in {lb.id for lb in found}
        assert [lb.name for lb in repo.get_list(server_id=down.pk)] == [on_down.name]

    def test_a_stale_write_is_refused(self, repo, owner):
        lb = repo.create_one(new_lb(owner, [ServerFactory()]))
        first, second = repo.get_one(lb.id), repo.get_one(lb.id)
        first.record_provider_ref("a", now=timezone.now())
        repo.update_one(first)
        second.record_provider_ref("b", now=timezone.now())

        with pytest.raises(StaleVersion):
            repo.update_one(second)

        stored = repo.get_one(lb.id)
        assert (stored.provider_ref, stored.submitted_at) == ("a", first.submitted_at)

    def test_unknown_ids_are_not_found(self, repo):
        with pytest.raises(LoadBalancerNotFound):
            repo.get_one(uuid4())

    def test_live_names_are_unique_in_the_database_itself(self, owner):
        LoadBalancerRowFactory(name="shop", created_by=owner)
        with pytest.raises(IntegrityError), transaction.atomic():
            LoadBalancerRowFactory(name="shop", created_by=owner, provisioning_status="PENDING_CREATE")

        models.LoadBalancer.objects.update(provisioning_status="DELETED")

        LoadBalancerRowFactory(name="shop", created_by=owner, provisioning_status="PENDING_CREATE")
        assert models.LoadBalancer.objects.filter(name="shop").count() == 2

    def test_a_name_clash_the_service_missed_is_caught_by_the_constraint_as_name_taken(self, repo, owner):
        repo.create_one(new_lb(owner, [ServerFactory()]))

        with pytest.raises(NameTaken):
            repo.create_one(new_lb(owner, [ServerFactory()]))

    def test_only_the_live_name_constraint_reads_as_a_name_clash(self, owner):
        from loadbalancers.adapters.repositories import UNIQUE_LIVE_NAME, _violates

        lb = LoadBalancerRowFactory(name="shop", created_by=owner)
        server = ServerFactory()
        models.Member.objects.create(load_balancer=lb, server=server)
        with pytest.raises(IntegrityError) as name_clash, transaction.atomic():
            LoadBalancerRowFactory(name="shop", created_by=owner)
        with pytest.raises(IntegrityError) as member_twice, transaction.atomic():
            models.Member.objects.create(load_balancer=lb, server=server, position=1)

        assert _violates(name_clash.value, UNIQUE_LIVE_NAME)
        assert not _violates(member_twice.value, UNIQUE_LIVE_NAME)

    def test_pending_ones_not_looked_at_since_a_time(self, repo, owner):
        servers = [ServerFactory()]
        old = repo.create_one(new_lb(owner, servers, name="old"))
        checked = repo.create_one(new_lb(owner, servers, name="checked"))
        checked.mark_checked(timezone.now() + timedelta(minutes=5))
        repo.update_one(checked)
        done = repo.create_one(new_lb(owner, servers, name="done"))
        done.mark_error("x")
        repo.update_one(done)

        stuck = repo.get_list_pending(not_checked_since=timezone.now() + timedelta(minutes=1))

        assert [lb.id for lb in stuck] == [old.id]
        assert stuck[0].server_ids == (servers[0].pk,)


class TestUnitOfWork:
    def test_rolls_back_unless_committed(self, owner):
        with DjangoUnitOfWork(DjangoServerRepository, DjangoTeamRepository) as uow:
            uow.load_balancers.create_one(new_lb(owner, [ServerFactory()]))
        assert models.LoadBalancer.objects.count() == 0

        with DjangoUnitOfWork(DjangoServerRepository, DjangoTeamRepository) as uow:
            uow.load_balancers.create_one(new_lb(owner, [ServerFactory()]))
            uow.commit(by=OPS)
        assert models.LoadBalancer.objects.count() == 1

    def test_rolls_back_on_error_even_after_commit_was_called(self, owner):
        server = ServerFactory()

        def commit_then_fail():
            with DjangoUnitOfWork(DjangoServerRepository, DjangoTeamRepository) as uow:
                uow.load_balancers.create_one(new_lb(owner, [server]))
                uow.commit(by=OPS)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            commit_then_fail()
        assert models.LoadBalancer.objects.count() == 0


class TestServers:
    def test_round_trip_and_uniqueness(self):
        repo = DjangoServerRepository()
        stored = repo.create_one(Server.new(name="web-1", address="10.0.0.1", port=80))

        assert repo.get_one(stored.id) == stored
        with pytest.raises(ServerNameTaken):
            repo.create_one(Server.new(name="web-1", address="10.0.0.2", port=80))
        with pytest.raises(ServerAddressTaken):
            repo.create_one(Server.new(name="web-2", address="10.0.0.1", port=80))

    @pytest.mark.parametrize("server_id", [0, -1, 2**63, 2**80])
    def test_ids_no_database_can_hold_are_simply_not_found(self, server_id):
        repo = DjangoServerRepository()
        with pytest.raises(ServerNotFound):
            repo.get_one(server_id)
        assert repo.get_list([server_id]) == []

    def test_a_server_in_use_is_protected_by_the_service_and_by_the_database(self, repo, owner):
        server = ServerFactory()
        repo.create_one(new_lb(owner, [server]))

        with pytest.raises(ServerInUse) as in_use:
            servers_bootstrap.build().delete_one(OPS, server.pk)
        assert in_use.value.details == {"load_balancers": ["shop"]}
        with pytest.raises(ProtectedError):
            server.delete()

    def test_a_deleted_load_balancer_releases_its_servers(self, repo, owner):
        server = ServerFactory()
        lb = repo.create_one(new_lb(owner, [server]))
        lb.mark_error("x")
        repo.update_one(lb)
        lb.request_delete(now=timezone.now())
        repo.update_one(lb)
        lb.mark_deleted()
        repo.update_one(lb)

        servers_bootstrap.build().delete_one(OPS, server.pk)

        assert not ServerFactory._meta.model.objects.filter(pk=server.pk).exists()
        assert repo.get_one(lb.id).provisioning_status is ProvisioningStatus.DELETED

    def test_status_change_through_the_service(self):
        server = ServerFactory()
        assert servers_bootstrap.build().update_status(OPS, server.pk, "DOWN").status is ServerStatus.DOWN
