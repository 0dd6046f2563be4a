"""On the real database: a commit's events reach the audit trail together, stored with a
constant number of INSERT statements whatever their number, in order; an entry the
database refuses loses only itself."""

from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import bootstrap as audit_bootstrap
from audit.models import AuditEntry as AuditRow
from portal.kernel.actors import Actor
from servers import bootstrap as servers_bootstrap
from servers.application.files import read_import
from servers.models import Server

pytestmark = pytest.mark.django_db

OPS = Actor(user_id=None, username="ops", sees_all=True, changes_all=True)


def imported(rows: int, prefix: str) -> None:
    """``rows`` new servers in one import: one commit, one event each, heard by the
    subscribers the apps registered at start-up."""
    lines = ["name,address,port"] + [
        f"{prefix}-{n:03},10.{len(prefix)}.{n // 250}.{n % 250 + 1},80" for n in range(rows)
    ]
    payload = read_import("\n".join(lines).encode(), "csv", servers_bootstrap.import_limits())
    servers_bootstrap.build().import_batch(OPS, payload)


def audit_inserts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditentry"')]


@pytest.mark.parametrize("rows", [30, 60])
def test_a_commit_of_n_events_writes_n_entries_with_one_insert(rows):
    before = AuditRow.objects.count()

    with CaptureQueriesContext(connection) as queries:
        imported(rows, "web")

    assert len(audit_inserts(queries)) == 1
    entries = list(AuditRow.objects.order_by("id")[before:])
    assert len(entries) == rows
    ids = dict(Server.objects.values_list("name", "id"))
    assert [e.target_id for e in entries] == [str(ids[f"web-{n:03}"]) for n in range(rows)]
    assert {(e.action, e.actor, e.source) for e in entries} == {("server.created", "ops", "api")}


def test_twice_the_events_cost_no_more_inserts():
    with CaptureQueriesContext(connection) as few:
        imported(20, "few")
    with CaptureQueriesContext(connection) as more:
        imported(40, "more")

    assert len(audit_inserts(more)) == len(audit_inserts(few)) == 1


def test_an_entry_the_database_refuses_loses_only_itself(caplog):
    heard = []
    service = servers_bootstrap.build(subscribers={object: [heard.append]})
    lines = ["name,address,port"] + [f"app-{n},10.7.0.{n + 1},80" for n in range(4)]
    service.import_batch(OPS, read_import("\n".join(lines).encode(), "csv", servers_bootstrap.import_limits()))
    bad = replace(heard[1], context=replace(heard[1].context, at=None))  # NOT NULL
    before = AuditRow.objects.count()

    stored = audit_bootstrap.build().record_many([heard[0], bad, heard[2], heard[3]])

    assert [e.target_id for e in stored] == [heard[n].target_id for n in (0, 2, 3)]
    assert list(AuditRow.objects.order_by("id").values_list("target_id", flat=True)[before:]) == [
        heard[n].target_id for n in (0, 2, 3)
    ]
    assert "storing them one by one" in caplog.text
