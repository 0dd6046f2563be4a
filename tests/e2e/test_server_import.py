import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from servers.models import Server
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import ServerFactory, UserFactory

URL = "/api/v1/servers/"
IMPORT = "/api/v1/servers/import/"
GOOD = "name,address,port,status\nweb-1,10.0.0.1,80,DOWN\nweb-2,10.0.0.2,8080,\n"


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


# -- API import ------------------------------------------------------------------------------


def test_staff_import_a_csv_body_and_existing_names_are_changed(staff_api):
    ServerFactory(name="web-1", address="10.0.0.1", port=80, status="OK")

    answer = staff_api.post(IMPORT, GOOD, content_type="text/csv")

    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"created": 1, "updated": 1, "unchanged": 0}
    assert dict(Server.objects.values_list("name", "status")) == {"web-1": "DOWN", "web-2": "OK"}
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"server.created", "server.status_changed"} <= actions


def test_staff_import_an_uploaded_file_and_a_json_list(staff_api):
    upload = SimpleUploadedFile("servers.csv", GOOD.encode(), content_type="text/csv")
    assert staff_api.post(IMPORT, {"file": upload}, format="multipart").json()["created"] == 2

    items = [{"name": "web-3", "address": "10.0.0.3", "port": 80}]
    answer = staff_api.post(IMPORT, json.dumps(items), content_type="application/json")

    assert answer.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert Server.objects.count() == 3


def test_bad_rows_are_reported_by_line_and_field_and_nothing_is_stored(staff_api):
    body = "name,address,port\nweb-1,10.0.0.1,80\nweb-2,nowhere,80\nweb-3,10.0.0.3,99999\n"

    data = assert_error(staff_api.post(IMPORT, body, content_type="text/csv"), 400, "ValidationError", "rows")

    assert data["details"]["rows"].keys() == {"3", "4"}
    assert list(data["details"]["rows"]["3"]) == ["address"]
    assert list(data["details"]["rows"]["4"]) == ["port"]
    assert Server.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "text/csv"),
        (b"name,address\nweb-1,10.0.0.1\n", "text/csv"),
        (b"\xff\xfe\x00n\x00a", "text/csv"),
        (b"{", "application/json"),
        (b"name,address,port\nweb-1,10.0.0.1,80\n", "text/plain"),
    ],
)
def test_files_that_cannot_be_read_get_400(staff_api, body, content_type):
    assert_error(staff_api.post(IMPORT, body, content_type=content_type), 400, "ValidationError", "file")
    assert Server.objects.count() == 0


def test_limits_of_size_and_rows(staff_api, settings):
    settings.SERVER_IMPORT_MAX_BYTES = 2048
    settings.SERVER_IMPORT_MAX_ROWS = 3
    too_big = "name,address,port\n" + "web-1,10.0.0.1,80\n" * 200
    rows = "name,address,port\n" + "".join(f"web-{n},10.0.0.{n},80\n" for n in range(1, 5))

    assert_error(staff_api.post(IMPORT, too_big, content_type="text/csv"), 413, "ImportTooLarge", "file")
    upload = SimpleUploadedFile("servers.csv", too_big.encode())
    assert_error(staff_api.post(IMPORT, {"file": upload}, format="multipart"), 413, "ImportTooLarge")
    data = assert_error(staff_api.post(IMPORT, rows, content_type="text/csv"), 400, "ValidationError", "file")
    assert "more than 3" in data["message"]
    assert Server.objects.count() == 0


def test_only_staff_with_add_and_change_permissions_import(alice_api, db):
    assert_error(alice_api.post(IMPORT, GOOD, content_type="text/csv"), 403, "PermissionDenied")
    assert Server.objects.count() == 0


def test_an_import_refused_for_a_clash_never_fails_with_500(staff_api):
    ServerFactory(name="db-1", address="10.0.0.1", port=80)

    data = assert_error(staff_api.post(IMPORT, GOOD, content_type="text/csv"), 400, "ValidationError", "rows")

    assert "db-1" in data["details"]["rows"]["2"]["address"][0]


# -- API export ------------------------------------------------------------------------------


def test_csv_export_streams_every_matching_server_with_the_list_filters(alice_api):
    for n in range(60):
        ServerFactory(name=f"web-{n:02}", address=f"10.0.1.{n}", status="DOWN" if n % 2 else "OK")

    by_format = alice_api.get(f"{URL}?format=csv&status=DOWN&limit=5")
    by_accept = alice_api.get(f"{URL}?status=DOWN", HTTP_ACCEPT="text/csv")

    assert by_format.status_code == 200
    assert by_format["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(_body(by_format))))
    assert lines[0] == ["id", "name", "address", "port", "status", "created_at", "updated_at"]
    assert len(lines) == 31
    assert {line[4] for line in lines[1:]} == {"DOWN"}
    assert _body(by_accept) == "\r\n".join(",".join(line) for line in lines) + "\r\n"


def test_csv_export_with_bad_filters_answers_json_errors(alice_api):
    assert_error(alice_api.get(f"{URL}?format=csv&status=BROKEN"), 400, "ValidationError", "status")


def test_an_exported_file_imports_back_unchanged(staff_api):
    ServerFactory.create_batch(3)

    exported = _body(staff_api.get(f"{URL}?format=csv"))
    answer = staff_api.post(IMPORT, exported, content_type="text/csv")

    assert answer.json() == {"created": 0, "updated": 0, "unchanged": 3}


# -- the servers page --------------------------------------------------------------------


def test_the_page_links_to_exports_that_keep_its_filters(client, db):
    client.force_login(UserFactory(username="reader"))
    ServerFactory(name="web-1", address="10.0.0.1", status="DOWN")
    ServerFactory(name="web-2", address="10.0.0.2", status="OK")

    page = client.get("/servers/?status=DOWN&offset=0").content.decode()
    assert 'href="/servers/export.csv?status=DOWN"' in page
    assert 'href="/servers/export.json?status=DOWN"' in page

    exported = client.get("/servers/export.json?status=DOWN")
    assert [s["name"] for s in json.loads(_body(exported))] == ["web-1"]
    assert "web-2" not in _body(client.get("/servers/export.csv?status=DOWN"))


def test_the_page_export_with_bad_filters_goes_back_with_a_message(client, db):
    client.force_login(UserFactory(username="reader"))

    answer = client.get("/servers/export.csv?status=BROKEN", follow=True)

    assert answer.redirect_chain[-1][0] == "/servers/"
    assert "the list query is not valid: check status" in answer.content.decode()


# -- the admin ---------------------------------------------------------------------------


def test_admin_import_page_imports_a_file(ops_web):
    changelist = ops_web.get("/admin/servers/server/").content.decode()
    assert "/admin/servers/server/import/" in changelist

    upload = SimpleUploadedFile("servers.csv", GOOD.encode())
    answer = ops_web.post("/admin/servers/server/import/", {"file": upload}, follow=True)

    assert "2 created, 0 updated, 0 unchanged" in answer.content.decode()
    assert Server.objects.count() == 2


def test_admin_import_page_lists_every_bad_row_and_stores_nothing(ops_web):
    upload = SimpleUploadedFile("servers.csv", b"name,address,port\nweb-1,10.0.0.1,80\nBAD,10.0.0.2,0\n")

    page = ops_web.post("/admin/servers/server/import/", {"file": upload}).content.decode()

    assert 'id="import-errors"' in page
    assert "<td>3</td><td>name</td>" in page
    assert "<td>3</td><td>port</td>" in page
    assert Server.objects.count() == 0


def test_admin_import_needs_add_and_change_permissions(client, db):
    client.force_login(UserFactory(username="viewer", is_staff=True))

    assert client.get("/admin/servers/server/import/").status_code == 403


def test_admin_exports_the_filtered_changelist_and_the_selection(ops_web):
    down = ServerFactory(name="web-1", address="10.0.0.1", status="DOWN")
    ServerFactory(name="web-2", address="10.0.0.2", status="OK")

    filtered = _body(ops_web.get("/admin/servers/server/export/?status__exact=DOWN&format=csv"))
    assert "web-1" in filtered
    assert "web-2" not in filtered

    selected = ops_web.post("/admin/servers/server/", {"action": "export_json", "_selected_action": [down.pk]})
    assert [s["name"] for s in json.loads(_body(selected))] == ["web-1"]


def _servers_file(prefix: str, network: int, count: int, status: str) -> str:
    return "name,address,port,status\n" + "".join(
        f"{prefix}-{n:03},10.{network}.{n // 256}.{n % 256},80,{status}\n" for n in range(count)
    )


def test_an_import_costs_the_same_statements_for_few_or_many_servers(staff_api):
    """Servers created, then all set to one status, then one moved and the others set
    to another status: each kind of change costs a statement per chunk of servers, not
    one per server (and the audit trail and notifications hear the events in batches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements(body: str, expected: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            answer = staff_api.post(IMPORT, body, content_type="text/csv")
        assert answer.status_code == 200, answer.json()
        assert answer.json() == expected
        return len(captured)

    def costs(prefix: str, network: int, count: int) -> tuple[int, int, int]:
        created = statements(
            _servers_file(prefix, network, count, "OK"), {"created": count, "updated": 0, "unchanged": 0}
        )
        changed = statements(
            _servers_file(prefix, network, count, "MAINTENANCE"), {"created": 0, "updated": count, "unchanged": 0}
        )
        assert set(Server.objects.filter(name__startswith=prefix).values_list("status", flat=True)) == {"MAINTENANCE"}
        first = f"{prefix}-000,10.{network}.0.0,80,DOWN"
        mixed = _servers_file(prefix, network, count, "DOWN").replace(first, f"{prefix}-000,10.{network}.0.0,81,OK")
        moved = statements(mixed, {"created": 0, "updated": count, "unchanged": 0})
        assert Server.objects.get(name=f"{prefix}-000").port == 81
        assert Server.objects.filter(name__startswith=prefix, status="DOWN").count() == count - 1
        return created, changed, moved

    statements(_servers_file("warm", 7, 1, "OK"), {"created": 1, "updated": 0, "unchanged": 0})  # first-use lookups
    few, many = costs("few", 8, 10), costs("many", 9, 40)
    # 30 servers more cost no statement more, but for the audit trail's pruning, which
    # runs (a few statements) whenever entry ids pass a multiple of its interval.
    assert all(abs(more - less) <= 3 for less, more in zip(few, many, strict=True)), (few, many)
