"""Members with weights and drain, health monitors, tags, deletion protection and retry
on the self-service pages and in the admin (Django's test client, the real database),
and once in a real browser (Debian's Chromium driven by Playwright, a live server and a
real Celery worker in front of the sandbox LBaaS).

The forms are posted as a browser would post them: every control the page renders,
with the value it shows, and only then what the test changes (``PostedForm``)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.contrib.messages import get_messages
from django.test import Client
from django.utils.html import escape
from playwright.sync_api import expect

from loadbalancers.models import LoadBalancer
from servers.models import Server
from tests.conftest import client_for, wait_until
from tests.e2e.test_browser import PASSWORD, WCAG_AA, new_page
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory, add_member, personal_team

pytestmark = pytest.mark.django_db

LB_ADMIN = "/admin/loadbalancers/loadbalancer/"
SLOW = 30.0  # seconds: generous, for a busy machine
HTTP_MONITOR = {
    "type": "HTTP",
    "interval": 10,
    "timeout": 4,
    "retries_up": 2,
    "retries_down": 5,
    "http_path": "/healthz",
    "expected_codes": "200-299",
}
HTTP_MONITOR_IN_WORDS = "HTTP GET /healthz expecting 200-299, every 10 s, timeout 4 s, up after 2, down after 5"


# -- what a browser sees and sends ----------------------------------------------------------


def main_form(attrs: dict[str, str | None]) -> bool:
    """The create or edit form: the page's POST form without an action."""
    return (attrs.get("method") or "").lower() == "post" and "action" not in attrs


class PostedForm(HTMLParser):
    """What a browser sends when the form ``which`` picks (by its attributes) is submitted
    untouched: each enabled named control with the value the page gives it (ticked boxes
    only; a select's chosen option, else its first).  Controls that belong to another
    form (``form="..."``) are left out."""

    def __init__(self, which: Callable[[dict[str, str | None]], bool] = main_form) -> None:
        super().__init__(convert_charrefs=True)
        self.which = which
        self.data: dict[str, list[str]] = {}
        self._inside = False
        self._select: tuple[str, list[str], list[str]] | None = None  # name, chosen, all
        self._option: dict[str, str | None] | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._inside = self.which(a)
            return
        if not self._inside or "form" in a or "disabled" in a:
            return
        name = a.get("name")
        kind = (a.get("type") or "text").lower()
        if tag == "input" and name and kind not in ("submit", "button", "image", "reset", "file"):
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(name, a.get("value") or "on")
            else:
                self._add(name, a.get("value") or "")
        elif tag == "select" and name:
            self._select = (name, [], [])
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}  # type: ignore[dict-item]
        elif tag == "textarea" and name:
            self._textarea = (name, [])

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option["text"] = (self._option["text"] or "") + data
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "option" and self._option is not None and self._select is not None:
            value = self._option["value"] if self._option["value"] is not None else (self._option["text"] or "")
            self._select[2].append(value)
            if self._option.get("selected"):
                self._select[1].append(value)
            self._option = None
        elif tag == "select" and self._select is not None:
            name, chosen, values = self._select
            if chosen or values:
                self._add(name, (chosen or values)[0])
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            self._add(name, "".join(parts).removeprefix("\n"))
            self._textarea = None


def posted(html: str, which: Callable[[dict[str, str | None]], bool] = main_form) -> dict[str, list[str]]:
    parser = PostedForm(which)
    parser.feed(html)
    parser.close()
    assert parser.data, "the page has no form to post"
    return parser.data


def tag_attrs(html: str, tag: str) -> list[dict[str, str | None]]:
    """The attributes of every ``tag`` element of the page."""
    found: list[dict[str, str | None]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, name: str, attrs: list[tuple[str, str | None]]) -> None:
            if name == tag:
                found.append(dict(attrs))

    Collector().feed(html)
    return found


def text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def member_rows(html: str) -> dict[int, list[str]]:
    """The detail page's Targets table: each member's cells as text, by server id."""
    rows = re.findall(r'<tr data-member="(\d+)">(.*?)</tr>', html, re.S)
    return {int(server): [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for server, row in rows}


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def errors_of(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def error_summary(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert found, "no error summary"
    return text(found.group(0))


def monitor_fieldset(html: str) -> tuple[str, str]:
    """The health monitor fieldset's opening tag and its content."""
    found = re.search(r'(<fieldset[^>]*id="monitor-fields"[^>]*>)(.*?)</fieldset>', html, re.S)
    assert found, "no health monitor fieldset"
    return found.group(1), found.group(2)


def stored(lb: LoadBalancer) -> tuple:
    """What a refused request must not have changed."""
    row = LoadBalancer.objects.get(pk=lb.pk)
    return (
        row.version,
        row.provisioning_status,
        row.health_monitor,
        row.deletion_protection,
        row.algorithm,
        row.description,
        sorted(row.members.values_list("server_id", "weight", "admin_state")),
        sorted(row.tags.values_list("value", flat=True)),
    )


def web_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_web(alice) -> Client:  # type: ignore[no-untyped-def]
    return web_for(alice)


@pytest.fixture
def viewer_web(alice) -> Client:  # type: ignore[no-untyped-def]
    """Vera, a viewer in alice's team: she sees its load balancers but may not change them."""
    return web_for(add_member(personal_team(alice), UserFactory(username="vera"), "viewer"))


def with_members(lb: LoadBalancer, *members: tuple[Server, dict]) -> LoadBalancer:
    for position, (server, fields) in enumerate(members):
        lb.members.create(server=server, position=position, **fields)
    return lb


# -- create -----------------------------------------------------------------------------------


def create_form(web: Client) -> dict[str, list[str]]:
    page = web.get("/load-balancers/new/")
    assert page.status_code == 200
    return posted(page.content.decode())


class TestCreate:
    def test_the_form_offers_the_monitor_tags_and_protection_with_sane_defaults(self, alice_web):
        form = create_form(alice_web)

        assert form["health_monitor"] == [""]  # none unless asked for
        assert (form["monitor_interval"], form["monitor_timeout"]) == (["5"], ["3"])
        assert (form["monitor_retries_up"], form["monitor_retries_down"]) == (["2"], ["3"])
        assert (form["monitor_http_path"], form["monitor_expected_codes"]) == (["/"], ["200"])
        assert form["tags"] == [""]
        assert "deletion_protection" not in form  # not ticked

    def test_a_monitor_tags_and_protection_are_created_as_asked(self, alice_web, alice):
        a, b = ServerFactory.create_batch(2)
        form = create_form(alice_web)
        form.update(
            name=["shop"],
            servers=[str(a.pk), str(b.pk)],
            health_monitor=["HTTP"],
            monitor_interval=["10"],
            monitor_timeout=["4"],
            monitor_retries_down=["5"],
            monitor_http_path=["/healthz"],
            monitor_expected_codes=["200-299"],
            tags=["env=prod, web"],
            deletion_protection=["on"],
        )

        response = alice_web.post("/load-balancers/new/", form, follow=True)

        lb = LoadBalancer.objects.get()
        assert response.redirect_chain == [(f"/load-balancers/{lb.pk}/", 302)]
        assert "Load balancer shop is being created." in response.content.decode()
        assert lb.health_monitor == HTTP_MONITOR
        assert sorted(lb.tags.values_list("value", flat=True)) == ["env=prod", "web"]
        assert lb.deletion_protection is True
        assert sorted(lb.members.values_list("server_id", "weight", "admin_state")) == [
            (a.pk, 1, "enabled"),
            (b.pk, 1, "enabled"),
        ]
        record = client_for(alice).get(f"/api/v1/load-balancers/{lb.pk}/").json()
        assert (record["health_monitor"], record["tags"], record["deletion_protection"]) == (
            HTTP_MONITOR,
            ["env=prod", "web"],
            True,
        )

    def test_a_tcp_monitor_ignores_the_http_fields_the_page_always_sends(self, alice_web):
        form = create_form(alice_web)
        form.update(name=["shop"], servers=[str(ServerFactory().pk)], health_monitor=["TCP"])

        response = alice_web.post("/load-balancers/new/", form)

        assert response.status_code == 302, errors_of(response)
        assert LoadBalancer.objects.get().health_monitor == {
            "type": "TCP",
            "interval": 5,
            "timeout": 3,
            "retries_up": 2,
            "retries_down": 3,
        }

    def test_no_monitor_chosen_means_none_whatever_the_monitor_fields_say(self, alice_web):
        form = create_form(alice_web)
        form.update(name=["shop"], servers=[str(ServerFactory().pk)], monitor_interval=["0"], monitor_timeout=["x"])

        response = alice_web.post("/load-balancers/new/", form)

        assert response.status_code == 302, errors_of(response)
        lb = LoadBalancer.objects.get()
        assert (lb.health_monitor, lb.deletion_protection, lb.tags.count()) == (None, False, 0)

    def test_a_bad_monitor_shows_every_problem_next_to_the_monitor_and_creates_nothing(self, alice_web):
        form = create_form(alice_web)
        form.update(
            name=["shop"],
            servers=[str(ServerFactory().pk)],
            health_monitor=["HTTP"],
            monitor_interval=["5"],
            monitor_timeout=["5"],
            monitor_expected_codes=["abc"],
        )

        response = alice_web.post("/load-balancers/new/", form)

        assert response.status_code == 200
        problems = [
            "timeout must be less than interval (5 s is not less than 5 s)",
            "expected codes must be codes and ranges such as 200, 200,202 or 200-399 (got 'abc')",
        ]
        assert errors_of(response) == {"health_monitor": problems}
        html = response.content.decode()
        opening, inside = monitor_fieldset(html)
        assert "has-error" in opening
        for problem in problems:
            assert f'<p class="field-error">{escape(problem)}</p>' in inside
        assert 'aria-invalid="true"' in inside
        summary = error_summary(html)
        assert "Please fix these 2 problems" in summary
        for problem in problems:
            assert f"Health monitor: {problem}" in summary
        assert 'href="#id_health_monitor"' in html
        # What was typed is shown again, to be corrected.
        again = posted(html)
        assert (again["health_monitor"], again["monitor_timeout"], again["monitor_expected_codes"]) == (
            ["HTTP"],
            ["5"],
            ["abc"],
        )
        assert LoadBalancer.objects.count() == 0

    @pytest.mark.parametrize(
        ("tags", "says"),
        [
            ("-web", "'-web' is not a tag"),
            ("env=", "'env=' is not a tag"),
            ("portal:owner=x", "'portal:owner=x': keys starting with"),
            ("env=prod, env=dev", "each key may appear once; repeated: env"),
            (" ".join(f"t{n}" for n in range(21)), "at most 20 tags (got 21)"),
        ],
    )
    def test_bad_tags_show_next_to_tags_and_create_nothing(self, alice_web, tags, says):
        form = create_form(alice_web)
        form.update(name=["shop"], servers=[str(ServerFactory().pk)], tags=[tags])

        response = alice_web.post("/load-balancers/new/", form)

        assert response.status_code == 200
        errors = errors_of(response)
        assert list(errors) == ["tags"], errors
        assert any(says in problem for problem in errors["tags"]), errors
        html = response.content.decode()
        field = re.search(r'<div class="field has-error">\s*<label for="id_tags">(.*?)<input', html, re.S)
        assert field, "the Tags field is not marked as wrong"
        assert escape(says) in field.group(1)
        assert re.search(r'<input[^>]*id="id_tags"[^>]*aria-invalid="true"', html)
        assert f"Tags: {says}" in error_summary(html)
        assert posted(html)["tags"] == [tags]
        assert LoadBalancer.objects.count() == 0


# -- edit -------------------------------------------------------------------------------------


def edit_form(web: Client, lb: LoadBalancer) -> tuple[dict[str, list[str]], str]:
    page = web.get(f"/load-balancers/{lb.pk}/edit/")
    assert page.status_code == 200
    html = page.content.decode()
    return posted(html), html


class TestEdit:
    @pytest.fixture
    def servers(self, db) -> tuple[Server, Server]:  # type: ignore[no-untyped-def]
        return ServerFactory(name="web-a"), ServerFactory(name="web-b")

    def test_shows_each_current_members_weight_and_drain(self, alice_web, alice, servers):
        a, b = servers
        lb = with_members(
            LoadBalancerRowFactory(created_by=alice), (a, {"weight": 5}), (b, {"weight": 0, "admin_state": "drain"})
        )

        form, html = edit_form(alice_web, lb)

        assert (form[f"weight_{a.pk}"], form.get(f"drain_{a.pk}")) == (["5"], None)
        assert (form[f"weight_{b.pk}"], form[f"drain_{b.pk}"]) == (["0"], ["1"])
        assert sorted(form["servers"]) == sorted([str(a.pk), str(b.pk)])
        table = re.search(r'<fieldset[^>]*id="member-settings".*?</fieldset>', html, re.S).group(0)
        assert f'<label class="visually-hidden" for="weight_{a.pk}">Weight of web-a</label>' in table
        assert f'<label for="drain_{b.pk}">Drain web-b</label>' in table

    def test_a_new_weight_and_a_drain_are_saved(self, alice_web, alice, servers):
        a, b = servers
        lb = with_members(LoadBalancerRowFactory(created_by=alice), (a, {}), (b, {}))
        form, _ = edit_form(alice_web, lb)
        form[f"weight_{a.pk}"] = ["3"]
        form[f"drain_{b.pk}"] = ["1"]

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form, follow=True)

        assert response.redirect_chain == [(f"/load-balancers/{lb.pk}/", 302)], errors_of(response)
        assert f"Load balancer {lb.name} is being updated." in response.content.decode()
        lb.refresh_from_db()
        assert lb.provisioning_status == "PENDING_UPDATE"
        assert list(lb.members.values_list("server_id", "weight", "admin_state")) == [
            (a.pk, 3, "enabled"),
            (b.pk, 1, "drain"),
        ]
        rows = member_rows(response.content.decode())
        assert (rows[a.pk][2:4], rows[b.pk][2:4]) == (["3", "enabled"], ["1", "drain"])

    def test_a_member_added_on_the_edit_page_gets_the_defaults(self, alice_web, alice, servers):
        a, b = servers
        lb = with_members(LoadBalancerRowFactory(created_by=alice), (a, {"weight": 7}))
        form, _ = edit_form(alice_web, lb)
        form["servers"] = [str(a.pk), str(b.pk)]

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert response.status_code == 302, errors_of(response)
        assert list(lb.members.values_list("server_id", "weight", "admin_state")) == [
            (a.pk, 7, "enabled"),
            (b.pk, 1, "enabled"),
        ]

    def test_a_member_unpicked_goes_although_its_weight_row_is_still_sent(self, alice_web, alice, servers):
        a, b = servers
        lb = with_members(LoadBalancerRowFactory(created_by=alice), (a, {"weight": 7}), (b, {"weight": 4}))
        form, _ = edit_form(alice_web, lb)
        form["servers"] = [str(b.pk)]
        assert f"weight_{a.pk}" in form

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert response.status_code == 302, errors_of(response)
        assert list(lb.members.values_list("server_id", "weight", "admin_state")) == [(b.pk, 4, "enabled")]

    def test_a_member_the_inventory_drained_stays_so_and_cannot_be_enabled_here(self, alice_web, alice, servers):
        a, b = servers
        Server.objects.filter(pk=b.pk).update(status="MAINTENANCE")
        lb = with_members(
            LoadBalancerRowFactory(created_by=alice),
            (a, {}),
            (b, {"admin_state": "drain", "drained_by_inventory": True, "operating_status": "DRAINING"}),
        )
        form, html = edit_form(alice_web, lb)
        row = re.search(rf'<tr data-member="{b.pk}">(.*?)</tr>', html, re.S).group(1)
        assert "drained by the inventory" in text(row)
        assert form[f"drain_{b.pk}"] == ["1"]

        untouched = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert untouched.status_code == 302, errors_of(untouched)
        # Still the inventory's drain: it is enabled again once the server is OK again.
        assert list(lb.members.values_list("server_id", "admin_state", "drained_by_inventory")) == [
            (a.pk, "enabled", False),
            (b.pk, "drain", True),
        ]
        LoadBalancer.objects.filter(pk=lb.pk).update(provisioning_status="ACTIVE", pending_since=None)
        before = stored(lb)
        form, _ = edit_form(alice_web, lb)
        del form[f"drain_{b.pk}"]

        enabled = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert enabled.status_code == 200
        [problem] = errors_of(enabled)["servers"]
        assert "stays in drain until operations set the server OK again" in problem
        assert stored(lb) == before

    @pytest.mark.parametrize(
        ("weight", "says"),
        [("300", "weight must be between 0 and 256 (got 300)"), ("abc", "weight must be a whole number (got 'abc')")],
    )
    def test_a_bad_weight_shows_the_error_keeps_what_was_typed_and_changes_nothing(
        self, alice_web, alice, servers, weight, says
    ):
        a, b = servers
        lb = with_members(LoadBalancerRowFactory(created_by=alice), (a, {"weight": 2}), (b, {}))
        before = stored(lb)
        form, _ = edit_form(alice_web, lb)
        form[f"weight_{a.pk}"] = [weight]
        form[f"drain_{b.pk}"] = ["1"]

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert response.status_code == 200
        errors = errors_of(response)
        assert list(errors) == ["servers"], errors
        assert [problem for problem in errors["servers"] if says in problem], errors
        html = response.content.decode()
        # Next to the server picker (the weights belong to its members), naming the server as the page shows it.
        assert f"Backend servers: {a.name} (server {a.pk}): {says}" in error_summary(html)
        assert escape(says) in re.search(r'<div class="field-errors" id="servers-errors">.*?</div>', html, re.S).group(
            0
        )
        again = posted(html)  # the member table shows what was typed, to be corrected
        assert (again[f"weight_{a.pk}"], again[f"drain_{b.pk}"]) == ([weight], ["1"])
        assert stored(lb) == before

    def test_the_monitor_is_prefilled_and_none_removes_it(self, alice_web, alice, servers):
        lb = with_members(LoadBalancerRowFactory(created_by=alice, health_monitor=HTTP_MONITOR), (servers[0], {}))
        form, _ = edit_form(alice_web, lb)

        assert {name: form[name] for name in form if name == "health_monitor" or name.startswith("monitor_")} == {
            "health_monitor": ["HTTP"],
            "monitor_interval": ["10"],
            "monitor_timeout": ["4"],
            "monitor_retries_up": ["2"],
            "monitor_retries_down": ["5"],
            "monitor_http_path": ["/healthz"],
            "monitor_expected_codes": ["200-299"],
        }
        form["health_monitor"] = [""]

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert response.status_code == 302, errors_of(response)
        lb.refresh_from_db()
        assert (lb.health_monitor, lb.provisioning_status) == (None, "PENDING_UPDATE")

    def test_saving_untouched_keeps_the_monitor_tags_members_and_protection(self, alice_web, alice, servers):
        a, b = servers
        lb = with_members(
            LoadBalancerRowFactory(created_by=alice, health_monitor=HTTP_MONITOR, deletion_protection=True),
            (a, {"weight": 9}),
            (b, {"weight": 0, "admin_state": "drain"}),
        )
        for tag in ("env=prod", "web"):
            lb.tags.create(value=tag)
        before = stored(lb)
        form, _ = edit_form(alice_web, lb)

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert response.status_code == 302, errors_of(response)
        after = stored(lb)
        assert after[1] == "PENDING_UPDATE"  # "apply it again"
        assert after[2:] == before[2:]

    def test_unticking_deletion_protection_turns_it_off(self, alice_web, alice, servers):
        lb = with_members(LoadBalancerRowFactory(created_by=alice, deletion_protection=True), (servers[0], {}))
        form, _ = edit_form(alice_web, lb)
        assert form["deletion_protection"] == ["on"]
        del form["deletion_protection"]

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert response.status_code == 302, errors_of(response)
        lb.refresh_from_db()
        assert lb.deletion_protection is False

    def test_tags_are_prefilled_and_replaced(self, alice_web, alice, servers):
        lb = with_members(LoadBalancerRowFactory(created_by=alice), (servers[0], {}))
        for tag in ("env=prod", "web"):
            lb.tags.create(value=tag)
        form, _ = edit_form(alice_web, lb)
        assert form["tags"] == ["env=prod web"]
        form["tags"] = ["env=dev,team=shop"]

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", form)

        assert response.status_code == 302, errors_of(response)
        assert sorted(lb.tags.values_list("value", flat=True)) == ["env=dev", "team=shop"]


# -- detail -----------------------------------------------------------------------------------


class TestDetail:
    def test_the_targets_table_notices_monitor_and_tags(self, alice_web, alice):
        up = ServerFactory(name="web-up", address="10.9.0.1", port=8080)
        drained = ServerFactory(name="web-drained", address="10.9.0.2", port=8080)
        resting = ServerFactory(name="web-resting", address="10.9.0.3", port=8080, status="MAINTENANCE")
        failing = ServerFactory(name="web-failing", address="2001:db8::4", port=80)
        lb = with_members(
            LoadBalancerRowFactory(created_by=alice, health_monitor=HTTP_MONITOR, operating_status="DEGRADED"),
            (up, {"weight": 3, "operating_status": "ONLINE"}),
            (drained, {"weight": 0, "admin_state": "drain", "operating_status": "DRAINING"}),
            (resting, {"admin_state": "drain", "drained_by_inventory": True, "operating_status": "DRAINING"}),
            (failing, {"weight": 2, "operating_status": "ERROR", "status_reason": "L7STS/503 Service Unavailable"}),
        )
        for tag in ("env=prod", "web"):
            lb.tags.create(value=tag)

        html = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()

        assert member_rows(html) == {
            up.pk: ["web-up", "10.9.0.1:8080", "3", "enabled", "online", "", "ok"],
            drained.pk: ["web-drained", "10.9.0.2:8080", "0", "drain", "draining", "", "ok"],
            resting.pk: ["web-resting", "10.9.0.3:8080", "1", "drain (inventory)", "draining", "", "maintenance"],
            failing.pk: [
                "web-failing",
                "[2001:db8::4]:80",
                "2",
                "enabled",
                "error",
                "L7STS/503 Service Unavailable",
                "ok",
            ],
        }
        notices = re.search(r'<div data-field="notices">(.*?)</div>', html, re.S).group(1)
        assert text(notices) == (
            "Member web-resting is in MAINTENANCE in the inventory: it is drained until operations set the server OK"
            " again."
        )
        monitor = re.search(r'<dd data-field="health_monitor">(.*?)</dd>', html, re.S).group(1)
        assert text(monitor) == HTTP_MONITOR_IN_WORDS
        links = {a["href"]: a for a in tag_attrs(html, "a") if a.get("class") == "tag"}
        assert set(links) == {"/load-balancers/?tag=env%3Dprod", "/load-balancers/?tag=web"}
        assert "On: it cannot be deleted until someone turns it off" not in html

    def test_a_tag_link_leads_to_the_list_of_load_balancers_with_that_tag(self, alice_web, alice):
        tagged = LoadBalancerRowFactory(name="tagged", created_by=alice)
        tagged.tags.create(value="env=prod")
        other = LoadBalancerRowFactory(name="other", created_by=alice)
        other.tags.create(value="env=dev")
        html = alice_web.get(f"/load-balancers/{tagged.pk}/").content.decode()
        [link] = [a["href"] for a in tag_attrs(html, "a") if a.get("class") == "tag"]

        listed = alice_web.get(link)

        assert listed.status_code == 200
        assert [lb.name for lb in listed.context["page"].items] == ["tagged"]

    def test_without_a_monitor_or_tags_it_says_none(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, deletion_protection=True)

        html = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()

        monitor = re.search(r'<dd data-field="health_monitor">(.*?)</dd>', html, re.S).group(1)
        assert text(monitor) == "None: members read no monitor"
        assert 'class="tags"' not in html
        assert "On: it cannot be deleted until someone turns it off (on its Delete page, or when editing it)" in html

    @pytest.mark.parametrize(("status", "shown"), [("ERROR", True), ("ACTIVE", False), ("PENDING_UPDATE", False)])
    def test_the_retry_button_shows_only_in_error(self, alice_web, alice, status, shown):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status=status, error_reason="boom")

        html = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()

        [form] = [f for f in tag_attrs(html, "form") if f.get("action") == f"/load-balancers/{lb.pk}/retry/"]
        assert form["data-when"] == "ERROR"  # the page's script shows it when the status turns ERROR
        assert ("hidden" not in form) is shown

    def test_a_viewer_is_offered_no_retry(self, viewer_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status="ERROR", error_reason="boom")

        html = viewer_web.get(f"/load-balancers/{lb.pk}/").content.decode()

        assert "boom" in html
        assert f"/load-balancers/{lb.pk}/retry/" not in html
        assert ">Retry<" not in html


class TestRetry:
    @pytest.mark.parametrize(("ref", "pending"), [(None, "PENDING_CREATE"), ("sbx-1", "PENDING_UPDATE")])
    def test_the_owner_retries_an_error_load_balancer(self, alice_web, alice, ref, pending):
        lb = LoadBalancerRowFactory(
            name="broken", created_by=alice, provisioning_status="ERROR", error_reason="no capacity", provider_ref=ref
        )
        lb.members.create(server=ServerFactory())

        response = alice_web.post(f"/load-balancers/{lb.pk}/retry/", follow=True)

        assert response.redirect_chain == [(f"/load-balancers/{lb.pk}/", 302)]
        assert messages_of(response) == [f"Load balancer broken is being provisioned again ({pending})."]
        lb.refresh_from_db()
        assert (lb.provisioning_status, lb.error_reason) == (pending, None)
        html = response.content.decode()
        assert "no capacity" not in html
        assert 'data-pending="true"' in html  # the page follows it from now on

    def test_a_viewer_gets_the_403_page_and_nothing_changes(self, viewer_web, alice):
        lb = LoadBalancerRowFactory(name="broken", created_by=alice, provisioning_status="ERROR", error_reason="x")
        before = stored(lb)

        response = viewer_web.post(f"/load-balancers/{lb.pk}/retry/")

        assert response.status_code == 403
        said = text(response.content.decode())
        assert "You cannot retry broken" in said
        assert "where your role is viewer" in said
        assert "ask an owner of the team: alice" in said
        assert stored(lb) == before

    def test_someone_outside_the_team_gets_404(self, bob):
        lb = LoadBalancerRowFactory(created_by=UserFactory(username="carol"), provisioning_status="ERROR")

        assert web_for(bob).post(f"/load-balancers/{lb.pk}/retry/").status_code == 404
        assert LoadBalancer.objects.get(pk=lb.pk).provisioning_status == "ERROR"

    def test_an_active_load_balancer_is_not_retried_and_says_why(self, alice_web, alice):
        lb = LoadBalancerRowFactory(name="fine", created_by=alice)
        before = stored(lb)

        response = alice_web.post(f"/load-balancers/{lb.pk}/retry/", follow=True)

        assert response.redirect_chain == [(f"/load-balancers/{lb.pk}/", 302)]
        assert messages_of(response) == ["cannot retry a load balancer that is ACTIVE (only when ERROR)"]
        assert stored(lb) == before

    def test_retry_takes_posts_only(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status="ERROR")

        assert alice_web.get(f"/load-balancers/{lb.pk}/retry/").status_code == 405
        assert LoadBalancer.objects.get(pk=lb.pk).provisioning_status == "ERROR"


# -- delete and deletion protection ----------------------------------------------------------


class TestDeletionProtection:
    @pytest.mark.parametrize("status", ["ACTIVE", "ERROR"])
    def test_the_delete_page_explains_and_offers_to_turn_it_off_then_delete_works(self, alice_web, alice, status):
        lb = LoadBalancerRowFactory(
            name="guarded", created_by=alice, provisioning_status=status, deletion_protection=True
        )
        url = f"/load-balancers/{lb.pk}/"

        page = alice_web.get(f"{url}delete/").content.decode()

        assert "deletion protection</strong> on" in page
        assert "Turn deletion protection off" in page
        assert [f["action"] for f in tag_attrs(page, "form") if f.get("method") == "post"][-1] == f"{url}unprotect/"
        assert "Delete guarded</button>" not in page  # no delete button while protected

        refused = alice_web.post(f"{url}delete/", follow=True)

        assert refused.redirect_chain == [(url, 302)]
        assert messages_of(refused) == [
            "load balancer guarded has deletion protection on: turn it off first (on its Delete page, or PATCH"
            ' {"deletion_protection": false}), then delete it'
        ]
        lb.refresh_from_db()
        assert (lb.provisioning_status, lb.deletion_protection) == (status, True)

        unprotected = alice_web.post(f"{url}unprotect/", follow=True)

        assert unprotected.redirect_chain == [(f"{url}delete/", 302)]
        assert messages_of(unprotected) == ["Deletion protection of guarded is off: it can be deleted now."]
        assert "Delete guarded</button>" in unprotected.content.decode()
        lb.refresh_from_db()
        # The portal's own setting: nothing for the provider to do, so no PENDING_UPDATE.
        assert (lb.provisioning_status, lb.deletion_protection) == (status, False)

        deleted = alice_web.post(f"{url}delete/", follow=True)

        assert messages_of(deleted) == ["Load balancer guarded is being deleted."]
        lb.refresh_from_db()
        assert lb.provisioning_status == "PENDING_DELETE"

    def test_a_viewer_cannot_turn_it_off(self, viewer_web, alice):
        lb = LoadBalancerRowFactory(name="guarded", created_by=alice, deletion_protection=True)

        response = viewer_web.post(f"/load-balancers/{lb.pk}/unprotect/")

        assert response.status_code == 403
        assert "You cannot change guarded" in response.content.decode()
        assert LoadBalancer.objects.get(pk=lb.pk).deletion_protection is True

    def test_while_pending_it_says_why_and_keeps_the_protection(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status="PENDING_UPDATE", deletion_protection=True)

        response = alice_web.post(f"/load-balancers/{lb.pk}/unprotect/", follow=True)

        assert response.redirect_chain == [(f"/load-balancers/{lb.pk}/", 302)]
        assert [m for m in messages_of(response) if "wait until it is ACTIVE or ERROR" in m]
        assert LoadBalancer.objects.get(pk=lb.pk).deletion_protection is True

    def test_unprotect_takes_posts_only(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, deletion_protection=True)

        assert alice_web.get(f"/load-balancers/{lb.pk}/unprotect/").status_code == 405
        assert LoadBalancer.objects.get(pk=lb.pk).deletion_protection is True


# -- list -------------------------------------------------------------------------------------


class TestList:
    def test_tags_are_shown_and_filter_the_list(self, alice_web, alice):
        prod = LoadBalancerRowFactory(name="prod-shop", created_by=alice)
        for tag in ("env=prod", "web"):
            prod.tags.create(value=tag)
        LoadBalancerRowFactory(name="dev-shop", created_by=alice).tags.create(value="env=dev")
        LoadBalancerRowFactory(name="untagged", created_by=alice)

        html = alice_web.get("/load-balancers/").content.decode()

        tags = re.search(r'<ul class="tags" aria-label="Tags of prod-shop">(.*?)</ul>', html, re.S).group(1)
        assert text(tags) == "env=prod web"
        assert 'href="?tag=env%3Dprod"' in tags

        def names(query: str) -> list[str]:
            response = alice_web.get(f"/load-balancers/?{query}")
            assert response.status_code == 200
            assert "Some filters are not valid" not in response.content.decode()
            return sorted(lb.name for lb in response.context["page"].items)

        assert names("tag=env=prod") == ["prod-shop"]
        assert names("tag=env%3Dprod&tag=web") == ["prod-shop"]
        assert names("tag=web&tag=env=dev") == []
        assert names("tag=") == ["dev-shop", "prod-shop", "untagged"]
        filtered = alice_web.get("/load-balancers/?tag=env=prod").content.decode()
        assert 'name="tag" value="env=prod"' in filtered  # the filter shows what it filters on

    @pytest.mark.parametrize(
        "query",
        [
            "tag=env=prod",
            "tag=env=prod&tag=web",
            "tag=env=prod+web",
        ],
    )
    def test_the_filter_form_submitted_again_keeps_the_tag_filter(self, alice_web, alice, query):
        both = LoadBalancerRowFactory(name="both", created_by=alice)
        for tag in ("env=prod", "web"):
            both.tags.create(value=tag)
        LoadBalancerRowFactory(name="web-only", created_by=alice).tags.create(value="web")
        LoadBalancerRowFactory(name="prod-only", created_by=alice).tags.create(value="env=prod")
        first = alice_web.get(f"/load-balancers/?{query}")
        shown = sorted(lb.name for lb in first.context["page"].items)
        assert "both" in shown

        form = posted(first.content.decode(), lambda attrs: attrs.get("aria-label") == "Filter load balancers")
        again = alice_web.get("/load-balancers/", form)

        assert sorted(lb.name for lb in again.context["page"].items) == shown

    @pytest.mark.parametrize("query", ["tag=bad%21tag", "tag=-web", "tag=env%3D", "tag=web&tag=a%00"])
    def test_a_bad_tag_says_so_instead_of_failing(self, alice_web, alice, query):
        LoadBalancerRowFactory(created_by=alice)

        response = alice_web.get(f"/load-balancers/?{query}")

        assert response.status_code == 200
        assert "Some filters are not valid: tag" in response.content.decode()
        assert response.context["page"] is None


# -- admin ------------------------------------------------------------------------------------


def act(client: Client, action: str, *objects: LoadBalancer) -> list[str]:
    response = client.post(LB_ADMIN, {"action": action, "_selected_action": [str(o.pk) for o in objects]}, follow=True)
    return messages_of(response)


class TestAdmin:
    def test_the_change_page_shows_members_settings_and_health_the_monitor_and_tags(self, ops_web):
        lb = with_members(
            LoadBalancerRowFactory(name="shop", health_monitor=HTTP_MONITOR, deletion_protection=True),
            (ServerFactory(name="web-up"), {"weight": 3, "operating_status": "ONLINE"}),
            (
                ServerFactory(name="web-sick"),
                {"weight": 0, "admin_state": "drain", "operating_status": "ERROR", "status_reason": "L4TOUT"},
            ),
        )
        for tag in ("env=prod", "web"):
            lb.tags.create(value=tag)

        html = ops_web.get(f"{LB_ADMIN}{lb.pk}/change/").content.decode()

        for header in ("Weight", "Admin state", "Operating status", "Status reason", "Drained by inventory"):
            assert re.search(rf"<th[^>]*>\s*{header}\s*</th>", html, re.I), header
        rows = re.findall(r'<tr class="form-row[^"]*"[^>]*>(.*?)</tr>', html, re.S)
        assert len(rows) == 2, rows
        shown = [
            {name: text(value) for name, value in re.findall(r'<td class="field-(\w+)">(.*?)</td>', row, re.S)}
            for row in rows
        ]
        assert [(r["weight"], r["admin_state"], r["operating_status"], r["status_reason"]) for r in shown] == [
            ("3", "enabled", "ONLINE", "-"),
            ("0", "drain", "ERROR", "L4TOUT"),
        ], shown
        assert HTTP_MONITOR_IN_WORDS in html
        assert "env=prod, web" in html

    def test_delete_through_provider_refuses_each_protected_load_balancer_and_deletes_nothing(self, ops_web):
        guarded = LoadBalancerRowFactory(name="guarded", deletion_protection=True)
        broken = LoadBalancerRowFactory(
            name="broken-guarded", provisioning_status="ERROR", error_reason="x", deletion_protection=True
        )
        free = LoadBalancerRowFactory(name="free")

        reports = act(ops_web, "delete_through_provider", guarded, broken, free)

        for name in ("guarded", "broken-guarded"):
            assert (
                f"Load balancer {name}: load balancer {name} has deletion protection on: turn it off first (on its"
                ' Delete page, or PATCH {"deletion_protection": false}), then delete it'
            ) in reports, reports
        assert "Load balancer free: deleting: PENDING_DELETE" in reports
        assert len(reports) == 3, reports
        statuses = dict(LoadBalancer.objects.values_list("name", "provisioning_status"))
        assert statuses == {"guarded": "ACTIVE", "broken-guarded": "ERROR", "free": "PENDING_DELETE"}
        assert set(LoadBalancer.objects.filter(deletion_protection=True).values_list("name", flat=True)) == {
            "guarded",
            "broken-guarded",
        }


# -- in a real browser ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_owner_sets_a_weight_and_drains_a_member(browser, portal):
    from axe_playwright_python.sync_playwright import Axe

    from loadbalancers.application.payloads import CreateLoadBalancer
    from loadbalancers.bootstrap import actor_of, build

    alice = UserFactory(username="alice", password=PASSWORD)
    a, b = ServerFactory(name="web-a"), ServerFactory(name="web-b")
    view = build().load_balancers.create_one(actor_of(alice), CreateLoadBalancer(name="shop", servers=[a.pk, b.pk]))
    wait_until(lambda: LoadBalancer.objects.get(pk=view.id).provisioning_status == "ACTIVE", timeout=SLOW)
    page = new_page(browser, portal, "alice")
    page.goto(f"{portal}/load-balancers/{view.id}/")
    targets = page.get_by_role("region", name="Targets", exact=True)

    def cells(server: str):  # type: ignore[no-untyped-def]
        return targets.get_by_role("row", name=re.compile(rf"^{server}\b")).get_by_role("cell")

    expect(cells("web-a").nth(2)).to_have_text("1")
    expect(cells("web-b").nth(3)).to_have_text("enabled")

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit shop")
    violations = Axe().run(page, options=WCAG_AA).response["violations"]
    assert [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []
    expect(page.get_by_label("Weight of web-a")).to_have_value("1")
    page.get_by_label("Weight of web-a").fill("3")
    page.get_by_label("Drain web-b").check()
    page.get_by_role("button", name="Review changes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review")
    page.get_by_role("button", name="Apply changes").click()

    expect(page.get_by_text("Load balancer shop is being updated.")).to_be_visible()
    # Once the sandbox has applied it, the page (which follows it by itself) shows the
    # members as the provider reports them: web-b draining.
    expect(page.locator('[data-field="provisioning_status"]')).to_have_text("active", timeout=SLOW * 1000)
    expect(cells("web-b").nth(4)).to_have_text("draining", timeout=SLOW * 1000)
    expect(cells("web-a").nth(2)).to_have_text("3")
    expect(cells("web-a").nth(3)).to_have_text("enabled")
    expect(cells("web-a").nth(4)).to_have_text("no monitor")
    expect(cells("web-b").nth(2)).to_have_text("1")
    expect(cells("web-b").nth(3)).to_have_text("drain")
    assert list(LoadBalancer.objects.get(pk=view.id).members.values_list("server_id", "weight", "admin_state")) == [
        (a.pk, 3, "enabled"),
        (b.pk, 1, "drain"),
    ]
