"""Webhooks and e-mail choices through the API and the team's notifications pages: the
owners of a team manage its webhooks (the secret shown once, every change in the audit
trail), everyone else in the team is refused, anyone outside is told the team does
not exist; input of the wrong shape, URLs that lead into the portal's own network and
ids that name nothing are refused without storing anything; and a load balancer made
by a member becomes a delivery to the owner's webhook."""

from __future__ import annotations

import html
import ipaddress
import re
import socket

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Team
from notifications.models import Delivery, EmailPreference, Webhook
from tests.conftest import client_for
from tests.e2e.test_load_balancer_errors import assert_error
from tests.factories import ServerFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit/"
LBS = "/api/v1/load-balancers/"
HOOK_URL = "https://hooks.example.com/portal"
OUTPUT_FIELDS = {"id", "url", "event_types", "description", "enabled", "failures", "disabled_reason", "created_at"}

# What the name service answers in these tests: public names, and names that lead into
# the portal's own network (an IP address resolves to itself).
HOSTS = {
    "hooks.example.com": "93.184.216.34",
    "other.example.com": "93.184.216.35",
    "loopback.example.com": "127.0.0.1",
    "metadata.example.com": "169.254.169.254",
    "internal.example.com": "10.0.0.1",
}


def hooks(slug: str) -> str:
    return f"/api/v1/teams/{slug}/webhooks/"


def hook(slug: str, webhook_id: object) -> str:
    return f"/api/v1/teams/{slug}/webhooks/{webhook_id}/"


def email(slug: str) -> str:
    return f"/api/v1/teams/{slug}/email-preference/"


@pytest.fixture(autouse=True)
def resolver(monkeypatch, settings):
    """No real DNS: the names of HOSTS resolve as listed, others do not resolve."""
    settings.WEBHOOK_ALLOW_PRIVATE = False

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            if host not in HOSTS:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            address = HOSTS[host]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr("notifications.adapters.http.socket.getaddrinfo", getaddrinfo)


@pytest.fixture
def people(alice):  # type: ignore[no-untyped-def]
    """alice owns the team "alice"; mo is a member of it, vic a viewer; bob owns a team of his own."""
    team = Team.objects.get(slug="alice")
    return {
        "owner": alice,
        "member": add_member(team, UserFactory(username="mo", personal_team=False), "member"),
        "viewer": add_member(team, UserFactory(username="vic", personal_team=False), "viewer"),
        "outsider": UserFactory(username="bob"),
    }


@pytest.fixture
def owner_api(people) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(people["owner"])


def add_hook(api: APIClient, slug: str = "alice", **fields) -> dict:  # type: ignore[no-untyped-def]
    response = api.post(hooks(slug), {"url": HOOK_URL, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def audit_of(api: APIClient, webhook_id: int) -> list[dict]:
    response = api.get(AUDIT, {"target_type": "webhook", "target_id": str(webhook_id)})
    assert response.status_code == 200, response.content
    return response.json()["items"]


def stored() -> list[tuple]:
    return sorted(Webhook.objects.values_list("id", "team__slug", "url", "event_types", "enabled", "secret"))


# -- an owner's webhooks ------------------------------------------------------------------------------


def test_an_owner_adds_reads_changes_and_removes_a_webhook_and_every_change_is_audited(owner_api):
    created = owner_api.post(
        hooks("alice"),
        {"url": HOOK_URL, "event_types": ["load_balancer.error"], "description": "pager"},
        format="json",
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == OUTPUT_FIELDS | {"secret"}
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > len("whsec_") + 16
    assert (body["url"], body["event_types"], body["description"], body["enabled"], body["failures"]) == (
        HOOK_URL,
        ["load_balancer.error"],
        "pager",
        True,
        0,
    )
    row = Webhook.objects.get(pk=body["id"])
    assert (row.team.slug, row.secret) == ("alice", body["secret"])
    webhook_id, secret = body["id"], body["secret"]

    listed = owner_api.get(hooks("alice"))
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert [(item["id"], set(item)) for item in listed.json()["items"]] == [(webhook_id, OUTPUT_FIELDS)]
    detail = owner_api.get(hook("alice", webhook_id))
    assert detail.status_code == 200
    assert set(detail.json()) == OUTPUT_FIELDS
    for response in (listed, detail):
        assert secret not in response.content.decode()

    changed = owner_api.patch(
        hook("alice", webhook_id),
        {"url": "https://other.example.com/in", "event_types": ["*"], "enabled": False},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert set(changed.json()) == OUTPUT_FIELDS
    assert (changed.json()["url"], changed.json()["event_types"], changed.json()["enabled"]) == (
        "https://other.example.com/in",
        ["*"],
        False,
    )
    row.refresh_from_db()
    assert (row.url, row.event_types, row.enabled, row.secret) == ("https://other.example.com/in", ["*"], False, secret)

    deliveries = owner_api.get(f"{hook('alice', webhook_id)}deliveries/")
    assert deliveries.status_code == 200, deliveries.content
    assert (deliveries.json()["total"], deliveries.json()["items"]) == (0, [])

    assert owner_api.delete(hook("alice", webhook_id)).status_code == 204
    assert not Webhook.objects.filter(pk=webhook_id).exists()
    assert_error(owner_api.get(hook("alice", webhook_id)), 404, "WebhookNotFound")

    entries = audit_of(owner_api, webhook_id)
    assert [(e["action"], e["source"], e["actor"], e["team"]) for e in entries] == [
        ("webhook.deleted", "api", "alice", "alice"),
        ("webhook.updated", "api", "alice", "alice"),
        ("webhook.created", "api", "alice", "alice"),
    ]
    assert all(e["target"]["type"] == "webhook" and e["target"]["id"] == str(webhook_id) for e in entries)
    updated = {c["field"]: (c["before"], c["after"]) for c in entries[1]["changes"]}
    assert updated == {
        "url": ("https://hooks.example.com/…", "https://other.example.com/…"),  # the path may be a credential
        "event_types": (["load_balancer.error"], ["*"]),
        "enabled": (True, False),
    }
    created_changes = {c["field"]: c["after"] for c in entries[2]["changes"]}
    assert created_changes["url"] == "https://hooks.example.com/…"
    assert secret not in owner_api.get(AUDIT, {"target_type": "webhook"}).content.decode()


def test_a_patch_that_changes_nothing_is_not_audited(owner_api):
    webhook_id = add_hook(owner_api)["id"]

    same = owner_api.patch(hook("alice", webhook_id), {"url": HOOK_URL, "enabled": True}, format="json")

    assert same.status_code == 200, same.content
    assert [e["action"] for e in audit_of(owner_api, webhook_id)] == ["webhook.created"]


def test_a_webhook_with_a_secret_of_its_own_keeps_it(owner_api):
    body = add_hook(owner_api, secret="my-own-secret-0123456789")

    assert body["secret"] == "my-own-secret-0123456789"
    assert Webhook.objects.get(pk=body["id"]).secret == "my-own-secret-0123456789"


def test_a_private_address_is_accepted_when_the_setting_allows_it(owner_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True

    body = add_hook(owner_api, url="http://127.0.0.1:8099/hook")

    assert Webhook.objects.get(pk=body["id"]).url == "http://127.0.0.1:8099/hook"


# -- who may ---------------------------------------------------------------------------------------------


def every_request(api: APIClient, slug: str, webhook_id: int) -> dict[str, object]:
    return {
        "list": api.get(hooks(slug)),
        "detail": api.get(hook(slug, webhook_id)),
        "deliveries": api.get(f"{hook(slug, webhook_id)}deliveries/"),
        "create": api.post(hooks(slug), {"url": HOOK_URL}, format="json"),
        "change": api.patch(hook(slug, webhook_id), {"enabled": False}, format="json"),
        "remove": api.delete(hook(slug, webhook_id)),
    }


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_people_of_the_team_who_are_not_owners_may_not_see_or_manage_its_webhooks(people, owner_api, role):
    webhook_id = add_hook(owner_api)["id"]
    before = stored()

    for name, response in every_request(client_for(people[role]), "alice", webhook_id).items():
        data = assert_error(response, 403, "NotAllowed")
        assert data["details"]["needed"] == "owner", name
        assert data["details"]["role"] == role, name

    assert stored() == before


def test_someone_outside_the_team_is_told_it_does_not_exist(people, owner_api):
    webhook_id = add_hook(owner_api)["id"]
    before = stored()

    for name, response in every_request(client_for(people["outsider"]), "alice", webhook_id).items():
        assert response.status_code == 404, (name, response.content)
        assert response.json()["error"] == "TeamNotFound", name

    assert stored() == before


def test_a_team_that_does_not_exist_is_not_found(owner_api):
    for name, response in every_request(owner_api, "no-such-team", 1).items():
        assert response.status_code == 404, (name, response.content)


def secret_free(response) -> bool:  # type: ignore[no-untyped-def]
    return "whsec_" not in response.content.decode()


def test_without_credentials_nothing_is_answered(people, owner_api):
    webhook_id = add_hook(owner_api)["id"]
    before = stored()

    for name, response in every_request(APIClient(), "alice", webhook_id).items():
        assert response.status_code == 401, (name, response.content)
        assert secret_free(response)
    for response in (APIClient().get(email("alice")), APIClient().put(email("alice"), {"enabled": True}, "json")):
        assert response.status_code == 401

    assert stored() == before


def test_a_read_only_token_of_an_owner_reads_but_cannot_write(people, owner_api):
    webhook_id = add_hook(owner_api)["id"]
    before = stored()
    reader = client_for(people["owner"], write=False)

    assert reader.get(hooks("alice")).status_code == 200
    assert reader.get(hook("alice", webhook_id)).status_code == 200
    assert reader.get(f"{hook('alice', webhook_id)}deliveries/").status_code == 200
    for response in (
        reader.post(hooks("alice"), {"url": HOOK_URL}, format="json"),
        reader.patch(hook("alice", webhook_id), {"enabled": False}, format="json"),
        reader.delete(hook("alice", webhook_id)),
        reader.put(email("alice"), {"enabled": False}, format="json"),
    ):
        assert_error(response, 403, "ReadOnlyToken")

    assert stored() == before
    assert not EmailPreference.objects.exists()


def staff_with(*codenames: str) -> APIClient:
    """Operations staff with these permissions on notifications (and no role in any team)."""
    user = UserFactory(username="-".join(["ops", *codenames]), is_staff=True, personal_team=False)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="notifications", codename__in=codenames)
    )
    return client_for(user)


def test_operations_staff_see_a_team_webhooks_with_the_permission_to_view_them(owner_api):
    webhook_id = add_hook(owner_api)["id"]
    before = stored()

    assert staff_with().get(hook("alice", webhook_id)).status_code == 404  # without it: outsiders
    viewer = staff_with("view_webhook")
    assert viewer.get(hook("alice", webhook_id)).status_code == 200
    assert viewer.get(hooks("alice")).json()["total"] == 1
    assert_error(viewer.patch(hook("alice", webhook_id), {"enabled": False}, format="json"), 403, "NotAllowed")
    assert_error(viewer.post(hooks("alice"), {"url": HOOK_URL}, format="json"), 403, "NotAllowed")
    assert stored() == before


def test_operations_staff_with_the_permission_to_change_webhooks_manage_them(owner_api):
    webhook_id = add_hook(owner_api)["id"]
    changer = staff_with("view_webhook", "change_webhook")

    changed = changer.patch(hook("alice", webhook_id), {"enabled": False}, format="json")

    assert changed.status_code == 200, changed.content
    assert Webhook.objects.get(pk=webhook_id).enabled is False
    assert audit_of(owner_api, webhook_id)[0]["actor"] == "ops-view_webhook-change_webhook"


# -- bad input ---------------------------------------------------------------------------------------------

BAD_CREATES = [
    ("unknown field", {"url": HOOK_URL, "colour": "red"}, "colour"),
    ("read-only field", {"url": HOOK_URL, "failures": 0}, "failures"),
    ("url missing", {}, "url"),
    ("url empty", {"url": ""}, "url"),
    ("url a number", {"url": 42}, "url"),
    ("url null", {"url": None}, "url"),
    ("event_types a string", {"url": HOOK_URL, "event_types": "load_balancer.error"}, "event_types"),
    ("event_types empty", {"url": HOOK_URL, "event_types": []}, "event_types"),
    ("event_types numbers", {"url": HOOK_URL, "event_types": [1]}, "event_types"),
    ("event type unknown", {"url": HOOK_URL, "event_types": ["load_balancer.exploded"]}, "event_types"),
    ("event type twice", {"url": HOOK_URL, "event_types": ["webhook.created"] * 2}, "event_types"),
    ("enabled a string", {"url": HOOK_URL, "enabled": "yes"}, "enabled"),
    ("enabled a number", {"url": HOOK_URL, "enabled": 1}, "enabled"),
    ("description a number", {"url": HOOK_URL, "description": 7}, "description"),
    ("description too long", {"url": HOOK_URL, "description": "d" * 201}, "description"),
    ("secret too short", {"url": HOOK_URL, "secret": "short"}, "secret"),
    ("secret with a space", {"url": HOOK_URL, "secret": "a secret with spaces"}, "secret"),
    ("user and password", {"url": "http://user:pw@hooks.example.com/"}, "url"),
    ("ftp", {"url": "ftp://hooks.example.com/"}, "url"),
    ("no scheme", {"url": "hooks.example.com/in"}, "url"),
    ("javascript", {"url": "javascript:alert(1)"}, "url"),
    ("no host", {"url": "https:///path"}, "url"),
    ("bad port", {"url": "https://hooks.example.com:99999/"}, "url"),
    ("port 0", {"url": "https://hooks.example.com:0/"}, "url"),
    ("space in url", {"url": "https://hooks.example.com/a b"}, "url"),
    ("url too long", {"url": "https://hooks.example.com/" + "a" * 2000}, "url"),
    ("name that does not resolve", {"url": "https://nowhere.example.com/"}, "url"),
    ("loopback address", {"url": "http://127.0.0.1:8000/"}, "url"),
    ("name of a loopback address", {"url": "https://loopback.example.com/"}, "url"),
    ("metadata service", {"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
    ("name of the metadata service", {"url": "http://metadata.example.com/"}, "url"),
    ("private network", {"url": "http://10.0.0.1/"}, "url"),
    ("name in the private network", {"url": "https://internal.example.com/"}, "url"),
    ("IPv6 loopback", {"url": "http://[::1]/"}, "url"),
    ("IPv4-mapped loopback", {"url": "http://[::ffff:127.0.0.1]/"}, "url"),
    ("unspecified address", {"url": "http://0.0.0.0/"}, "url"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in BAD_CREATES], ids=[c[0] for c in BAD_CREATES])
def test_a_webhook_that_is_not_valid_is_refused_and_nothing_is_stored(owner_api, body, field):
    response = owner_api.post(hooks("alice"), body, format="json")

    assert_error(response, 400, "ValidationError", field=field)
    assert stored() == []
    assert owner_api.get(AUDIT, {"target_type": "webhook"}).json()["total"] == 0


@pytest.mark.parametrize(
    "raw",
    [b"", b"[]", b'"text"', b"null", b"{not json", b'{"url": "https://hooks.example.com/", "url": 1'],
    ids=["empty", "a list", "a string", "null", "not JSON", "truncated"],
)
def test_a_body_that_is_not_a_json_object_is_refused(owner_api, raw):
    response = owner_api.generic("POST", hooks("alice"), raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error", "message", "details"}
    assert stored() == []


BAD_CHANGES = [
    ("unknown field", {"colour": "red"}, "colour"),
    ("id", {"id": 5}, "id"),
    ("url a number", {"url": 42}, "url"),
    ("url empty", {"url": ""}, "url"),
    ("event_types a string", {"event_types": "*"}, "event_types"),
    ("event type unknown", {"event_types": ["nope"]}, "event_types"),
    ("enabled a string", {"enabled": "yes"}, "enabled"),
    ("enabled null", {"enabled": None}, "enabled"),
    ("user and password", {"url": "http://user:pw@hooks.example.com/"}, "url"),
    ("ftp", {"url": "ftp://hooks.example.com/"}, "url"),
    ("loopback", {"url": "http://127.0.0.1/"}, "url"),
    ("metadata service", {"url": "http://metadata.example.com/"}, "url"),
    ("private network", {"url": "http://10.0.0.1/"}, "url"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in BAD_CHANGES], ids=[c[0] for c in BAD_CHANGES])
def test_a_change_that_is_not_valid_is_refused_and_the_webhook_stays_as_it_was(owner_api, body, field):
    webhook_id = add_hook(owner_api)["id"]
    before = stored()

    response = owner_api.patch(hook("alice", webhook_id), {**body, "description": "changed"}, format="json")

    assert_error(response, 400, "ValidationError", field=field)
    assert stored() == before
    assert Webhook.objects.get(pk=webhook_id).description == ""
    assert [e["action"] for e in audit_of(owner_api, webhook_id)] == ["webhook.created"]


@pytest.mark.parametrize("webhook_id", ["abc", "99999999999", "0", "-1", "1.5", "%20", "99999"])
def test_a_webhook_id_that_names_nothing_is_not_found(owner_api, webhook_id):
    add_hook(owner_api)
    before = stored()

    for response in (
        owner_api.get(hook("alice", webhook_id)),
        owner_api.get(f"{hook('alice', webhook_id)}deliveries/"),
        owner_api.patch(hook("alice", webhook_id), {"enabled": False}, format="json"),
        owner_api.delete(hook("alice", webhook_id)),
    ):
        assert_error(response, 404, "WebhookNotFound")

    assert stored() == before


def test_another_team_webhook_is_not_found_through_ones_own_team(people, owner_api):
    bobs = add_hook(client_for(people["outsider"]), "bob")["id"]
    before = stored()

    for response in (
        owner_api.get(hook("alice", bobs)),
        owner_api.get(f"{hook('alice', bobs)}deliveries/"),
        owner_api.patch(hook("alice", bobs), {"enabled": False}, format="json"),
        owner_api.delete(hook("alice", bobs)),
    ):
        assert_error(response, 404, "WebhookNotFound")
    # Nor through the other team's address.
    assert owner_api.get(hook("bob", bobs)).status_code == 404

    assert stored() == before


def test_methods_the_endpoints_do_not_have_are_refused(owner_api):
    webhook_id = add_hook(owner_api)["id"]

    assert owner_api.put(hook("alice", webhook_id), {"url": HOOK_URL}, format="json").status_code == 405
    assert owner_api.delete(hooks("alice")).status_code == 405
    assert owner_api.post(f"{hook('alice', webhook_id)}deliveries/").status_code == 405
    assert owner_api.post(email("alice"), {"enabled": True}, format="json").status_code == 405


# -- e-mail preference ------------------------------------------------------------------------------------


def test_owners_get_the_team_emails_until_they_say_no_and_members_once_they_say_yes(people, owner_api):
    member = client_for(people["member"])

    assert owner_api.get(email("alice")).json() == {"enabled": True}
    assert member.get(email("alice")).json() == {"enabled": False}

    chosen = member.put(email("alice"), {"enabled": True}, format="json")

    assert chosen.status_code == 200, chosen.content
    assert chosen.json() == {"enabled": True}
    assert member.get(email("alice")).json() == {"enabled": True}
    assert owner_api.get(email("alice")).json() == {"enabled": True}  # theirs alone
    assert EmailPreference.objects.get(user=people["member"]).enabled is True

    entries = member.get(AUDIT, {"target_type": "notification_preference"}).json()["items"]
    assert [(e["action"], e["actor"], e["source"], e["team"]) for e in entries] == [
        ("notification_preference.updated", "mo", "api", "alice")
    ]
    assert [(c["field"], c["before"], c["after"]) for c in entries[0]["changes"]] == [("email", False, True)]

    # Saying it again changes nothing, and records nothing.
    assert member.put(email("alice"), {"enabled": True}, format="json").json() == {"enabled": True}
    assert member.get(AUDIT, {"target_type": "notification_preference"}).json()["total"] == 1

    assert owner_api.put(email("alice"), {"enabled": False}, format="json").json() == {"enabled": False}
    assert owner_api.get(email("alice")).json() == {"enabled": False}


def test_a_viewer_also_chooses_their_emails(people):
    viewer = client_for(people["viewer"])

    assert viewer.get(email("alice")).json() == {"enabled": False}
    assert viewer.put(email("alice"), {"enabled": True}, format="json").json() == {"enabled": True}


@pytest.mark.parametrize(
    "body",
    [{"enabled": "yes"}, {"enabled": 1}, {"enabled": None}, {}, {"enabled": True, "extra": 1}],
    ids=["a string", "a number", "null", "missing", "unknown field"],
)
def test_an_email_choice_that_is_not_true_or_false_is_refused(people, body):
    member = client_for(people["member"])

    response = member.put(email("alice"), body, format="json")

    data = assert_error(response, 400, "ValidationError")
    assert set(data["details"]) & {"enabled", "extra"}
    assert not EmailPreference.objects.exists()
    assert member.get(email("alice")).json() == {"enabled": False}


def test_someone_outside_the_team_has_no_email_choice_there(people):
    outsider = client_for(people["outsider"])

    assert outsider.get(email("alice")).status_code == 404
    assert outsider.put(email("alice"), {"enabled": True}, format="json").status_code == 404
    assert outsider.get(email("no-such-team")).status_code == 404
    assert not EmailPreference.objects.exists()


# -- the whole flow ------------------------------------------------------------------------------------------


def test_a_load_balancer_made_by_a_member_becomes_a_pending_delivery_to_the_owner_webhook(people, owner_api):
    webhook_id = add_hook(owner_api, event_types=["load_balancer.create_requested"])["id"]
    other_id = add_hook(owner_api, url="https://other.example.com/x", event_types=["load_balancer.error"])["id"]
    server = ServerFactory()

    created = client_for(people["member"]).post(
        LBS, {"name": "shop", "team": "alice", "servers": [server.pk]}, format="json"
    )
    assert created.status_code == 202, created.content
    lb_id = created.json()["id"]

    found = owner_api.get(f"{hook('alice', webhook_id)}deliveries/")
    assert found.status_code == 200, found.content
    items = found.json()["items"]
    assert [(d["action"], d["status"], d["attempts"]) for d in items] == [
        ("load_balancer.create_requested", "PENDING", 0)
    ]
    payload = Delivery.objects.get(pk=items[0]["id"]).payload
    assert payload["type"] == "load_balancer.create_requested"
    assert payload["team"] == "alice"
    assert payload["target"] == {"type": "load_balancer", "id": str(lb_id), "name": "shop"}
    assert (payload["actor"]["username"], payload["source"]) == ("mo", "api")
    assert payload["id"] == items[0]["event_id"]
    # The webhook that wants other events got none.
    assert owner_api.get(f"{hook('alice', other_id)}deliveries/").json()["items"] == []


def test_a_disabled_webhook_gets_no_deliveries(people, owner_api):
    webhook_id = add_hook(owner_api, event_types=["*"], enabled=False)["id"]

    created = client_for(people["member"]).post(
        LBS, {"name": "shop", "team": "alice", "servers": [ServerFactory().pk]}, format="json"
    )

    assert created.status_code == 202, created.content
    assert owner_api.get(f"{hook('alice', webhook_id)}deliveries/").json()["items"] == []


# -- the pages ---------------------------------------------------------------------------------------------


def web(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    """The page with its whitespace folded and its entities read, to look for phrases whole."""
    return " ".join(html.unescape(response.content.decode()).split())


PAGE = "/teams/alice/notifications/"


def test_the_owner_page_lists_the_webhooks_and_offers_the_form(people, owner_api):
    add_hook(owner_api, description="the pager")

    response = web(people["owner"]).get(PAGE)

    assert response.status_code == 200
    page = text(response)
    assert HOOK_URL in page
    assert "the pager" in page
    assert 'action="/teams/alice/notifications/webhooks/add/"' in page
    assert "Add the webhook" in page
    assert "whsec_" not in page
    assert "Stop e-mailing me" in page  # an owner gets the e-mails


def test_adding_a_webhook_through_the_form_shows_its_secret_once(people):
    owner = web(people["owner"])

    response = owner.post(
        f"{PAGE}webhooks/add/",
        {"url": HOOK_URL, "event_types": ["load_balancer.error", "server.status_changed"], "description": "ops"},
        follow=True,
    )

    assert response.status_code == 200
    row = Webhook.objects.get()
    assert (row.url, row.event_types, row.description, row.team.slug) == (
        HOOK_URL,
        ["load_balancer.error", "server.status_changed"],
        "ops",
        "alice",
    )
    assert row.secret.startswith("whsec_")
    assert f"Webhook {row.id} added." in text(response)
    assert row.secret in text(response)
    again = owner.get(PAGE)
    assert row.secret not in text(again)
    entry = client_for(people["owner"]).get(AUDIT, {"target_type": "webhook"}).json()["items"][0]
    assert (entry["action"], entry["source"]) == ("webhook.created", "page")


def test_a_form_without_events_ticked_wants_every_event(people):
    web(people["owner"]).post(f"{PAGE}webhooks/add/", {"url": HOOK_URL})

    assert Webhook.objects.get().event_types == ["*"]


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/", "http://user:pw@hooks.example.com/", "http://169.254.169.254/", "not a url", ""],
)
def test_a_bad_url_in_the_form_is_shown_next_to_the_url_field(people, url):
    response = web(people["owner"]).post(f"{PAGE}webhooks/add/", {"url": url, "description": "kept"})

    assert response.status_code == 400
    page = response.content.decode()
    field = re.search(
        r'<div class="field has-error">\s*<label for="id_url">.*?<input [^>]*id="id_url"[^>]*>', page, re.S
    )
    assert field, "the URL field is not marked as in error"
    assert 'class="field-error"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert 'value="kept"' in page  # what was typed stays
    assert not Webhook.objects.exists()


def test_the_buttons_disable_enable_and_remove_a_webhook(people, owner_api):
    webhook_id = add_hook(owner_api)["id"]
    owner = web(people["owner"])
    base = f"{PAGE}webhooks/{webhook_id}/"

    disabled = owner.post(f"{base}enable/", {"enabled": "false"}, follow=True)
    assert f"Webhook {webhook_id} disabled." in text(disabled)
    assert Webhook.objects.get().enabled is False
    assert "Enable" in text(disabled)

    enabled = owner.post(f"{base}enable/", {"enabled": "true"}, follow=True)
    assert f"Webhook {webhook_id} enabled." in text(enabled)
    assert Webhook.objects.get().enabled is True

    nonsense = owner.post(f"{base}enable/", {"enabled": "maybe"}, follow=True)
    assert "Nothing was changed" in text(nonsense)
    assert Webhook.objects.get().enabled is True

    removed = owner.post(f"{base}delete/", follow=True)
    assert f"Webhook {webhook_id} removed." in text(removed)
    assert not Webhook.objects.exists()
    assert owner.post(f"{base}delete/").status_code == 404

    actions = [e["action"] for e in audit_of(owner_api, webhook_id)]
    assert actions == ["webhook.deleted", "webhook.updated", "webhook.updated", "webhook.created"]


def test_a_member_turns_the_team_emails_on_and_off_on_the_page(people):
    member = web(people["member"])
    assert "E-mail me" in text(member.get(PAGE))

    on = member.post(f"{PAGE}email/", {"enabled": "true"}, follow=True)

    assert "You will get this team's e-mails." in text(on)
    assert "Stop e-mailing me" in text(on)
    assert EmailPreference.objects.get(user=people["member"]).enabled is True

    off = member.post(f"{PAGE}email/", {"enabled": "false"}, follow=True)
    assert "No more e-mails from this team." in text(off)
    assert EmailPreference.objects.get(user=people["member"]).enabled is False


def test_a_member_sees_no_webhooks_and_cannot_add_one_through_the_form(people, owner_api):
    add_hook(owner_api)
    member = web(people["member"])

    page = member.get(PAGE)

    assert page.status_code == 200
    assert "The team's owners manage its webhooks." in text(page)
    assert HOOK_URL not in text(page)
    assert "webhooks/add/" not in text(page)
    before = stored()
    refused = member.post(f"{PAGE}webhooks/add/", {"url": "https://other.example.com/"})
    assert refused.status_code == 403
    assert "only owners of team alice may add webhooks" in text(refused)
    webhook_id = Webhook.objects.get().pk
    for action, data in (("delete", {}), ("enable", {"enabled": "false"})):
        answer = member.post(f"{PAGE}webhooks/{webhook_id}/{action}/", data, follow=True)
        assert "Nothing was changed: only owners of team alice may" in text(answer), action
    assert stored() == before
    assert member.get(f"{PAGE}webhooks/{webhook_id}/").status_code == 403


def test_someone_outside_the_team_gets_not_found_on_every_page(people, owner_api):
    webhook_id = add_hook(owner_api)["id"]
    outsider = web(people["outsider"])
    before = stored()

    assert outsider.get(PAGE).status_code == 404
    assert outsider.get(f"{PAGE}webhooks/{webhook_id}/").status_code == 404
    assert outsider.post(f"{PAGE}webhooks/add/", {"url": HOOK_URL}).status_code == 404
    assert outsider.post(f"{PAGE}webhooks/{webhook_id}/enable/", {"enabled": "false"}).status_code == 404
    assert outsider.post(f"{PAGE}webhooks/{webhook_id}/delete/").status_code == 404
    assert outsider.post(f"{PAGE}email/", {"enabled": "true"}).status_code == 404
    assert stored() == before
    assert not EmailPreference.objects.exists()


def test_the_pages_ask_for_a_sign_in(people):
    response = Client().get(PAGE)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_another_team_webhook_is_not_found_on_ones_own_team_page(people, owner_api):
    bobs = add_hook(client_for(people["outsider"]), "bob")["id"]
    owner = web(people["owner"])
    before = stored()

    assert owner.get(f"{PAGE}webhooks/{bobs}/").status_code == 404
    assert owner.post(f"{PAGE}webhooks/{bobs}/enable/", {"enabled": "false"}).status_code == 404
    assert owner.post(f"{PAGE}webhooks/{bobs}/delete/").status_code == 404
    assert stored() == before


def test_the_webhook_page_lists_its_deliveries(people, owner_api):
    webhook_id = add_hook(owner_api, event_types=["load_balancer.create_requested"])["id"]
    owner = web(people["owner"])
    assert "Nothing sent yet." in text(owner.get(f"{PAGE}webhooks/{webhook_id}/"))

    client_for(people["member"]).post(
        LBS, {"name": "shop", "team": "alice", "servers": [ServerFactory().pk]}, format="json"
    )
    page = owner.get(f"{PAGE}webhooks/{webhook_id}/")

    assert page.status_code == 200
    shown = text(page)
    assert HOOK_URL in shown
    assert re.search(r"<td[^>]*>load_balancer.create_requested</td> <td>PENDING</td> <td>0</td>", shown), shown
    assert "Nothing sent yet." not in shown
