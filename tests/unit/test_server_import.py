import pytest

from portal.kernel.errors import ValidationFailed
from servers.application.files import ImportLimits, csv_export, read_import
from servers.application.payloads import CreateServer, ImportRow, ImportServers
from servers.domain.errors import ImportTooLarge
from servers.domain.model import Server, ServerStatus
from tests.fakes import OPS

LIMITS = ImportLimits(max_bytes=10_000, max_rows=5)


def _csv(text: str) -> ImportServers:
    return read_import(text.encode(), "csv", LIMITS)


def _rows_failed(portal, payload) -> dict:
    with pytest.raises(ValidationFailed) as failed:
        portal.servers.import_batch(OPS, payload)
    return failed.value.details["rows"]


def test_a_good_file_creates_new_names_and_changes_known_ones(portal):
    kept = portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.1", port=80))
    portal.servers.create_one(OPS, CreateServer(name="web-2", address="10.0.0.2", port=80))
    portal.scheduler.take()

    result = portal.servers.import_batch(
        OPS,
        _csv("name,address,port,status\nweb-1,10.0.0.1,80,DOWN\nweb-2,10.0.0.2,80,\nweb-3,2001:DB8::3,8080,\n"),
    )

    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    rows = {s.name: s for s in portal.uow.servers.rows.values()}
    assert rows["web-1"].status == ServerStatus.DOWN
    assert rows["web-1"].id == kept.id
    assert (rows["web-3"].address, rows["web-3"].status) == ("2001:db8::3", ServerStatus.OK)
    # The same events as the single writes: the audit trail, and load balancers follow a status change.
    actions = [entry.action for entry in portal.trail.rows.values()]
    assert actions[-2:] == ["server.created", "server.status_changed"]
    assert ("follow_inventory", kept.id) in portal.scheduler.take()


def test_every_bad_row_is_reported_by_line_and_field_and_nothing_is_stored(portal):
    portal.servers.create_one(OPS, CreateServer(name="db-1", address="10.0.0.9", port=5432))
    before = dict(portal.uow.servers.rows)

    rows = _rows_failed(
        portal,
        _csv(
            "name,address,port\n"
            "web-1,10.0.0.1,80\n"  # good
            "Web 2,nowhere,0\n"  # line 3: three bad fields
            "web-3,10.0.0.3,http\n"  # line 4
            "web-1,10.0.0.4,80\n"  # line 5: name again
            "web-5,10.0.0.9,5432\n"  # line 6: db-1's address
        ),
    )

    assert set(rows) == {"3", "4", "5", "6"}
    assert set(rows["3"]) == {"name", "address", "port"}
    assert list(rows["4"]) == ["port"]
    assert "line 2" in rows["5"]["name"][0]
    assert "db-1" in rows["6"]["address"][0]
    assert portal.uow.servers.rows == before


def test_same_address_twice_in_the_file_and_id_that_disagrees_are_row_errors(portal):
    web = portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.1", port=80))

    rows = _rows_failed(
        portal,
        _csv(f"id,name,address,port\n{web.id + 1},web-1,10.0.0.1,80\n,web-2,10.0.0.7,80\n,web-3,10.0.0.7,80\n"),
    )

    assert list(rows) == ["2", "4"]
    assert "matched by name" in rows["2"]["id"][0]
    assert "line 3" in rows["4"]["address"][0]


def test_a_server_in_use_keeps_its_address(portal, monkeypatch):
    server = portal.servers.create_one(OPS, CreateServer(name="web-1", address="10.0.0.1", port=80))
    monkeypatch.setattr(portal.uow, "users_of", lambda server_id: ["shop"] if server_id == server.id else [])

    rows = _rows_failed(portal, _csv("name,address,port\nweb-1,10.0.0.2,80\n"))

    assert "shop" in rows["2"]["address"][0]
    assert portal.uow.servers.rows[server.id].address == "10.0.0.1"


def test_an_export_imports_back_unchanged(portal):
    for n in range(3):
        portal.servers.create_one(OPS, CreateServer(name=f"web-{n}", address=f"10.0.0.{n + 1}", port=80))
    exported = "".join(csv_export(portal.uow.servers.rows.values()))

    result = portal.servers.import_batch(OPS, read_import(exported.encode(), "csv", LIMITS))

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)


def test_json_rows_are_judged_as_the_api_judges_them(portal):
    payload = read_import(
        b'[{"name": "web-1", "address": "10.0.0.1", "port": 80}, {"name": "web-2", "address": "10.0.0.2", '
        b'"port": "80"}, [1], {"name": "web-4", "address": "10.0.0.4", "port": 80, "colour": "red"}]',
        "json",
        LIMITS,
    )

    rows = _rows_failed(portal, payload)

    assert list(rows) == ["2", "3", "4"]
    assert list(rows["2"]) == ["port"]
    assert list(rows["3"]) == ["row"]
    assert "colour" in rows["4"]["row"][0]
    assert portal.uow.servers.rows == {}


def test_cells_that_would_run_as_formulas_are_exported_with_an_apostrophe():
    server = Server(name="=cmd", address="10.0.0.1", port=80, id=1)

    lines = list(csv_export([server]))

    assert lines[0] == "id,name,address,port,status,created_at,updated_at\r\n"
    assert lines[1].startswith("1,'=cmd,10.0.0.1,80,OK")


@pytest.mark.parametrize(
    ("data", "file_format", "expected"),
    [
        (b"", "csv", "empty"),
        (b"\xef\xbb\xbf  \n", "csv", "empty"),
        (b"name,address,port\n", "csv", "only a header"),
        (b"name,address\nweb-1,10.0.0.1\n", "csv", "missing column(s): port"),
        (b"name,address,port,colour\n", "csv", "unknown column(s): 'colour'"),
        (b"name,name,address,port\n", "csv", "given twice"),
        (b"name,address,port\n\xff\xfe\n", "csv", "UTF-8"),
        (b'name,address,port\n"web-1,10.0.0.1\n', "csv", "line"),
        (b"name,address,port\n" + b"a,10.0.0.1,1\n" * 6, "csv", "more than 5"),
        (b'{"name": "x"}', "json", "expected a JSON list"),
        (b"[", "json", "not valid JSON"),
        (b"[]", "json", "empty"),
        (b"[" * 9_000, "json", "nested too deeply"),
        (b"[{}, {}, {}, {}, {}, {}]", "json", "more than 5"),
    ],
)
def test_files_that_cannot_be_read_are_refused_as_a_whole(data, file_format, expected):
    with pytest.raises(ValidationFailed) as failed:
        read_import(data, file_format, LIMITS)

    assert expected in failed.value.details["file"][0]


def test_files_over_the_size_limit_are_refused():
    with pytest.raises(ImportTooLarge):
        read_import(b"x" * 10_001, "csv", LIMITS)


def test_a_row_with_too_many_cells_is_a_row_error(portal):
    rows = _rows_failed(portal, _csv("name,address,port\nweb-1,10.0.0.1,80,extra\n"))

    assert "4 cell(s)" in rows["2"]["row"][0]


def test_an_empty_payload_is_refused(portal):
    with pytest.raises(ValidationFailed):
        portal.servers.import_batch(OPS, ImportServers(rows=()))
    assert ImportRow(line=1).problem is None
