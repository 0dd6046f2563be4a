"""Webhooks and e-mails against in-memory fakes: who manages webhooks, which URLs are
refused (SSRF, at creation and at send time), which events become which deliveries,
how deliveries are signed, retried, given up and skipped, when a failing webhook is
disabled, and who is e-mailed about which problems."""

import hashlib
import hmac
import json
from dataclasses import replace

import pytest

from accounts.domain.model import Role
from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from notifications import bootstrap as notifications_bootstrap
from notifications.application.payloads import CreateWebhook, UpdateWebhook
from notifications.domain.errors import DeliveryFailed, NotOwner, TeamNotFound, UrlRefused, WebhookNotFound
from notifications.domain.model import SIGNATURE_HEADER, DeliveryPolicy, DeliveryStatus
from portal.kernel.actors import Actor, Source
from portal.kernel.errors import ValidationFailed
from portal.kernel.events import known_actions
from servers.domain.model import ServerStatus
from tests.fakes import OPS, FakeServerUsers, FakeSubscriptions

PUBLIC_URL = "https://hooks.example.com/in"
SECRET = "s3cret-of-the-hook-0123456789"
LB_CREATED = "load_balancer.create_requested"


def add_webhook(portal, actor, slug="web", **fields):
    payload = {"url": PUBLIC_URL, "secret": SECRET, "event_types": [LB_CREATED], **fields}
    return portal.notifications.webhooks.create_one(actor, slug, CreateWebhook(**payload))


def create_lb(portal, actor, name="shop", team="web", servers=None):
    servers = servers if servers is not None else [portal.add_server()]
    return portal.load_balancers.create_one(actor, CreateLoadBalancer(name=name, servers=servers, team=team))


def with_policy(portal, policy):
    """The portal's notifications built again with another delivery policy."""
    portal.delivery_policy = policy
    portal.notifications = notifications_bootstrap.build(
        unit_of_work=portal.uow.using,
        subscriptions=FakeSubscriptions(portal.uow),
        teams=portal.directory,
        server_users=FakeServerUsers(portal.uow),
        resolver=portal.resolver,
        sender=portal.sender,
        scheduler=portal.outbox,
        policy=policy,
        clock=portal.clock,
        known_actions=known_actions,
        subscribers=portal.subscribers,
    )
    return portal


def forget_deliveries(portal):
    portal.uow.deliveries.rows.clear()
    portal.outbox.deliveries.clear()


def deliveries(portal):
    return sorted(portal.uow.deliveries.rows.values(), key=lambda d: d.id)


def deliver(portal, delivery_id):
    return portal.notifications.deliveries.deliver(delivery_id)


def verify(secret, header, body):
    """What the README tells receivers to do (without the freshness check)."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]), int(fields["t"])


@pytest.fixture
def web(portal):
    """Team "web": alice owns it, bob is a member, carol a viewer."""
    return portal.add_team("web", {1: Role.OWNER, 2: Role.MEMBER, 5: Role.VIEWER})


@pytest.fixture
def owner(portal, web):
    return portal.actor(1)


@pytest.fixture
def member(portal, web):
    return portal.actor(2)


@pytest.fixture
def viewer(portal, web):
    return portal.actor(5)


@pytest.fixture
def outsider(portal, web):
    portal.usernames[6] = "dave"
    return portal.actor(6)


# -- who manages webhooks -----------------------------------------------------------------------


class TestWebhookAccess:
    def test_an_owner_adds_lists_changes_and_removes_a_webhook_each_recorded(self, portal, owner):
        service = portal.notifications.webhooks

        hook = add_webhook(portal, owner, description="ops channel")
        assert [w.id for w in service.get_list(owner, "web")] == [hook.id]
        changed = service.update_one(owner, "web", hook.id, UpdateWebhook(description="chat", event_types=["*"]))
        assert (changed.description, changed.event_types) == ("chat", ("*",))
        service.delete_one(owner, "web", hook.id)

        assert portal.uow.webhooks.rows == {}
        assert [e.action for e in portal.entries(target_type="webhook")] == [
            "webhook.created",
            "webhook.updated",
            "webhook.deleted",
        ]
        assert all(e.actor == "alice" for e in portal.entries(target_type="webhook"))

    def test_the_secret_is_never_written_to_the_trail(self, portal, owner):
        hook = add_webhook(portal, owner)
        portal.notifications.webhooks.update_one(owner, "web", hook.id, UpdateWebhook(secret="another-secret-1234567"))

        entries = portal.entries(target_type="webhook")
        assert any(c.field == "secret" for c in entries[-1].changes)
        assert not any(SECRET in repr(e) or "another-secret-1234567" in repr(e) for e in entries)

    @pytest.mark.parametrize("who", ["member", "viewer"])
    @pytest.mark.parametrize("operation", ["list", "get", "create", "update", "delete"])
    def test_members_and_viewers_are_not_allowed(self, portal, owner, request, who, operation):
        hook = add_webhook(portal, owner)
        actor = request.getfixturevalue(who)
        service = portal.notifications.webhooks
        calls = {
            "list": lambda: service.get_list(actor, "web"),
            "get": lambda: service.get_one(actor, "web", hook.id),
            "create": lambda: service.create_one(actor, "web", CreateWebhook(url=PUBLIC_URL)),
            "update": lambda: service.update_one(actor, "web", hook.id, UpdateWebhook(description="x")),
            "delete": lambda: service.delete_one(actor, "web", hook.id),
        }
        rows = dict(portal.uow.webhooks.rows)

        with pytest.raises(NotOwner) as refused:
            calls[operation]()

        assert refused.value.status_code == 403
        assert refused.value.name == "NotAllowed"
        assert refused.value.details["role"] == ("member" if who == "member" else "viewer")
        assert portal.uow.webhooks.rows == rows

    def test_someone_outside_the_team_is_told_it_does_not_exist(self, portal, owner, outsider):
        hook = add_webhook(portal, owner)
        service = portal.notifications.webhooks

        for call in (
            lambda: service.get_list(outsider, "web"),
            lambda: service.get_one(outsider, "web", hook.id),
            lambda: service.create_one(outsider, "web", CreateWebhook(url=PUBLIC_URL)),
            lambda: service.delete_one(outsider, "web", hook.id),
            lambda: service.get_list(owner, "no-such-team"),
        ):
            with pytest.raises(TeamNotFound) as missing:
                call()
            assert missing.value.status_code == 404
        assert list(portal.uow.webhooks.rows) == [hook.id]

    def test_a_webhook_of_another_team_is_not_found_through_this_one(self, portal, owner):
        bobs = add_webhook(portal, portal.actor(2), slug="bob")

        with pytest.raises(WebhookNotFound):
            portal.notifications.webhooks.get_one(owner, "web", bobs.id)
        with pytest.raises(WebhookNotFound):
            portal.notifications.webhooks.delete_one(owner, "web", bobs.id)
        assert bobs.id in portal.uow.webhooks.rows

    def test_operations_who_see_all_may_read_but_only_those_who_change_all_may_change(self, portal, owner):
        hook = add_webhook(portal, owner)
        auditor = Actor(user_id=4, username="auditor", sees_all=True)
        service = portal.notifications.webhooks

        assert [w.id for w in service.get_list(auditor, "web")] == [hook.id]
        assert service.get_one(auditor, "web", hook.id).id == hook.id
        with pytest.raises(NotOwner):
            service.update_one(auditor, "web", hook.id, UpdateWebhook(description="x"))
        with pytest.raises(NotOwner):
            service.create_one(auditor, "web", CreateWebhook(url=PUBLIC_URL))

        made = service.create_one(OPS, "web", CreateWebhook(url=PUBLIC_URL))
        service.update_one(OPS, "web", hook.id, UpdateWebhook(description="by ops"))
        service.delete_one(OPS, "web", made.id)
        assert portal.uow.webhooks.rows[hook.id].description == "by ops"
        assert made.id not in portal.uow.webhooks.rows


# -- what a webhook may be ---------------------------------------------------------------------------


class TestWebhookRules:
    def test_every_bad_field_is_reported_at_once_and_nothing_is_stored(self, portal, owner):
        with pytest.raises(ValidationFailed) as failed:
            portal.notifications.webhooks.create_one(
                owner,
                "web",
                CreateWebhook(
                    url="ftp://hooks.example.com/", event_types=["nope"], secret="short", description="x" * 201
                ),
            )

        details = failed.value.details
        assert set(details) == {"url", "event_types", "secret", "description"}
        assert any("http:// or https://" in m for m in details["url"])
        assert any("'nope' is not an event type" in m for m in details["event_types"])
        assert any("16 to 200" in m for m in details["secret"])
        assert any("at most 200" in m for m in details["description"])
        assert portal.uow.webhooks.rows == {}
        assert portal.entries(target_type="webhook") == []

    @pytest.mark.parametrize(
        ("url", "fragment"),
        [
            ("https://user:pw@hooks.example.com/in", "user name or password"),
            ("https://user@hooks.example.com/in", "user name or password"),
            ("javascript:alert(1)", "http:// or https://"),
            ("https:///in", "must name a host"),
            ("https://hooks.example.com/a b", "spaces"),
            ("", "required"),
        ],
    )
    def test_a_url_that_breaks_a_rule_names_the_url(self, portal, owner, url, fragment):
        with pytest.raises(ValidationFailed) as failed:
            add_webhook(portal, owner, url=url)

        assert any(fragment in m for m in failed.value.details["url"]), failed.value.details
        assert portal.uow.webhooks.rows == {}

    def test_event_types_are_known_ones_or_the_wildcard(self, portal, owner):
        hook = add_webhook(portal, owner, event_types=["*", "server.status_changed"])
        assert hook.event_types == ("*", "server.status_changed")

        for bad in ([], "server.status_changed", ["server.status_changed", "server.status_changed"]):
            with pytest.raises(ValidationFailed) as failed:
                add_webhook(portal, owner, event_types=bad)
            assert "event_types" in failed.value.details

    @pytest.mark.parametrize(
        ("hosts", "url"),
        [
            ({"internal.example.com": ["127.0.0.1"]}, "https://internal.example.com/in"),
            ({"internal.example.com": ["::1"]}, "https://internal.example.com/in"),
            ({"metadata.example.com": ["169.254.169.254"]}, "http://metadata.example.com/latest/meta-data"),
            ({"internal.example.com": ["10.1.2.3"]}, "https://internal.example.com/in"),
            ({"internal.example.com": ["192.168.1.10"]}, "https://internal.example.com/in"),
            ({"internal.example.com": ["::ffff:127.0.0.1"]}, "https://internal.example.com/in"),
            ({"mixed.example.com": ["93.184.216.34", "10.0.0.9"]}, "https://mixed.example.com/in"),
            ({}, "http://127.0.0.1:8000/hook"),
            ({}, "http://[::1]/hook"),
            ({}, "http://169.254.169.254/latest/meta-data"),
            ({}, "http://10.0.0.5/hook"),
            ({}, "http://[::ffff:127.0.0.1]/hook"),
            ({}, "http://0.0.0.0/hook"),
        ],
    )
    def test_urls_leading_to_the_portals_own_network_are_refused(self, portal, owner, hosts, url):
        portal.resolver.hosts.update(hosts)

        with pytest.raises(UrlRefused) as refused:
            add_webhook(portal, owner, url=url)

        assert refused.value.status_code == 400
        assert refused.value.details["url"]
        assert "may not be sent there" in refused.value.details["url"][0]
        assert portal.uow.webhooks.rows == {}
        assert portal.entries(target_type="webhook") == []

    def test_changing_the_url_to_a_private_address_is_refused_and_changes_nothing(self, portal, owner):
        hook = add_webhook(portal, owner)
        portal.resolver.hosts["intranet.example.com"] = ["10.9.8.7"]

        with pytest.raises(UrlRefused) as refused:
            portal.notifications.webhooks.update_one(
                owner, "web", hook.id, UpdateWebhook(url="https://intranet.example.com/", description="moved")
            )

        assert "10.9.8.7 is a private address" in refused.value.details["url"][0]
        assert portal.uow.webhooks.rows[hook.id].url == PUBLIC_URL
        assert portal.uow.webhooks.rows[hook.id].description == ""

    def test_a_host_that_does_not_resolve_is_refused_saying_so(self, portal, owner):
        with pytest.raises(UrlRefused) as refused:
            add_webhook(portal, owner, url="https://nowhere.example.org/in")

        assert "nowhere.example.org does not resolve" in refused.value.details["url"][0]
        assert portal.uow.webhooks.rows == {}

    @pytest.mark.parametrize(
        "url",
        ["http://127.0.0.1:9000/hook", "http://[::1]/hook", "http://10.0.0.5/hook", "http://192.168.1.10/hook"],
    )
    def test_private_addresses_are_accepted_when_the_policy_allows_them(self, portal, owner, url):
        with_policy(portal, DeliveryPolicy(allow_private=True))

        hook = add_webhook(portal, owner, url=url)

        assert portal.uow.webhooks.rows[hook.id].url == url

    @pytest.mark.parametrize(
        "url", ["http://0.0.0.0/hook", "http://224.0.0.1/hook", "http://[::]/hook", "http://[ff02::1]/hook"]
    )
    def test_unspecified_and_multicast_addresses_are_refused_even_when_private_ones_are_allowed(
        self, portal, owner, url
    ):
        with_policy(portal, DeliveryPolicy(allow_private=True))

        with pytest.raises(UrlRefused):
            add_webhook(portal, owner, url=url)
        assert portal.uow.webhooks.rows == {}

    def test_a_generated_secret_starts_with_whsec_and_is_shown_on_create(self, portal, owner):
        hook = portal.notifications.webhooks.create_one(owner, "web", CreateWebhook(url=PUBLIC_URL))

        assert hook.secret.startswith("whsec_")
        assert len(hook.secret) >= 30
        assert portal.uow.webhooks.rows[hook.id].secret == hook.secret
        other = portal.notifications.webhooks.create_one(owner, "web", CreateWebhook(url=PUBLIC_URL))
        assert other.secret != hook.secret

    def test_a_chosen_secret_is_kept(self, portal, owner):
        assert add_webhook(portal, owner).secret == SECRET


# -- which events become which deliveries -------------------------------------------------------


class TestNotifier:
    def test_an_event_reaches_each_enabled_webhook_of_its_team_that_wants_it_and_no_other(self, portal, owner):
        bob = portal.actor(2)
        every = add_webhook(portal, owner, event_types=["*"])
        exact = add_webhook(portal, owner, event_types=[LB_CREATED])
        add_webhook(portal, owner, event_types=["server.status_changed"])
        add_webhook(portal, owner, event_types=["*"], enabled=False)
        add_webhook(portal, bob, slug="bob", event_types=["*"])
        forget_deliveries(portal)

        view = create_lb(portal, owner)

        made = deliveries(portal)
        assert sorted(d.webhook_id for d in made) == sorted([every.id, exact.id])
        assert {d.action for d in made} == {LB_CREATED}
        assert len({d.event_id for d in made}) == 1
        assert all(d.payload["target"]["id"] == str(view.id) for d in made)
        assert all(d.status is DeliveryStatus.PENDING and d.attempts == 0 for d in made)
        assert portal.outbox.deliveries == [(d.id, 0) for d in made]

    def test_events_of_another_team_reach_none_of_this_teams_webhooks(self, portal, owner):
        add_webhook(portal, owner, event_types=["*"])
        forget_deliveries(portal)

        create_lb(portal, portal.actor(2), team="bob")

        assert deliveries(portal) == []
        assert portal.outbox.deliveries == []

    @pytest.mark.parametrize("hooks", [[], [["server.status_changed"]], [["*"]]], ids=["none", "unwanted", "wanted"])
    def test_the_notifier_opens_a_unit_of_work_only_for_deliveries_to_store(self, portal, owner, monkeypatch, hooks):
        for event_types in hooks:
            add_webhook(portal, owner, event_types=event_types)
        forget_deliveries(portal)
        opened = []
        monkeypatch.setattr(portal.notifications.notifier, "_uow_factory", lambda: opened.append(1) or portal.uow)

        create_lb(portal, owner)

        wanted = hooks == [["*"]]
        assert len(deliveries(portal)) == len(opened) == (1 if wanted else 0)

    def test_a_server_status_change_reaches_the_teams_whose_live_load_balancers_use_it(self, portal, owner):
        shared = portal.add_server("shared")
        portal.add_team("idle", {2: Role.OWNER})
        bob = portal.actor(2)
        web_hook = add_webhook(portal, owner, event_types=["server.status_changed"])
        idle_hook = add_webhook(portal, bob, slug="idle", event_types=["*"])
        bob_hook = add_webhook(portal, bob, slug="bob", event_types=["server.status_changed"])
        create_lb(portal, owner, servers=[shared])
        gone = create_lb(portal, bob, name="gone", team="bob", servers=[shared])
        portal.settle()
        portal.load_balancers.delete_one(bob, gone.id)
        portal.settle()
        assert portal.stored(gone.id).provisioning_status is ProvisioningStatus.DELETED
        forget_deliveries(portal)

        portal.servers.update_status(OPS, shared, ServerStatus.MAINTENANCE)

        made = deliveries(portal)
        assert [d.webhook_id for d in made] == [web_hook.id]
        assert made[0].payload["team"] == "web"
        assert made[0].payload["target"] == {"type": "server", "id": str(shared), "name": "shared"}
        assert made[0].payload["changes"] == [{"field": "status", "before": "OK", "after": "MAINTENANCE"}]
        assert idle_hook.id not in {d.webhook_id for d in made}
        assert bob_hook.id not in {d.webhook_id for d in made}

    def test_the_payload_says_what_happened_who_did_it_from_where_and_when(self, portal, owner):
        add_webhook(portal, owner)
        forget_deliveries(portal)
        portal.clock.advance(3600)
        actor = replace(owner, source=Source.PAGE, request_id="req-42")

        view = create_lb(portal, actor)

        (delivery,) = deliveries(portal)
        payload = delivery.payload
        assert set(payload) == {
            "id",
            "type",
            "occurred_at",
            "team",
            "actor",
            "source",
            "request_id",
            "target",
            "message",
            "changes",
        }
        assert payload["id"] == delivery.event_id
        assert payload["type"] == LB_CREATED
        assert payload["occurred_at"] == "2026-01-01T01:00:00+00:00"
        assert payload["team"] == "web"
        assert payload["actor"] == {"id": 1, "username": "alice"}
        assert payload["source"] == "page"
        assert payload["request_id"] == "req-42"
        assert payload["target"] == {"type": "load_balancer", "id": str(view.id), "name": "shop"}
        assert payload["message"] == "requested load balancer shop"
        assert {"field": "name", "before": None, "after": "shop"} in payload["changes"]
        json.dumps(payload)  # what is stored can be sent

    def test_the_workers_changes_are_attributed_to_the_system(self, portal, owner):
        add_webhook(portal, owner, event_types=["load_balancer.active"])
        create_lb(portal, owner)
        forget_deliveries(portal)

        portal.settle()

        (delivery,) = deliveries(portal)
        assert delivery.payload["actor"] == {"id": None, "username": "system"}
        assert delivery.payload["source"] == "worker"


# -- sending ---------------------------------------------------------------------------------------


@pytest.fixture
def one_delivery(portal, owner):
    """A webhook of team "web" and one PENDING delivery to it; the outbox emptied."""
    hook = add_webhook(portal, owner)
    create_lb(portal, owner)
    (delivery,) = deliveries(portal)
    portal.outbox.deliveries.clear()
    return hook, delivery


class TestDelivery:
    def test_the_body_is_the_json_payload_and_the_signature_verifies_with_the_secret(self, portal, one_delivery):
        _hook, delivery = one_delivery
        portal.clock.advance(90)

        assert deliver(portal, delivery.id) is DeliveryStatus.SUCCEEDED

        (sent,) = portal.sender.sent
        body = sent["body"]
        assert json.loads(body) == delivery.payload
        valid, timestamp = verify(SECRET, sent["headers"][SIGNATURE_HEADER], body)
        assert valid
        assert timestamp == int(portal.clock.now().timestamp())
        assert not verify("another-secret-123456", sent["headers"][SIGNATURE_HEADER], body)[0]
        assert not verify(SECRET, sent["headers"][SIGNATURE_HEADER], body + b" ")[0]
        assert sent["headers"]["Content-Type"] == "application/json"
        assert sent["headers"]["X-Portal-Event"] == LB_CREATED
        assert sent["headers"]["X-Portal-Event-Id"] == delivery.event_id
        assert sent["headers"]["X-Portal-Delivery"] == str(delivery.id)
        assert sent["url"] == PUBLIC_URL
        assert sent["address"] == "93.184.216.34"
        assert sent["timeout"] == portal.delivery_policy.timeout

        stored = portal.uow.deliveries.rows[delivery.id]
        assert (stored.status, stored.attempts, stored.response_code) == (DeliveryStatus.SUCCEEDED, 1, 204)
        assert stored.delivered_at == portal.clock.now()
        assert portal.outbox.deliveries == []

    def test_a_delivery_done_is_not_sent_again_when_its_message_comes_twice(self, portal, one_delivery):
        _hook, delivery = one_delivery

        deliver(portal, delivery.id)
        assert deliver(portal, delivery.id) is DeliveryStatus.SUCCEEDED

        assert len(portal.sender.sent) == 1
        assert portal.uow.deliveries.rows[delivery.id].attempts == 1

    def test_a_failed_attempt_plans_a_retry_with_growing_backoff_and_the_last_one_gives_up(self, portal, one_delivery):
        _hook, delivery = one_delivery
        portal.sender.answers = [500, DeliveryFailed("could not deliver: connection refused"), 503]

        assert deliver(portal, delivery.id) is DeliveryStatus.PENDING
        stored = portal.uow.deliveries.rows[delivery.id]
        assert (stored.attempts, stored.response_code) == (1, 500)
        assert "500" in stored.last_error
        assert portal.outbox.deliveries == [(delivery.id, 10.0)]

        assert deliver(portal, delivery.id) is DeliveryStatus.PENDING
        stored = portal.uow.deliveries.rows[delivery.id]
        assert (stored.attempts, stored.response_code) == (2, None)
        assert "connection refused" in stored.last_error
        assert portal.outbox.deliveries == [(delivery.id, 10.0), (delivery.id, 20.0)]

        assert deliver(portal, delivery.id) is DeliveryStatus.FAILED
        stored = portal.uow.deliveries.rows[delivery.id]
        assert (stored.status, stored.attempts, stored.response_code) == (DeliveryStatus.FAILED, 3, 503)
        assert "503" in stored.last_error
        assert stored.delivered_at is None
        assert len(portal.outbox.deliveries) == 2  # no retry after the last attempt
        assert len(portal.sender.sent) == 3

    def test_a_redirect_is_not_a_success(self, portal, one_delivery):
        _hook, delivery = one_delivery
        portal.sender.answers = [302]

        assert deliver(portal, delivery.id) is DeliveryStatus.PENDING
        assert portal.uow.deliveries.rows[delivery.id].response_code == 302

    def test_the_backoff_doubles_from_ten_seconds_up_to_the_cap(self):
        policy = DeliveryPolicy(backoff_cap=60)

        assert [policy.backoff(n) for n in range(1, 7)] == [10, 20, 40, 60, 60, 60]
        assert DeliveryPolicy().backoff(1) == 10

    def test_a_success_resets_the_webhooks_failure_count(self, portal, one_delivery):
        hook, delivery = one_delivery
        portal.sender.answers = [500, 500]

        deliver(portal, delivery.id)
        deliver(portal, delivery.id)
        assert portal.uow.webhooks.rows[hook.id].failures == 2
        deliver(portal, delivery.id)

        assert portal.uow.webhooks.rows[hook.id].failures == 0
        assert portal.uow.webhooks.rows[hook.id].enabled

    def test_a_webhook_failing_disable_after_times_in_a_row_is_disabled_recorded_and_its_owners_told(
        self, portal, owner, member
    ):
        portal.notifications.webhooks.update_email_preference(member, "web", True)  # not about this: owners only
        hook = add_webhook(portal, owner)
        for n in range(2):
            create_lb(portal, owner, name=f"shop-{n}")
        portal.outbox.emails.clear()
        portal.sender.answers = [500] * 10

        for _ in range(3):
            portal.deliver_all()

        stored = portal.uow.webhooks.rows[hook.id]
        assert stored.enabled is False
        assert stored.failures == 5
        assert "disabled after 5 failed deliveries in a row" in stored.disabled_reason
        assert "500" in stored.disabled_reason
        assert len(portal.sender.sent) == 5  # the sixth attempt was not made
        statuses = sorted(d.status for d in deliveries(portal))
        assert statuses == [DeliveryStatus.FAILED, DeliveryStatus.SKIPPED]
        (entry,) = portal.entries(action="webhook.disabled")
        assert (entry.team_id, entry.target_id, entry.actor) == (hook.team_id, str(hook.id), "system")
        assert "disabled after 5" in entry.message
        (email,) = portal.outbox.emails
        recipients, subject, body = email
        assert recipients == ["alice@example.com"]
        assert "[web]" in subject
        assert "disabled" in subject
        assert PUBLIC_URL in body

    def test_failures_that_are_not_consecutive_do_not_disable(self, portal, one_delivery, owner):
        hook, _delivery = one_delivery
        portal.sender.answers = [500, 500, 204, 500, 500, 204, 500, 500]
        for n in range(3):
            create_lb(portal, owner, name=f"more-{n}")

        for _ in range(4):
            portal.deliver_all()

        assert portal.uow.webhooks.rows[hook.id].enabled

    def test_enabling_a_disabled_webhook_starts_its_count_again(self, portal, one_delivery, owner):
        hook, _delivery = one_delivery
        stored = portal.uow.webhooks.rows[hook.id]
        stored.enabled, stored.failures, stored.disabled_reason = False, 5, "disabled after 5 failed deliveries"

        changed = portal.notifications.webhooks.update_one(owner, "web", hook.id, UpdateWebhook(enabled=True))

        assert (changed.enabled, changed.failures, changed.disabled_reason) == (True, 0, "")

    def test_a_delivery_for_a_disabled_webhook_is_skipped_and_nothing_is_sent(self, portal, one_delivery, owner):
        hook, delivery = one_delivery
        portal.notifications.webhooks.update_one(owner, "web", hook.id, UpdateWebhook(enabled=False))

        assert deliver(portal, delivery.id) is DeliveryStatus.SKIPPED

        assert portal.sender.sent == []
        stored = portal.uow.deliveries.rows[delivery.id]
        assert (stored.status, stored.attempts) == (DeliveryStatus.SKIPPED, 0)
        assert "disabled" in stored.last_error

    def test_a_delivery_for_a_removed_webhook_is_skipped_and_nothing_is_sent(self, portal, one_delivery, owner):
        hook, delivery = one_delivery
        portal.notifications.webhooks.delete_one(owner, "web", hook.id)

        assert deliver(portal, delivery.id) is DeliveryStatus.SKIPPED

        assert portal.sender.sent == []
        assert delivery.id not in portal.uow.deliveries.rows  # removed with its webhook, as the database cascades

    @pytest.mark.parametrize(
        "addresses", [["10.0.0.7"], ["127.0.0.1"], ["169.254.169.254"], ["93.184.216.34", "192.168.0.1"]]
    )
    def test_a_host_that_now_resolves_to_a_private_address_is_not_sent_to(self, portal, one_delivery, addresses):
        _hook, delivery = one_delivery
        portal.resolver.hosts["hooks.example.com"] = addresses

        assert deliver(portal, delivery.id) is DeliveryStatus.PENDING

        assert portal.sender.sent == []
        stored = portal.uow.deliveries.rows[delivery.id]
        assert stored.attempts == 1
        assert "not sent" in stored.last_error
        assert "hooks.example.com" in stored.last_error

    def test_a_host_that_no_longer_resolves_is_a_failed_attempt(self, portal, one_delivery):
        _hook, delivery = one_delivery
        del portal.resolver.hosts["hooks.example.com"]

        assert deliver(portal, delivery.id) is DeliveryStatus.PENDING

        assert portal.sender.sent == []
        assert "does not resolve" in portal.uow.deliveries.rows[delivery.id].last_error

    def test_resend_stale_hands_back_only_pending_deliveries_untouched_past_every_planned_retry(self, portal, owner):
        policy = portal.delivery_policy
        quiet = policy.backoff_cap + 2 * policy.timeout + 600
        for _ in range(3):
            add_webhook(portal, owner)
        create_lb(portal, owner)
        lost, done, retried = deliveries(portal)
        deliver(portal, done.id)
        portal.clock.advance(quiet - 100)
        portal.sender.answers = [500]
        deliver(portal, retried.id)  # touched now: its retry is planned
        portal.outbox.deliveries.clear()

        portal.clock.advance(100)
        assert portal.notifications.deliveries.resend_stale() == 0  # exactly the quiet time: not yet
        portal.clock.advance(1)
        assert portal.notifications.deliveries.resend_stale() == 1

        assert portal.outbox.deliveries == [(lost.id, 0)]
        assert portal.uow.deliveries.rows[lost.id].status is DeliveryStatus.PENDING
        assert portal.uow.deliveries.rows[lost.id].attempts == 0


# -- e-mails -----------------------------------------------------------------------------------------


def emails_about(portal, fragment):
    return [(recipients, subject) for recipients, subject, _body in portal.outbox.emails if fragment in subject]


class TestEmails:
    def test_a_load_balancer_in_error_emails_the_owners_and_the_members_who_opted_in(self, portal, owner, member):
        portal.notifications.webhooks.update_email_preference(member, "web", True)
        create_lb(portal, owner)

        portal.settle(error="no capacity")

        assert emails_about(portal, "ERROR") == [
            (["alice@example.com", "bob@example.com"], "[web] load balancer shop is in ERROR")
        ]
        body = next(b for _r, s, b in portal.outbox.emails if "ERROR" in s)
        assert "no capacity" in body
        assert "Load balancers concerned: shop" in body

    def test_members_and_viewers_who_did_not_opt_in_get_nothing(self, portal, owner, member, viewer):
        create_lb(portal, owner)

        portal.settle(error="no capacity")

        assert emails_about(portal, "ERROR") == [(["alice@example.com"], "[web] load balancer shop is in ERROR")]

    def test_a_viewer_who_opted_in_gets_them(self, portal, owner, viewer):
        portal.notifications.webhooks.update_email_preference(viewer, "web", True)
        create_lb(portal, owner)

        portal.settle(error="no capacity")

        assert emails_about(portal, "ERROR")[0][0] == ["alice@example.com", "carol@example.com"]

    def test_an_owner_who_opted_out_gets_nothing(self, portal, owner, member):
        portal.notifications.webhooks.update_email_preference(owner, "web", False)
        portal.notifications.webhooks.update_email_preference(member, "web", True)
        create_lb(portal, owner)

        portal.settle(error="no capacity")

        assert emails_about(portal, "ERROR") == [(["bob@example.com"], "[web] load balancer shop is in ERROR")]

    def test_nobody_left_to_tell_means_no_email(self, portal, owner):
        portal.notifications.webhooks.update_email_preference(owner, "web", False)
        create_lb(portal, owner)

        portal.settle(error="no capacity")

        assert portal.outbox.emails == []

    def test_degraded_emails_and_online_again_does_not(self, portal, owner):
        lb = create_lb(portal, owner, servers=[portal.add_server(), portal.add_server()])
        portal.settle()
        assert portal.outbox.emails == []

        failing = portal.degrade(lb.id)
        portal.reconciliation.reconcile()
        assert emails_about(portal, "shop") == [(["alice@example.com"], "[web] load balancer shop is DEGRADED")]

        portal.member_health(failing, OperatingStatus.ONLINE)
        portal.reconciliation.reconcile()
        assert len(portal.outbox.emails) == 1

    @pytest.mark.parametrize("status", [ServerStatus.DOWN, ServerStatus.MAINTENANCE])
    def test_a_server_set_down_or_in_maintenance_emails_the_teams_using_it(self, portal, owner, status):
        server = portal.add_server("app-1")
        create_lb(portal, owner, servers=[server])
        create_lb(portal, portal.actor(2), name="bobs", team="bob", servers=[server])
        portal.add_server("unused")

        portal.servers.update_status(OPS, server, status)

        assert sorted(emails_about(portal, "app-1")) == [
            (["alice@example.com"], f"[web] server app-1 is {status}"),
            (["bob@example.com"], f"[bob] server app-1 is {status}"),
        ]
        body = next(b for _r, s, b in portal.outbox.emails if s.startswith("[web]"))
        assert "Load balancers concerned: shop" in body

    def test_a_server_back_to_ok_emails_nobody(self, portal, owner):
        server = portal.add_server("app-1")
        create_lb(portal, owner, servers=[server])
        portal.servers.update_status(OPS, server, ServerStatus.DOWN)
        assert len(portal.outbox.emails) == 1
        portal.outbox.emails.clear()

        portal.servers.update_status(OPS, server, ServerStatus.OK)

        assert portal.outbox.emails == []

    def test_a_server_no_load_balancer_uses_emails_nobody(self, portal, owner):
        server = portal.add_server("idle")

        portal.servers.update_status(OPS, server, ServerStatus.DOWN)

        assert portal.outbox.emails == []

    def test_the_preference_defaults_to_owners_only_and_is_each_persons_own(self, portal, owner, member, viewer):
        service = portal.notifications.webhooks

        assert [service.get_email_preference(a, "web") for a in (owner, member, viewer)] == [True, False, False]
        assert service.update_email_preference(member, "web", True) is True
        assert [service.get_email_preference(a, "web") for a in (owner, member, viewer)] == [True, True, False]
        (entry,) = portal.entries(action="notification_preference.updated")
        assert (entry.actor, entry.team_id) == ("bob", portal.directory.id_of("web"))

    def test_someone_outside_the_team_cannot_choose_its_emails(self, portal, outsider):
        with pytest.raises(TeamNotFound):
            portal.notifications.webhooks.update_email_preference(outsider, "web", True)
        assert portal.uow.preferences.rows == {}

    @pytest.mark.parametrize("enabled", ["yes", 1, None])
    def test_enabled_must_be_a_bool(self, portal, member, enabled):
        with pytest.raises(ValidationFailed) as failed:
            portal.notifications.webhooks.update_email_preference(member, "web", enabled)

        assert "enabled" in failed.value.details
        assert portal.uow.preferences.rows == {}


# -- found in review -----------------------------------------------------------------------------


class TestFoundInReview:
    @pytest.mark.parametrize("url", ["https://hooks.example.com/ü", "https://bücher.example/hook"])
    def test_a_url_that_is_not_ascii_is_refused_and_nothing_is_stored(self, portal, owner, url):
        with pytest.raises(ValidationFailed) as refused:
            add_webhook(portal, owner, url=url)

        assert "xn--" in refused.value.details["url"][0]
        assert portal.uow.webhooks.rows == {}

    @pytest.mark.parametrize("url", ["http://[::1", "http://hooks.example.com:99999/", "http://hooks.example.com/ü"])
    def test_a_bad_url_in_a_change_is_a_validation_error_and_changes_nothing(self, portal, owner, url):
        hook = add_webhook(portal, owner)

        with pytest.raises(ValidationFailed) as refused:
            portal.notifications.webhooks.update_one(owner, "web", hook.id, UpdateWebhook(url=url))

        assert "url" in refused.value.details
        assert portal.uow.webhooks.rows[hook.id].url == PUBLIC_URL

    def test_a_url_changed_within_its_host_is_recorded_without_its_path_but_as_changed(self, portal, owner):
        hook = add_webhook(portal, owner)

        portal.notifications.webhooks.update_one(owner, "web", hook.id, UpdateWebhook(url=PUBLIC_URL + "/v2?key=k"))

        assert portal.uow.webhooks.rows[hook.id].url == PUBLIC_URL + "/v2?key=k"
        (entry,) = portal.entries(action="webhook.updated")
        assert [(c.field, c.before, c.after) for c in entry.changes] == [
            ("url", "https://hooks.example.com/…", "https://hooks.example.com/… (changed)")
        ]
        assert "key=k" not in repr(portal.trail.rows)

    @pytest.mark.parametrize(
        "address",
        [
            "2002:7f00:1::",
            "2002:a9fe:a9fe::",
            "2002:c0a8:1::",
            "fec0::1",
            "::ffff:10.0.0.1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ],
    )
    def test_ipv4_hidden_in_ipv6_and_site_local_addresses_are_refused(self, portal, owner, address):
        portal.resolver.hosts["sneaky.example.com"] = [address]

        with pytest.raises(UrlRefused):
            add_webhook(portal, owner, url="https://sneaky.example.com/hook")

    def test_an_unexpected_failure_of_the_sender_is_a_failed_attempt_not_a_stuck_delivery(self, portal, owner):
        add_webhook(portal, owner)
        create_lb(portal, owner)
        (delivery,) = deliveries(portal)

        def broken(*args, **kwargs):
            raise UnicodeEncodeError("ascii", "ü", 0, 1, "ordinal not in range")

        portal.sender.post = broken
        assert deliver(portal, delivery.id) is DeliveryStatus.PENDING

        stored = portal.uow.deliveries.rows[delivery.id]
        assert stored.attempts == 1
        assert "UnicodeEncodeError" in stored.last_error
        assert portal.outbox.deliveries[-1] == (delivery.id, portal.delivery_policy.backoff(1))

    def test_two_runs_of_one_delivery_count_one_attempt_and_plan_one_retry(self, portal, owner):
        """A redelivered message runs the same delivery while the first run is sending."""
        hook = add_webhook(portal, owner)
        create_lb(portal, owner)
        (delivery,) = deliveries(portal)
        portal.outbox.deliveries.clear()
        sender, runs = portal.sender, []

        def post(*args, **kwargs):
            runs.append(1)
            if len(runs) == 1:  # the second run happens while the first one waits for its answer
                deliver(portal, delivery.id)
            raise DeliveryFailed("the endpoint answered 500", 500)

        sender.post = post
        deliver(portal, delivery.id)

        assert len(runs) == 2
        assert portal.uow.deliveries.rows[delivery.id].attempts == 1
        assert portal.uow.webhooks.rows[hook.id].failures == 1
        assert portal.outbox.deliveries == [(delivery.id, portal.delivery_policy.backoff(1))]

    def test_a_delivery_whose_webhook_goes_while_it_is_sent_is_skipped(self, portal, owner):
        hook = add_webhook(portal, owner)
        create_lb(portal, owner)
        (delivery,) = deliveries(portal)

        def post(*args, **kwargs):
            portal.notifications.webhooks.delete_one(owner, "web", hook.id)
            return 204

        portal.sender.post = post
        assert deliver(portal, delivery.id) is DeliveryStatus.SKIPPED

    def test_the_delivery_log_forgets_finished_deliveries_after_its_days(self, portal, owner):
        add_webhook(portal, owner, event_types=[LB_CREATED])
        create_lb(portal, owner, name="old")
        portal.deliver_all()  # SUCCEEDED
        portal.sender.answers = [500]
        create_lb(portal, owner, name="failing")
        portal.deliver_all()  # still PENDING: its retry is planned ...
        portal.outbox.deliveries.clear()  # ... and not run yet
        portal.clock.advance(31 * 24 * 3600)
        create_lb(portal, owner, name="new")
        portal.deliver_all()  # SUCCEEDED, but recent

        assert portal.notifications.deliveries.prune_log() == 1

        assert sorted(d.payload["target"]["name"] for d in deliveries(portal)) == ["failing", "new"]
