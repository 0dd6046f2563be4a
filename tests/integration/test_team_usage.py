"""Each team's count of live load balancers is the database's to keep (triggers): it
stays exact however the rows are written, and the quota check reads it."""

import pytest
from django.db import connection

from loadbalancers import models
from tests.factories import LoadBalancerRowFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def kept():
    return dict(
        models.TeamUsage.objects.filter(live_load_balancers__gt=0).values_list("team_id", "live_load_balancers")
    )


def counted():
    live = models.LoadBalancer.objects.exclude(provisioning_status="DELETED")
    found: dict[int, int] = {}
    for team_id in live.values_list("team_id", flat=True):
        found[team_id] = found.get(team_id, 0) + 1
    return found


def test_the_count_follows_every_kind_of_write():
    user = UserFactory()
    red, blue = TeamFactory(slug="red"), TeamFactory(slug="blue")
    rows = [LoadBalancerRowFactory(created_by=user, team=red) for _ in range(3)]
    LoadBalancerRowFactory(created_by=user, team=red, provisioning_status="DELETED")
    assert kept() == counted() == {red.pk: 3}

    steps = [
        lambda: models.LoadBalancer.objects.filter(pk=rows[0].pk).update(provisioning_status="PENDING_UPDATE"),
        lambda: models.LoadBalancer.objects.filter(pk=rows[0].pk).update(provisioning_status="DELETED"),
        lambda: models.LoadBalancer.objects.filter(pk=rows[1].pk).update(team=blue),
        lambda: models.LoadBalancer.objects.filter(pk=rows[0].pk).update(provisioning_status="ACTIVE", team=blue),
        lambda: models.LoadBalancer.objects.bulk_create(
            [models.LoadBalancer(**_fields(f"bulk-{n}", blue, user)) for n in range(4)]
        ),
        lambda: models.LoadBalancer.objects.filter(name__startswith="bulk-").update(provisioning_status="DELETED"),
        lambda: models.LoadBalancer.objects.filter(pk=rows[2].pk).delete(),
        lambda: models.LoadBalancer.objects.filter(provisioning_status="DELETED").delete(),
        lambda: _raw("UPDATE loadbalancers_loadbalancer SET provisioning_status = 'ERROR'"),
        # One statement over several teams, live and deleted rows mixed.
        lambda: models.LoadBalancer.objects.bulk_create(
            [
                models.LoadBalancer(**{**_fields(f"mixed-{n}", (red, blue)[n % 2], user), "provisioning_status": s})
                for n, s in enumerate(["ACTIVE", "DELETED", "ERROR", "ACTIVE", "PENDING_CREATE", "DELETED"])
            ]
        ),
        lambda: models.LoadBalancer.objects.filter(name__in=["mixed-0", "mixed-1", "mixed-2", "mixed-5"]).delete(),
    ]
    for number, step in enumerate(steps):
        step()
        assert kept() == counted(), f"after step {number}"
    assert kept() == {blue.pk: 3, red.pk: 1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement triggers are PostgreSQL's")
def test_postgresql_moves_the_counts_once_per_insert_or_delete_statement():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgtype & 1 FROM pg_trigger WHERE tgrelid = 'loadbalancers_loadbalancer'::regclass"
            " AND tgname LIKE 'loadbalancers_team_usage_%' ORDER BY tgname"
        )
        per_row = dict(cursor.fetchall())

    assert per_row == {  # 1: FOR EACH ROW, 0: FOR EACH STATEMENT
        "loadbalancers_team_usage_delete": 0,
        "loadbalancers_team_usage_insert": 0,
        "loadbalancers_team_usage_update": 1,
    }


def test_a_change_between_live_states_writes_no_count():
    lb = LoadBalancerRowFactory()
    before = models.TeamUsage.objects.get(team_id=lb.team_id)

    for status in ("PENDING_UPDATE", "ACTIVE", "ERROR", "PENDING_DELETE"):
        models.LoadBalancer.objects.filter(pk=lb.pk).update(provisioning_status=status)

    assert models.TeamUsage.objects.get(team_id=lb.team_id).live_load_balancers == before.live_load_balancers == 1


def test_the_quota_check_reads_it(alice_api, alice, settings):
    settings.TEAM_QUOTA_LOAD_BALANCERS = 2
    from tests.factories import ServerFactory, personal_team

    LoadBalancerRowFactory(created_by=alice, team=personal_team(alice))
    servers = [ServerFactory().pk]

    made = alice_api.post("/api/v1/load-balancers/", {"name": "second", "servers": servers}, format="json")
    refused = alice_api.post("/api/v1/load-balancers/", {"name": "third", "servers": servers}, format="json")

    assert made.status_code == 202
    assert refused.status_code == 403
    assert refused.json()["details"]["usage"] == 2


def _fields(name, team, user):
    return {
        "name": name,
        "team": team,
        "created_by": user,
        "listener_protocol": "HTTP",
        "listener_port": 80,
        "algorithm": "ROUND_ROBIN",
        "provisioning_status": "ACTIVE",
        "operating_status": "ONLINE",
        "provider": "sandbox",
    }


def _raw(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
