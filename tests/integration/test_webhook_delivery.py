"""Webhook deliveries end to end on loopback: the real resolver, HTTP sender and
database repositories, a real HTTP receiver in a thread that checks the signature as
the README tells users to, retries and giving up, the overall time limit on an
endpoint that never answers, refusal of private addresses through the API, and the
disabling of a webhook that keeps failing.  The scheduler is a recording fake, so no
broker is needed."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from accounts import bootstrap as accounts_bootstrap
from audit import models as audit_models
from loadbalancers import bootstrap as loadbalancers_bootstrap
from loadbalancers.application.payloads import CreateLoadBalancer
from notifications import bootstrap
from notifications import models as notification_models
from notifications.application.payloads import CreateWebhook
from notifications.domain.model import SIGNATURE_HEADER, DeliveryStatus
from tests.conftest import client_for
from tests.factories import ServerFactory, UserFactory, personal_team

SECRET = "whsec_integration-secret-0123456789"
TIMEOUT = 1.0
LB_CREATED = "load_balancer.create_requested"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The README's receiver check, word for word."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected, fields["v1"])


class RecordingScheduler:
    def __init__(self) -> None:
        self.deliveries: list[tuple[int, float]] = []
        self.emails: list[tuple[list[str], str, str]] = []

    def deliver(self, delivery_id: int, *, delay: float = 0) -> None:
        self.deliveries.append((delivery_id, delay))

    def email(self, recipients: list[str], subject: str, body: str) -> None:
        self.emails.append((list(recipients), subject, body))


class Receiver(ThreadingHTTPServer):
    """Records every POST (path, headers, body, whether the signature verified) and
    answers with ``answer``; with ``close``, it says it closes the connection."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), handler or _Handler)
        self.answer = 204
        self.close = False
        self.received: list[dict[str, object]] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        server: Receiver = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with server.lock:
            server.received.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "verified": verify(SECRET, self.headers.get(SIGNATURE_HEADER, "t=0,v1="), body),
                }
            )
        self.send_response(server.answer)
        self.send_header("Content-Length", "2")
        if server.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Http10Handler(_Handler):
    """As http.server answers by default."""

    protocol_version = "HTTP/1.0"


def serve(server: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP/1.1 endpoint keeping the connection open, on loopback."""
    yield from serve(Receiver())


@pytest.fixture
def silent_endpoint():
    """A port whose connections are accepted (by the kernel's backlog) and never answered."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def dripping_endpoint():
    """A port that answers a status line, then one byte of a header every 0.2 s (for 60 s
    at most, or until the client goes away): far longer than any bound the tests allow."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(10)
    stop = threading.Event()

    def drip() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(300):
                    if stop.wait(0.2):
                        return
                    conn.sendall(b"x")
            except OSError:
                return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(timeout=10)


@pytest.fixture
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = TIMEOUT
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_BACKOFF_CAP = 300.0
    settings.WEBHOOK_DISABLE_AFTER = 20
    return settings


@pytest.fixture
def scheduler() -> RecordingScheduler:
    return RecordingScheduler()


@pytest.fixture
def services(webhook_settings, scheduler):
    """The notification use cases as production builds them, but for the scheduler."""
    return bootstrap.build(scheduler=scheduler)


@pytest.fixture
def owner(db):
    """Olivia, with an e-mail address, owner of her personal team "olivia"."""
    return UserFactory(username="olivia", email="olivia@example.com")


def add_webhook(services, owner, url: str, event_types=(LB_CREATED,)):
    actor = accounts_bootstrap.actor_of(owner, "notifications.webhook")
    return services.webhooks.create_one(
        actor, personal_team(owner).slug, CreateWebhook(url=url, secret=SECRET, event_types=list(event_types))
    )


def create_load_balancer(owner, name: str = "shop"):
    """A real change: the app's real subscribers (the trail, the notifier) hear it."""
    server = ServerFactory()
    return loadbalancers_bootstrap.build().load_balancers.create_one(
        loadbalancers_bootstrap.actor_of(owner), CreateLoadBalancer(name=name, servers=[server.id])
    )


def deliveries_of(hook) -> list[notification_models.Delivery]:
    return list(notification_models.Delivery.objects.filter(webhook_id=hook.id).order_by("id"))


def test_a_real_change_is_delivered_signed_to_a_real_endpoint(services, owner, receiver, scheduler):
    hook = add_webhook(services, owner, f"http://127.0.0.1:{receiver.port}/hook")
    view = create_load_balancer(owner)
    (row,) = deliveries_of(hook)

    assert services.deliveries.deliver(row.id) is DeliveryStatus.SUCCEEDED

    (request,) = receiver.received
    assert request["path"] == "/hook"
    assert request["verified"] is True
    payload = json.loads(request["body"])
    assert payload == row.payload
    assert payload["type"] == LB_CREATED
    assert payload["team"] == "olivia"
    assert payload["actor"] == {"id": owner.pk, "username": "olivia"}
    assert payload["target"] == {"type": "load_balancer", "id": str(view.id), "name": "shop"}
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Portal-Event"] == LB_CREATED
    assert headers["X-Portal-Delivery"] == str(row.id)
    row.refresh_from_db()
    assert row.status == "SUCCEEDED"
    assert 200 <= row.response_code < 300
    assert (row.attempts, row.last_error) == (1, "")
    assert row.delivered_at is not None
    assert scheduler.deliveries == []


@pytest.mark.parametrize("kind", ["HTTP/1.0 answer", "Connection: close"])
def test_an_endpoint_that_closes_the_connection_after_answering_is_a_success(services, owner, kind):
    """http.server's default (HTTP/1.0) and any answer with "Connection: close"."""
    for server in serve(Receiver(_Http10Handler if kind == "HTTP/1.0 answer" else _Handler)):
        server.close = kind == "Connection: close"
        hook = add_webhook(services, owner, f"http://127.0.0.1:{server.port}/hook")
        create_load_balancer(owner)
        (row,) = deliveries_of(hook)

        assert services.deliveries.deliver(row.id) is DeliveryStatus.SUCCEEDED

        assert [r["verified"] for r in server.received] == [True]
        row.refresh_from_db()
        assert (row.status, row.attempts, row.response_code) == ("SUCCEEDED", 1, 204)


def test_a_signature_made_with_another_secret_does_not_verify(services, owner, receiver):
    hook = add_webhook(services, owner, f"http://127.0.0.1:{receiver.port}/hook")
    notification_models.Webhook.objects.filter(pk=hook.id).update(secret="whsec_some-other-secret-000000")
    create_load_balancer(owner)

    services.deliveries.deliver(deliveries_of(hook)[0].id)

    assert [r["verified"] for r in receiver.received] == [False]


def test_an_endpoint_answering_500_is_retried_with_backoff_then_given_up(services, owner, receiver, scheduler):
    receiver.answer = 500
    hook = add_webhook(services, owner, f"http://127.0.0.1:{receiver.port}/hook")
    create_load_balancer(owner)
    (row,) = deliveries_of(hook)

    assert services.deliveries.deliver(row.id) is DeliveryStatus.PENDING

    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_code) == ("PENDING", 1, 500)
    assert "500" in row.last_error
    assert scheduler.deliveries == [(row.id, 10.0)]

    assert services.deliveries.deliver(row.id) is DeliveryStatus.PENDING
    assert services.deliveries.deliver(row.id) is DeliveryStatus.FAILED

    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_code) == ("FAILED", 3, 500)
    assert "500" in row.last_error
    assert scheduler.deliveries == [(row.id, 10.0), (row.id, 20.0)]
    assert len(receiver.received) == 3
    assert services.deliveries.deliver(row.id) is DeliveryStatus.FAILED  # a late duplicate message: nothing sent
    assert len(receiver.received) == 3


def test_an_attempt_touches_the_delivery_so_it_is_not_resent_as_lost(services, owner, receiver, scheduler):
    """A delivery whose retry is planned must not look lost to resend_stale (which
    would send it twice): each attempt must move its updated_at."""
    receiver.answer = 500
    hook = add_webhook(services, owner, f"http://127.0.0.1:{receiver.port}/hook")
    create_load_balancer(owner)
    (row,) = deliveries_of(hook)
    long_ago = timezone.now() - timedelta(hours=1)
    notification_models.Delivery.objects.filter(pk=row.id).update(created_at=long_ago, updated_at=long_ago)

    services.deliveries.deliver(row.id)  # fails: a retry is planned in 10 s
    scheduler.deliveries.clear()

    row.refresh_from_db()
    assert row.updated_at > long_ago
    assert services.deliveries.resend_stale() == 0
    assert scheduler.deliveries == []


def test_a_lost_delivery_is_handed_back_by_resend_stale(services, owner, receiver, scheduler):
    hook = add_webhook(services, owner, f"http://127.0.0.1:{receiver.port}/hook")
    create_load_balancer(owner)
    (row,) = deliveries_of(hook)
    long_ago = timezone.now() - timedelta(hours=1)
    notification_models.Delivery.objects.filter(pk=row.id).update(updated_at=long_ago)

    assert services.deliveries.resend_stale() == 1

    assert scheduler.deliveries == [(row.id, 0)]


def test_an_endpoint_that_never_answers_costs_at_most_the_timeout(services, owner, silent_endpoint):
    hook = add_webhook(services, owner, f"http://127.0.0.1:{silent_endpoint}/hook")
    create_load_balancer(owner)
    (row,) = deliveries_of(hook)

    started = time.monotonic()
    status = services.deliveries.deliver(row.id)
    took = time.monotonic() - started

    assert took < TIMEOUT + 10  # bounded: a generous margin for a busy machine, far below a hang
    assert status is DeliveryStatus.PENDING
    row.refresh_from_db()
    assert row.attempts == 1
    assert "no answer within" in row.last_error
    assert row.response_code is None


def test_an_endpoint_that_drips_its_answer_costs_at_most_the_timeout(services, owner, dripping_endpoint):
    """The README promises one deadline for the whole attempt, answer included."""
    hook = add_webhook(services, owner, f"http://127.0.0.1:{dripping_endpoint}/hook")
    create_load_balancer(owner)
    (row,) = deliveries_of(hook)

    started = time.monotonic()
    services.deliveries.deliver(row.id)
    took = time.monotonic() - started

    # Bounded: a generous margin for a busy machine, far below the minute the endpoint drips for.
    assert took < TIMEOUT + 10, f"the attempt took {took:.1f} s with WEBHOOK_TIMEOUT={TIMEOUT}"
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.status == "PENDING"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/", "http://localhost:{port}/hook", "http://169.254.169.254/latest/meta-data/"],
)
def test_private_addresses_are_refused_through_the_api_and_nothing_is_stored(settings, owner, receiver, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    slug = personal_team(owner).slug

    answer = client_for(owner).post(
        f"/api/v1/teams/{slug}/webhooks/",
        {"url": url.format(port=receiver.port), "event_types": ["*"]},
        format="json",
    )

    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["error"] == "ValidationError"
    assert "url" in body["details"]
    assert "may not be sent there" in body["details"]["url"][0]
    assert not notification_models.Webhook.objects.exists()
    assert receiver.received == []


def test_the_api_accepts_a_private_address_when_allowed_and_shows_the_generated_secret(
    webhook_settings, owner, receiver
):
    slug = personal_team(owner).slug

    answer = client_for(owner).post(
        f"/api/v1/teams/{slug}/webhooks/", {"url": f"http://127.0.0.1:{receiver.port}/hook"}, format="json"
    )

    assert answer.status_code == 201, answer.content
    assert answer.json()["secret"].startswith("whsec_")
    assert answer.json()["event_types"] == ["*"]
    stored = notification_models.Webhook.objects.get()
    assert stored.secret == answer.json()["secret"]
    listed = client_for(owner).get(f"/api/v1/teams/{slug}/webhooks/").json()
    assert "secret" not in json.dumps(listed)


def test_a_webhook_failing_disable_after_times_in_a_row_is_disabled_and_its_owner_emailed(
    webhook_settings, owner, receiver, scheduler
):
    webhook_settings.WEBHOOK_DISABLE_AFTER = 2
    webhook_settings.WEBHOOK_MAX_ATTEMPTS = 1
    services = bootstrap.build(scheduler=scheduler)  # read the settings again
    receiver.answer = 500
    hook = add_webhook(services, owner, f"http://127.0.0.1:{receiver.port}/hook")
    create_load_balancer(owner, "shop-1")
    create_load_balancer(owner, "shop-2")
    first, second = deliveries_of(hook)

    assert services.deliveries.deliver(first.id) is DeliveryStatus.FAILED
    assert notification_models.Webhook.objects.get(pk=hook.id).enabled
    assert services.deliveries.deliver(second.id) is DeliveryStatus.FAILED

    stored = notification_models.Webhook.objects.get(pk=hook.id)
    assert stored.enabled is False
    assert stored.failures == 2
    assert "disabled after 2 failed deliveries in a row" in stored.disabled_reason
    assert audit_models.AuditEntry.objects.filter(action="webhook.disabled", target_id=str(hook.id)).count() == 1
    assert [(recipients, "disabled" in subject) for recipients, subject, _body in scheduler.emails] == [
        (["olivia@example.com"], True)
    ]
    assert scheduler.deliveries == []  # no retry: one attempt each

    create_load_balancer(owner, "shop-3")
    assert len(deliveries_of(hook)) == 2  # a disabled webhook gets no new deliveries
    assert len(receiver.received) == 2


def test_a_delivery_whose_webhook_was_removed_is_not_sent_and_does_not_crash_the_worker(services, owner, receiver):
    hook = add_webhook(services, owner, f"http://127.0.0.1:{receiver.port}/hook")
    create_load_balancer(owner)
    (row,) = deliveries_of(hook)
    services.webhooks.delete_one(
        accounts_bootstrap.actor_of(owner, "notifications.webhook"), personal_team(owner).slug, hook.id
    )

    services.deliveries.deliver(row.id)  # the message was already queued when the webhook went

    assert receiver.received == []
