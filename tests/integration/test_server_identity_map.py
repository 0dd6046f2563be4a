"""The servers a unit of work has locked are read once: they cannot change until it ends."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from servers.adapters.repositories import DjangoServerRepository
from tests.factories import ServerFactory

pytestmark = pytest.mark.django_db


def test_locked_servers_are_not_read_again_and_copies_are_handed_out():
    servers = ServerFactory.create_batch(3)
    ids = [s.pk for s in servers]
    repo = DjangoServerRepository()
    with transaction.atomic():
        locked = repo.get_list(ids[:2], for_update=True)
        with CaptureQueriesContext(connection) as queries:
            again = repo.get_list(ids)
        locked[0].name = "changed in the caller's copy"

        assert [s.id for s in again] == ids
        assert len(queries) == 1
        asked = re.search(r"IN \(([^)]*)\)", queries[0]["sql"]).group(1)
        assert [int(n) for n in asked.split(",")] == [ids[2]]  # only the server not locked yet
        assert repo.get_one(ids[0]).name == servers[0].name


def test_a_server_written_through_the_repository_is_read_again():
    server = ServerFactory()
    repo = DjangoServerRepository()
    with transaction.atomic():
        found = repo.get_one(server.pk, for_update=True)
        found.name = "renamed"
        repo.update_one(found)
        with CaptureQueriesContext(connection) as queries:
            assert repo.get_one(server.pk).name == "renamed"
        assert len(queries) == 1
