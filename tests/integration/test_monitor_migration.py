"""Migration 0008: load balancers made on the haproxy provider before monitors existed
keep the checks HAProxy ran for them; the others stay without a monitor.  Run from the
state before it, with rows made through the historical models, then forward to the
latest state (where the database is left)."""

import contextlib
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from loadbalancers.adapters.lbaas.haproxy import legacy_monitor
from loadbalancers.models import LoadBalancer

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("loadbalancers", "0007_member_settings_monitor_tags")]


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_haproxy_load_balancers_keep_their_checks_and_the_others_get_none():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        apps = executor.loader.project_state(BEFORE).apps
        team = apps.get_model("accounts", "Team").objects.create(slug="web", name="Web")
        rows = apps.get_model("loadbalancers", "LoadBalancer").objects
        common = {"team": team, "listener_port": 80, "algorithm": "ROUND_ROBIN", "operating_status": "ONLINE"}
        made = {
            name: rows.create(
                id=uuid.uuid4(),
                name=name,
                provider=provider,
                listener_protocol=protocol,
                provisioning_status=status,
                **common,
            ).pk
            for name, provider, protocol, status in [
                ("hap-http", "haproxy", "HTTP", "ACTIVE"),
                ("hap-tcp", "haproxy", "TCP", "ERROR"),
                ("hap-gone", "haproxy", "HTTP", "DELETED"),
                ("sbx", "sandbox", "HTTP", "ACTIVE"),
                ("aws", "elbv2", "TCP", "ACTIVE"),
            ]
        }
        chosen = rows.create(
            id=uuid.uuid4(),
            name="hap-own",
            provider="haproxy",
            listener_protocol="HTTP",
            provisioning_status="ACTIVE",
            health_monitor={"type": "TCP", "interval": 9, "timeout": 3, "retries_up": 2, "retries_down": 3},
            **common,
        ).pk

        migrate_to_latest()
    except BaseException:
        with contextlib.suppress(Exception):
            migrate_to_latest()
        raise

    monitors = {lb.name: lb.health_monitor for lb in LoadBalancer.objects.filter(pk__in=[*made.values(), chosen])}
    assert monitors == {
        "hap-http": legacy_monitor("HTTP").as_dict(),
        "hap-tcp": legacy_monitor("TCP").as_dict(),
        "hap-gone": None,
        "sbx": None,
        "aws": None,
        "hap-own": {"type": "TCP", "interval": 9, "timeout": 3, "retries_up": 2, "retries_down": 3},
    }
    LoadBalancer.objects.all().delete()
