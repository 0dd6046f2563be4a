"""Hostile input on every HTML form, list page and admin changelist: a fixed set of
values (the same on every run) sent to each field and parameter, one at a time.  Whatever
is sent, the answer is never a 5xx; input that is refused changes nothing, and input that
is accepted is stored as sent.  Run it on PostgreSQL too (DATABASE_URL): it refuses some
text (NUL) that SQLite stores."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, quote_from_bytes, urlparse

import pytest
from django.core.cache import cache
from django.test import Client

from loadbalancers.models import LoadBalancer
from servers.models import Server
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory

pytestmark = pytest.mark.django_db

# Raw bytes, as a browser (or anyone) can put them on the wire.
HOSTILE: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("blank", b"   "),
    ("nul", b"\x00"),
    ("nul-inside", b"web\x00-1"),
    ("lone-surrogate", b"\xed\xa0\x80"),  # U+D800 as UTF-8 would write it, which is not UTF-8
    ("not-utf-8", b"\xff\xfe\xc0"),
    ("unicode", "ünïcødé-名前-🚀\u202e".encode()),
    ("negative", b"-1"),
    ("zero", b"0"),
    ("huge-number", b"9" * 400),
    ("past-int64", b"9223372036854775808"),
    ("float", b"1e309"),
    ("sql", b"1' OR '1'='1'; DROP TABLE servers_server; --"),
    ("html", b'"><script>alert(1)</script>'),
    ("like-wildcards", b"%_\\"),
    ("format-codes", b"{0}%s%n%(x)s"),
    ("newlines", b"a\r\nb"),
    ("off-site", b"//evil.example/"),
    ("long", b"x" * 100_000),
    ("beyond-upload-limit", b"x" * 300_000),
]


def encode(fields: dict[str, bytes | str | list[bytes | str]]) -> bytes:
    """An application/x-www-form-urlencoded body (or query string) of raw values."""
    pairs = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            raw = item if isinstance(item, bytes) else item.encode()
            pairs.append(f"{quote(name)}={quote_from_bytes(raw, safe='')}")
    return "&".join(pairs).encode()


def post(client: Client, path: str, fields: dict) -> object:
    return client.post(path, encode(fields), content_type="application/x-www-form-urlencoded")


def get(client: Client, path: str, fields: dict) -> object:
    return client.get(f"{path}?{encode(fields).decode()}")


def each_hostile_value(send: Callable[[bytes], object], check: Callable[[bytes, object], object]) -> None:
    """Sends every hostile value; collects every one that got a 5xx or failed the check."""
    problems = []
    for label, raw in HOSTILE:
        cache.clear()  # rate limits and failed sign-ins count per test, not across values
        response = send(raw)
        if response.status_code >= 500:
            problems.append(f"{label}: {response.status_code}")
            continue
        try:
            check(raw, response)
        except AssertionError as failed:
            problems.append(f"{label}: {response.status_code} {failed}")
    assert not problems, problems


def text(raw: bytes) -> str:
    """What Django reads from the raw bytes of a form field."""
    return raw.decode("utf-8", "replace")


def web_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def alice_web(alice):
    return web_for(alice)


@pytest.fixture
def ops_web(db):
    return web_for(UserFactory(username="root", is_staff=True, is_superuser=True))


# -- the self-service forms ----------------------------------------------------------------

CREATE_FIELDS = ["name", "description", "listener_protocol", "listener_port", "algorithm", "servers", "provider"]


@pytest.mark.parametrize("field", CREATE_FIELDS)
def test_the_create_form(alice_web, field):
    server = ServerFactory()
    valid = {
        "name": "shop",
        "description": "",
        "listener_protocol": "HTTP",
        "listener_port": "80",
        "algorithm": "ROUND_ROBIN",
        "servers": [str(server.pk)],
        "provider": "sandbox",
    }

    def send(raw):
        return post(alice_web, "/load-balancers/new/", {**valid, field: [raw] if field == "servers" else raw})

    def check(raw, response):
        created = list(LoadBalancer.objects.all())
        if response.status_code == 302:  # accepted: stored as sent
            [lb] = created
            if field in ("name", "description"):
                assert getattr(lb, field) == text(raw)
            LoadBalancer.objects.all().delete()
        else:
            assert created == [], "refused, but stored"

    each_hostile_value(send, check)


@pytest.mark.parametrize("field", ["servers", "algorithm", "description", "version"])
def test_the_edit_form(alice_web, alice, field):
    server = ServerFactory()

    def send(raw):
        lb = LoadBalancerRowFactory(created_by=alice, description="before")
        lb.members.create(server=server)
        valid = {"servers": [str(server.pk)], "algorithm": "ROUND_ROBIN", "description": "before", "version": "1"}
        send.lb = lb
        return post(alice_web, f"/load-balancers/{lb.pk}/edit/", {**valid, field: [raw] if field == "servers" else raw})

    def check(raw, response):
        lb = LoadBalancer.objects.get(pk=send.lb.pk)
        if response.status_code == 302 and lb.provisioning_status == "PENDING_UPDATE":  # accepted
            if field == "description":
                assert lb.description == text(raw)
        else:
            assert (lb.provisioning_status, lb.version, lb.description, lb.algorithm) == (
                "ACTIVE",
                1,
                "before",
                "ROUND_ROBIN",
            ), "refused, but changed"
            assert list(lb.members.values_list("server_id", flat=True)) == [server.pk]

    each_hostile_value(send, check)


@pytest.mark.parametrize("action", ["", "edit/", "delete/"])
def test_the_load_balancer_pages_with_a_hostile_id(alice_web, alice, action):
    lb = LoadBalancerRowFactory(created_by=alice)

    def send(raw):
        path = f"/load-balancers/{quote_from_bytes(raw, safe='')}/{action}"
        return post(alice_web, path, {"version": raw}) if action else alice_web.get(path)

    def check(raw, response):
        assert response.status_code in (404, 405), "a hostile id found something"
        lb.refresh_from_db()
        assert lb.provisioning_status == "ACTIVE"

    each_hostile_value(send, check)


# -- signing in ----------------------------------------------------------------------------

SIGN_IN_PAGES = ["/accounts/login/", "/admin/login/", "/api-auth/login/"]


@pytest.mark.parametrize("field", ["username", "password", "next"])
@pytest.mark.parametrize("path", SIGN_IN_PAGES)
def test_the_sign_in_forms(db, path, field):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    valid = {"username": "root", "password": "secret-password", "next": "/servers/"}
    clients = []

    def send(raw):
        clients.append(Client(raise_request_exception=False))
        return post(clients[-1], path, {**valid, field: raw})

    def check(raw, response):
        signed_in = "_auth_user_id" in clients[-1].session
        if response.status_code == 400:  # the whole request refused (too large)
            assert not signed_in, "signed in by a refused request"
        elif field == "next":  # the right password: in, but never sent elsewhere
            assert signed_in, "the right password was refused"
            assert response.status_code == 302
            assert urlparse(response["Location"]).netloc in ("", "testserver"), response["Location"]
        else:
            assert not signed_in, "signed in with a wrong username or password"
            assert response.status_code in (200, 400)

    each_hostile_value(send, check)


# -- list pages ------------------------------------------------------------------------------

LIST_PARAMETERS = [
    ("/load-balancers/", name)
    for name in ("limit", "offset", "sort_by", "sort_direction", "search", "provisioning_status", "operating_status")
] + [("/servers/", name) for name in ("limit", "offset", "sort_by", "sort_direction", "search", "status")]


@pytest.mark.parametrize(("path", "name"), LIST_PARAMETERS)
def test_the_list_pages(alice_web, alice, path, name):
    LoadBalancerRowFactory(created_by=alice)
    ServerFactory()

    def check(raw, response):
        assert response.status_code == 200  # a bad filter is a message on the page

    each_hostile_value(lambda raw: get(alice_web, path, {name: raw}), check)


# -- the admin ---------------------------------------------------------------------------------

LB_ADMIN = "/admin/loadbalancers/loadbalancer/"
SERVER_ADMIN = "/admin/servers/server/"
CHANGELIST_PARAMETERS = [
    (LB_ADMIN, name)
    for name in (
        "provisioning_status__exact",
        "operating_status__exact",
        "provider",
        "team",
        "q",
        "o",
        "p",
        "all",
        "e",
        "_to_field",
        "name__startswith",
    )
] + [(SERVER_ADMIN, name) for name in ("status__exact", "status", "q", "o", "p", "_popup")]


@pytest.mark.parametrize(("path", "name"), CHANGELIST_PARAMETERS)
def test_the_admin_changelist_filters_search_and_ordering(ops_web, path, name):
    LoadBalancerRowFactory()
    ServerFactory()

    def check(raw, response):
        # a list, a redirect to the unfiltered one (?e=1), or a 400 for a lookup it refuses
        assert response.status_code in (200, 302, 400)

    each_hostile_value(lambda raw: get(ops_web, path, {name: raw}), check)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (LB_ADMIN, "action"),
        (LB_ADMIN, "_selected_action"),
        (SERVER_ADMIN, "action"),
        (SERVER_ADMIN, "_selected_action"),
    ],
)
def test_the_admin_actions(ops_web, path, field):
    lb = LoadBalancerRowFactory(provisioning_status="ERROR")
    server = ServerFactory()
    selected = str(lb.pk) if path == LB_ADMIN else str(server.pk)
    valid = {"action": "delete_through_provider" if path == LB_ADMIN else "mark_down", "_selected_action": selected}

    def check(raw, response):
        lb.refresh_from_db()
        server.refresh_from_db()
        assert (lb.provisioning_status, server.status) == ("ERROR", "OK"), "refused, but changed"

    each_hostile_value(lambda raw: post(ops_web, path, {**valid, field: raw, "index": "0"}), check)


@pytest.mark.parametrize("field", ["name", "address", "port", "status"])
def test_the_admin_server_form(ops_web, field):
    valid = {"name": "web-new", "address": "10.9.9.9", "port": "80", "status": "OK"}

    def check(raw, response):
        stored = list(Server.objects.all())
        if response.status_code == 302:  # accepted: stored as sent
            [server] = stored
            assert str(getattr(server, field)) == text(raw).strip()
            Server.objects.all().delete()
        else:
            assert stored == [], "refused, but stored"

    each_hostile_value(lambda raw: post(ops_web, f"{SERVER_ADMIN}add/", {**valid, field: raw}), check)


@pytest.mark.parametrize("page", ["change/", "delete/", "history/"])
@pytest.mark.parametrize("path", [LB_ADMIN, SERVER_ADMIN])
def test_the_admin_object_pages_with_a_hostile_id(ops_web, path, page):
    ServerFactory()

    def check(raw, response):
        assert response.status_code in (200, 302, 403, 404)
        assert Server.objects.count() == 1

    each_hostile_value(lambda raw: ops_web.get(f"{path}{quote_from_bytes(raw, safe='')}/{page}"), check)
