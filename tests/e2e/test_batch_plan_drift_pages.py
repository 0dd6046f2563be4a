"""Deleting several load balancers at once, reviewing a change before it is applied, and
drift, on the self-service pages and in the admin (Django's test client, the real
database, the sandbox LBaaS and, for a configuration diff, a real HAProxy); and once in a
real browser (Debian's Chromium driven by Playwright, a live server and a real Celery
worker).

Forms are posted as a browser would post them: every control the page renders, with
the value it shows (``posted``), plus the button pressed."""

from __future__ import annotations

import dataclasses
import os
import re
from datetime import UTC, timedelta

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from playwright.sync_api import expect

from loadbalancers.application.payloads import CreateLoadBalancer
from loadbalancers.bootstrap import actor_of, build, providers
from loadbalancers.domain.model import Algorithm, ProvisioningStatus
from loadbalancers.models import Drift, LoadBalancer
from servers.models import Server
from tests.conftest import wait_until
from tests.e2e.test_browser import PASSWORD, WCAG_AA, new_page
from tests.e2e.test_load_balancer_depth_pages import (
    edit_form,
    errors_of,
    messages_of,
    posted,
    stored,
    tag_attrs,
    text,
    web_for,
)
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory, add_member, personal_team
from tests.integration.lbaas.haproxy_fixtures import free_port

pytestmark = pytest.mark.django_db

LIST = "/load-balancers/"
BATCH = "/load-balancers/batch-delete/"
LB_ADMIN = "/admin/loadbalancers/loadbalancer/"
DRIFT_ADMIN = "/admin/loadbalancers/drift/"
SLOW = 30.0  # seconds: generous, for a busy machine
PROTECTED = (
    'load balancer guarded has deletion protection on: turn it off first (on its Delete page, or PATCH {"deletion_'
    'protection": false}), then delete it'
)


@pytest.fixture
def alice_web(alice) -> Client:  # type: ignore[no-untyped-def]
    return web_for(alice)


@pytest.fixture
def viewer(alice):  # type: ignore[no-untyped-def]
    """Vera, a viewer in alice's team: she sees its load balancers but may not change them."""
    return add_member(personal_team(alice), UserFactory(username="vera"), "viewer")


def statuses() -> dict[str, str]:
    return dict(LoadBalancer.objects.values_list("name", "provisioning_status"))


def active_at_provider(user, name: str, servers: list[Server], **fields: object) -> LoadBalancer:  # type: ignore[no-untyped-def]
    """A load balancer made through the service and provisioned at its provider, step by
    step in this thread (no worker), until the provider reports it ACTIVE."""
    services = build()
    payload = CreateLoadBalancer(name=name, servers=[s.pk for s in servers], **fields)  # type: ignore[arg-type]
    view = services.load_balancers.create_one(actor_of(user), payload)
    services.provisioning.provision(view.id)
    wait_until(lambda: not services.provisioning.follow(view.id), timeout=SLOW)
    lb = LoadBalancer.objects.get(pk=view.id)
    assert lb.provisioning_status == "ACTIVE", lb.error_reason
    return lb


def applied(lb: LoadBalancer) -> LoadBalancer:
    """The PENDING_UPDATE load balancer sent to its provider and followed until ACTIVE."""
    steps = build().provisioning
    steps.apply_update(lb.pk)
    wait_until(lambda: not steps.follow(lb.pk), timeout=SLOW)
    lb.refresh_from_db()
    assert lb.provisioning_status == "ACTIVE", lb.error_reason
    return lb


def running(lb: LoadBalancer):  # type: ignore[no-untyped-def]
    """What its provider runs for it now."""
    return providers().get(lb.provider).get(lb.provider_ref).running


def drift_of(lb: LoadBalancer, field: str = "algorithm", **fields: object) -> Drift:
    now = timezone.now()
    values = {"desired": "ROUND_ROBIN", "actual": "SOURCE_IP", "first_seen_at": now, "last_seen_at": now}
    return Drift.objects.create(load_balancer=lb, field=field, **{**values, **fields})


# -- deleting several from the list ------------------------------------------------------------


def tick_boxes(html: str) -> list[str]:
    """The values of the list's tick boxes, in the order shown."""
    return [a["value"] for a in tag_attrs(html, "input") if a.get("name") == "ids"]  # type: ignore[misc]


def confirmation(html: str) -> dict[str, list[str]]:
    """What the confirmation page's delete button sends."""
    return {**posted(html, lambda a: a.get("id") == "batch-delete-confirm"), "confirm": ["yes"]}


def listed(html: str) -> list[str]:
    """The confirmation page's list, one text per load balancer, in order."""
    found = re.search(r'<ul class="batch-list"[^>]*>(.*?)</ul>', html, re.S)
    assert found, "no list of load balancers to delete"
    return [text(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)]


class TestBatchDelete:
    def test_the_list_offers_a_tick_box_for_each_one_the_user_may_delete(self, alice_web, alice, bob):
        shop = LoadBalancerRowFactory(name="shop", created_by=alice)
        broken = LoadBalancerRowFactory(name="broken", created_by=alice, provisioning_status="ERROR")
        LoadBalancerRowFactory(name="busy", created_by=alice, provisioning_status="PENDING_UPDATE")
        LoadBalancerRowFactory(name="retired", created_by=alice, provider="retired")
        guarded = LoadBalancerRowFactory(name="guarded", created_by=alice, deletion_protection=True)
        theirs = LoadBalancerRowFactory(name="theirs", created_by=bob)
        add_member(personal_team(bob), alice, "viewer")  # alice sees bob's, but may not change them

        html = alice_web.get(LIST).content.decode()

        assert sorted(tick_boxes(html)) == sorted(str(lb.pk) for lb in (shop, broken, guarded))
        assert f'aria-label="Select {shop.name}"' in html
        assert str(theirs.pk) not in tick_boxes(html)
        form = next(a for a in tag_attrs(html, "form") if a.get("id") == "batch-delete-form")
        assert (form["method"], form["action"]) == ("get", BATCH)
        assert "Delete selected</button>" in html
        select_all = next(a for a in tag_attrs(html, "input") if "data-select-all" in a)
        assert "hidden" in select_all  # only the script shows it: without script, each box is ticked by hand

    def test_a_viewer_gets_no_tick_boxes_and_no_delete_button(self, viewer, alice):
        LoadBalancerRowFactory(name="shop", created_by=alice)

        html = web_for(viewer).get(LIST).content.decode()

        assert tick_boxes(html) == []
        assert "Delete selected" not in html
        assert "data-select-all" not in html

    def test_two_ticked_are_named_then_deleted_together(self, alice_web, alice):
        first = LoadBalancerRowFactory(name="shop-a", created_by=alice, vip_address="198.51.100.7")
        second = LoadBalancerRowFactory(name="shop-b", created_by=alice, provisioning_status="ERROR")
        LoadBalancerRowFactory(name="shop-c", created_by=alice)

        page = alice_web.get(BATCH, {"ids": [str(first.pk), str(second.pk)]})

        assert page.status_code == 200
        html = page.content.decode()
        shown = listed(html)
        assert shown[0].startswith("shop-a active team alice, 198.51.100.7"), shown
        assert shown[1].startswith("shop-b error team alice"), shown
        assert "Delete 2 load balancers</button>" in html
        assert statuses() == {"shop-a": "ACTIVE", "shop-b": "ERROR", "shop-c": "ACTIVE"}  # nothing yet

        done = alice_web.post(BATCH, confirmation(html), follow=True)

        assert done.redirect_chain == [(LIST, 302)]
        assert messages_of(done) == ["2 load balancers are being deleted: shop-a, shop-b."]
        assert statuses() == {"shop-a": "PENDING_DELETE", "shop-b": "PENDING_DELETE", "shop-c": "ACTIVE"}

    def test_a_protected_one_is_refused_with_its_reason_and_nothing_is_deleted(self, alice_web, alice):
        first = LoadBalancerRowFactory(name="shop-a", created_by=alice)
        guarded = LoadBalancerRowFactory(name="guarded", created_by=alice, deletion_protection=True)
        last = LoadBalancerRowFactory(name="shop-c", created_by=alice)
        ids = [str(lb.pk) for lb in (first, guarded, last)]
        html = alice_web.get(BATCH, {"ids": ids}).content.decode()
        assert "deletion protection on" in listed(html)[1]

        refused = alice_web.post(BATCH, confirmation(html))

        assert refused.status_code == 200
        assert messages_of(refused) == ["1 of 3 load balancers cannot be deleted; nothing was deleted."]
        html = refused.content.decode()
        shown = listed(html)
        assert f"Cannot be deleted: {PROTECTED}" in shown[1]
        assert "Cannot be deleted" not in shown[0] + shown[2]
        assert re.search(r'<li data-index="1" class="has-error">', html)
        assert statuses() == {"shop-a": "ACTIVE", "guarded": "ACTIVE", "shop-c": "ACTIVE"}
        assert confirmation(html)["ids"] == ids  # confirming again would ask for the same three

        # The others alone: named again, then deleted once confirmed.
        others = alice_web.post(BATCH, posted(html, lambda a: a.get("id") == "batch-delete-others"))
        assert [line.split()[0] for line in listed(others.content.decode())] == ["shop-a", "shop-c"]
        assert statuses() == {"shop-a": "ACTIVE", "guarded": "ACTIVE", "shop-c": "ACTIVE"}
        done = alice_web.post(BATCH, confirmation(others.content.decode()), follow=True)
        assert messages_of(done) == ["2 load balancers are being deleted: shop-a, shop-c."]
        assert statuses() == {"shop-a": "PENDING_DELETE", "guarded": "ACTIVE", "shop-c": "PENDING_DELETE"}

    def test_an_id_that_is_not_yours_or_not_an_id_names_nothing_and_is_refused(self, alice_web, alice, bob):
        mine = LoadBalancerRowFactory(name="shop", created_by=alice)
        theirs = LoadBalancerRowFactory(name="their-secret", created_by=bob)
        ids = [str(mine.pk), str(theirs.pk), "not-an-id"]

        page = alice_web.get(BATCH, {"ids": ids})

        html = page.content.decode()
        assert "their-secret" not in html
        shown = listed(html)
        assert shown[1] == f"{theirs.pk} (no load balancer of yours has this id)"
        assert shown[2] == "not-an-id (no load balancer of yours has this id)"

        refused = alice_web.post(BATCH, confirmation(html))

        assert messages_of(refused) == ["2 of 3 load balancers cannot be deleted; nothing was deleted."]
        html = refused.content.decode()
        assert "their-secret" not in html
        shown = listed(html)
        assert shown[1].endswith(f"Cannot be deleted: load balancer {theirs.pk} does not exist")
        assert "Cannot be deleted: 'not-an-id' is not a load balancer id" in shown[2]
        assert statuses() == {"shop": "ACTIVE", "their-secret": "ACTIVE"}

    @pytest.mark.parametrize(
        ("odd", "says"),
        [
            *((odd, "is not a load balancer id") for odd in ("\x00", "a\x00b", "x" * 5000, "0" * 33, "-1")),
            # Another spelling of the same id: the same load balancer asked for twice.
            *((odd, "is also item 0") for odd in ("{%s}", "urn:uuid:%s")),
        ],
    )
    def test_an_odd_id_is_shown_as_sent_and_refused_never_a_failure(self, alice_web, alice, odd, says):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)
        sent = odd % lb.pk if "%s" in odd else odd

        asked = alice_web.get(BATCH, {"ids": [sent]})
        refused = alice_web.post(BATCH, {"ids": [sent, str(lb.pk)], "confirm": "yes"})

        assert asked.status_code == 200
        assert refused.status_code == 200
        reasons = [re.findall(r"Cannot be deleted: (.*)", line) for line in listed(refused.content.decode())]
        refused_one = next(found for found in reasons if found)
        assert says in refused_one[0]
        assert sum(bool(found) for found in reasons) == 1
        assert statuses() == {"shop": "ACTIVE"}

    def test_a_viewer_is_refused_naming_the_role_needed(self, viewer, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)

        refused = web_for(viewer).post(BATCH, {"ids": [str(lb.pk)], "confirm": "yes"})

        assert refused.status_code == 200
        [reason] = [line for line in listed(refused.content.decode()) if "Cannot be deleted" in line]
        assert "you need the role member; your role there is viewer" in reason
        assert statuses() == {"shop": "ACTIVE"}

    def test_only_a_confirmed_post_deletes(self, alice_web, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)

        for response in (alice_web.get(BATCH, {"ids": [str(lb.pk)]}), alice_web.post(BATCH, {"ids": [str(lb.pk)]})):
            assert response.status_code == 200
            assert "Delete 1 load balancer</button>" in response.content.decode()

        assert statuses() == {"shop": "ACTIVE"}
        assert alice_web.get(BATCH, {"ids": [str(lb.pk)], "confirm": "yes"}).status_code == 200
        assert statuses() == {"shop": "ACTIVE"}  # a GET never deletes

    def test_nothing_ticked_or_too_many_says_so_on_the_list(self, alice_web, alice):
        nothing = alice_web.get(BATCH, follow=True)
        assert nothing.redirect_chain == [(LIST, 302)]
        assert messages_of(nothing) == ["Tick the load balancers to delete first."]

        too_many = alice_web.post(BATCH, {"ids": [str(n) for n in range(101)], "confirm": "yes"}, follow=True)
        assert too_many.redirect_chain == [(LIST, 302)]
        assert messages_of(too_many) == ["Delete at most 100 load balancers at once (101 were ticked)."]

    def test_the_confirmation_needs_a_session_and_its_csrf_token(self, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)
        assert Client().get(BATCH, {"ids": [str(lb.pk)]}).status_code == 302  # to sign in
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(alice)

        assert strict.post(BATCH, {"ids": [str(lb.pk)], "confirm": "yes"}).status_code == 403

        assert statuses() == {"shop": "ACTIVE"}


# -- reviewing a change before it is applied -----------------------------------------------------


def review(web: Client, lb: LoadBalancer, **changes: list[str]):  # type: ignore[no-untyped-def]
    """The edit form as shown, with ``changes``, sent by its "Review changes" button."""
    form, _ = edit_form(web, lb)
    form.update(changes)
    return web.post(f"/load-balancers/{lb.pk}/edit/", {**form, "step": ["review"]})


def review_form(html: str, lb: LoadBalancer, step: str) -> dict[str, list[str]]:
    """What the review page's button ``step`` (apply or edit) sends."""
    return {**posted(html, lambda a: a.get("action") == f"/load-balancers/{lb.pk}/edit/"), "step": [step]}


def table_rows(html: str, section: str) -> dict[str, tuple[str, str]]:
    """The review's table in the section ``section``: field -> (now, after)."""
    found = re.search(rf'<section[^>]*id="{section}".*?</section>', html, re.S)
    assert found, f"no section {section}"
    rows = re.findall(r'<tr data-field="([^"]+)">(.*?)</tr>', found.group(0), re.S)
    cells = {field: [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for field, row in rows}
    return {text(field): (now, after) for field, (now, after) in cells.items()}


def templates_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.name for t in response.templates if t.name]


class TestReview:
    @pytest.fixture
    def servers(self, db) -> list[Server]:  # type: ignore[no-untyped-def]
        return [ServerFactory(name=f"web-{letter}", address=f"10.9.0.{n}") for n, letter in enumerate("abc", 1)]

    @pytest.fixture
    def shop(self, alice, servers) -> LoadBalancer:  # type: ignore[no-untyped-def]
        return active_at_provider(alice, "shop", servers[:2])

    def test_the_edit_page_asks_for_a_review_not_a_save(self, alice_web, shop):
        _, html = edit_form(alice_web, shop)

        buttons = [a for a in tag_attrs(html, "button") if a.get("name") == "step"]
        assert buttons == [{"type": "submit", "name": "step", "value": "review", "class": "button"}]
        assert "Review changes</button>" in html
        assert "Save changes" not in html

    def test_the_review_shows_the_change_here_and_at_the_provider_and_changes_nothing(self, alice_web, shop, servers):
        a, b, c = servers
        before, at_provider = stored(shop), running(shop)

        response = review(alice_web, shop, servers=[str(a.pk), str(c.pk)], algorithm=["LEAST_CONNECTIONS"])

        assert response.status_code == 200, errors_of(response)
        assert "loadbalancers/review.html" in templates_of(response)
        html = response.content.decode()
        record = table_rows(html, "record-changes")
        assert record["algorithm"] == ("ROUND_ROBIN", "LEAST_CONNECTIONS")
        assert record["servers"] == (f"[{a.pk}, {b.pk}]", f"[{a.pk}, {c.pk}]")
        assert record["provisioning_status"] == ("ACTIVE", "PENDING_UPDATE")
        at_sandbox = table_rows(html, "provider-changes")
        assert at_sandbox["algorithm"] == ("ROUND_ROBIN", "LEAST_CONNECTIONS")
        assert at_sandbox["member 10.9.0.2:8080"] == ('{"admin_state": "enabled", "weight": 1}', "—")
        assert at_sandbox["member 10.9.0.3:8080"] == ("—", '{"admin_state": "enabled", "weight": 1}')
        assert "At the provider sandbox" in text(html)
        steps = re.search(r'<ol class="operations"[^>]*>(.*?)</ol>', html, re.S)
        assert steps, "no provider steps"
        assert "update load balancer" in text(steps.group(1))
        assert "<pre" not in html  # the sandbox has no configuration file
        # Nothing changed: not the record, not the provider.
        assert stored(shop) == before
        assert running(shop) == at_provider

    def test_apply_sends_exactly_what_was_reviewed(self, alice_web, shop, servers):
        a, _, c = servers
        form, _ = edit_form(alice_web, shop)
        form.update(servers=[str(a.pk), str(c.pk)], algorithm=["LEAST_CONNECTIONS"], description=["new front"])
        form[f"weight_{a.pk}"] = ["5"]
        reviewed = alice_web.post(f"/load-balancers/{shop.pk}/edit/", {**form, "step": ["review"]})
        html = reviewed.content.decode()
        carried = review_form(html, shop, "apply")
        for name, values in form.items():
            if name != "csrfmiddlewaretoken":
                assert carried[name] == values, name  # every value travels on unchanged

        done = alice_web.post(f"/load-balancers/{shop.pk}/edit/", carried, follow=True)

        assert done.redirect_chain == [(f"/load-balancers/{shop.pk}/", 302)]
        assert messages_of(done) == ["Load balancer shop is being updated."]
        shop.refresh_from_db()
        assert (shop.provisioning_status, shop.algorithm, shop.description) == (
            "PENDING_UPDATE",
            "LEAST_CONNECTIONS",
            "new front",
        )
        assert list(shop.members.values_list("server_id", "weight")) == [(a.pk, 5), (c.pk, 1)]
        # The provider then runs what the review said it would.
        now = running(applied(shop))
        assert now.algorithm == Algorithm.LEAST_CONNECTIONS
        assert sorted((m.address, m.weight) for m in now.members) == [("10.9.0.1", 5), ("10.9.0.3", 1)]

    def test_back_to_edit_shows_the_form_with_what_was_typed(self, alice_web, shop, servers):
        a, _, c = servers
        before = stored(shop)
        reviewed = review(
            alice_web, shop, servers=[str(a.pk), str(c.pk)], algorithm=["SOURCE_IP"], tags=["env=prod"]
        ).content.decode()

        back = alice_web.post(f"/load-balancers/{shop.pk}/edit/", review_form(reviewed, shop, "edit"))

        assert back.status_code == 200
        assert "loadbalancers/form.html" in templates_of(back)
        assert errors_of(back) == {}
        again = posted(back.content.decode())
        assert (again["algorithm"], again["tags"]) == (["SOURCE_IP"], ["env=prod"])
        assert sorted(again["servers"]) == sorted([str(a.pk), str(c.pk)])
        assert stored(shop) == before

    def test_a_change_that_would_be_refused_shows_the_errors_on_the_form(self, alice_web, shop, servers):
        a, _, c = servers
        before = stored(shop)

        response = review(alice_web, shop, servers=[str(a.pk)], **{f"weight_{a.pk}": ["300"]})

        assert response.status_code == 200
        assert "loadbalancers/form.html" in templates_of(response)
        assert "loadbalancers/review.html" not in templates_of(response)
        [problem] = errors_of(response)["servers"]
        assert "weight must be between 0 and 256 (got 300)" in problem
        assert f"web-a (server {a.pk})" in problem  # named as the page shows it
        assert posted(response.content.decode())[f"weight_{a.pk}"] == ["300"]  # kept, to be corrected

        Server.objects.filter(pk=c.pk).update(status="DOWN")
        down = review(alice_web, shop, servers=[str(a.pk), str(c.pk)])
        assert any("only OK servers may be used" in p for p in errors_of(down)["servers"]), errors_of(down)
        assert stored(shop) == before

    @pytest.mark.parametrize("step", ["review", "apply"])
    def test_a_change_over_the_teams_quota_says_so_on_the_form(self, alice_web, alice, shop, servers, step):
        team = personal_team(alice)
        team.quota_members = 2
        team.save()
        before = stored(shop)
        form, _ = edit_form(alice_web, shop)
        form.update(servers=[str(s.pk) for s in servers], step=[step])

        response = alice_web.post(f"/load-balancers/{shop.pk}/edit/", form)

        assert response.status_code == 200
        assert "loadbalancers/form.html" in templates_of(response)
        quota = "each load balancer of team alice may have at most 2 members; this one would have 3"
        assert response.context["form"].non_field_errors() == [quota]
        assert quota in text(response.content.decode())
        assert stored(shop) == before

    def test_a_change_the_portal_keeps_to_itself_says_nothing_goes_to_the_provider(self, alice_web, shop):
        response = review(alice_web, shop, deletion_protection=["on"])

        html = response.content.decode()
        assert table_rows(html, "record-changes") == {"deletion_protection": ("false", "true")}
        assert "Nothing goes to the provider" in text(html)
        assert 'class="operations"' not in html
        done = alice_web.post(f"/load-balancers/{shop.pk}/edit/", review_form(html, shop, "apply"))
        assert done.status_code == 302
        shop.refresh_from_db()
        assert (shop.provisioning_status, shop.deletion_protection) == ("ACTIVE", True)

    def test_a_change_made_meanwhile_is_caught_at_the_review_and_the_edits_are_kept(self, alice_web, shop):
        form, _ = edit_form(alice_web, shop)
        LoadBalancer.objects.filter(pk=shop.pk).update(version=shop.version + 1)
        form.update(description=["my edit"], step=["review"])

        response = alice_web.post(f"/load-balancers/{shop.pk}/edit/", form)

        assert "loadbalancers/form.html" in templates_of(response)
        html = response.content.decode()
        assert "was changed by someone else meanwhile" in html
        assert posted(html)["description"] == ["my edit"]
        assert posted(html)["version"] == [str(shop.version + 1)]
        assert LoadBalancer.objects.get(pk=shop.pk).description == ""

    def test_applying_after_a_change_made_meanwhile_changes_nothing(self, alice_web, shop):
        reviewed = review(alice_web, shop, algorithm=["SOURCE_IP"]).content.decode()
        LoadBalancer.objects.filter(pk=shop.pk).update(version=shop.version + 1)

        response = alice_web.post(f"/load-balancers/{shop.pk}/edit/", review_form(reviewed, shop, "apply"))

        assert "was changed by someone else meanwhile" in response.content.decode()
        assert LoadBalancer.objects.get(pk=shop.pk).algorithm == "ROUND_ROBIN"

    def test_a_viewer_cannot_review_or_apply(self, viewer, alice, shop):
        before = stored(shop)
        data = {"algorithm": "SOURCE_IP", "version": str(shop.version)}

        for step in ("review", "apply"):
            response = web_for(viewer).post(f"/load-balancers/{shop.pk}/edit/", {**data, "step": step})
            assert response.status_code == 403
            assert "You cannot change shop" in response.content.decode()

        assert stored(shop) == before


def test_an_haproxy_change_is_reviewed_with_its_configuration_diff(alice, haproxy_provider):
    a, b = ServerFactory(name="web-a", address="127.0.0.1", port=free_port()), ServerFactory(address="127.0.0.1")
    lb = active_at_provider(alice, "real", [a], provider="haproxy", listener_port=free_port())
    web = web_for(alice)

    response = review(web, lb, servers=[str(a.pk), str(b.pk)], algorithm=["SOURCE_IP"])

    assert response.status_code == 200, errors_of(response)
    html = response.content.decode()
    diff = re.search(r'<pre class="diff"[^>]*>(.*?)</pre>', html, re.S)
    assert diff, "no configuration diff"
    lines = diff.group(1).splitlines()
    assert "+    balance source" in lines, lines
    assert "-    balance roundrobin" in lines, lines
    assert any(line.startswith("+") and f"127.0.0.1:{b.port}" in line for line in lines), lines
    assert "At the provider haproxy" in text(html)
    assert table_rows(html, "provider-changes")["algorithm"] == ("ROUND_ROBIN", "SOURCE_IP")

    done = web.post(f"/load-balancers/{lb.pk}/edit/", review_form(html, lb, "apply"))

    assert done.status_code == 302
    assert running(applied(lb)).algorithm == Algorithm.SOURCE_IP


# -- drift on the detail page ------------------------------------------------------------------


def drift_rows(html: str) -> dict[str, list[str]]:
    rows = re.findall(r'<tr data-drift="([^"]+)">(.*?)</tr>', html, re.S)
    return {text(field): [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for field, row in rows}


def repair_forms(html: str) -> list[dict[str, str | None]]:
    return [a for a in tag_attrs(html, "form") if (a.get("action") or "").endswith("/repair/")]


class TestDrift:
    def test_open_drift_is_shown_with_a_re_apply_button(self, alice_web, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)
        seen = timezone.now() - timedelta(hours=2)
        drift_of(lb, first_seen_at=seen, last_seen_at=timezone.now())
        drift_of(lb, "member 10.0.0.3:8080 weight", desired=1, actual=5)
        drift_of(lb, "listener_port", desired=80, actual=8080, resolved_at=timezone.now())

        html = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()

        section = re.search(r'<section[^>]*id="drift".*?</section>', html, re.S).group(0)
        assert "runs these settings otherwise than asked here" in text(section)
        rows = drift_rows(section)
        assert list(rows) == ["algorithm", "member 10.0.0.3:8080 weight"]  # not the resolved one
        assert rows["algorithm"][:2] == ["ROUND_ROBIN", "SOURCE_IP"]
        assert rows["algorithm"][2].startswith("2 hours ago")
        assert f'title="{seen.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}"' in section
        assert rows["member 10.0.0.3:8080 weight"][:2] == ["1", "5"]
        [form] = repair_forms(section)
        assert form["method"] == "post"
        assert "hidden" not in form
        assert "csrfmiddlewaretoken" in section
        assert "Re-apply at the provider</button>" in section

    def test_without_open_drift_there_is_no_drift_section(self, alice_web, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)
        drift_of(lb, resolved_at=timezone.now())

        html = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()

        assert 'id="drift"' not in html
        assert repair_forms(html) == []

    def test_a_viewer_sees_the_drift_but_is_offered_no_repair(self, viewer, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)
        drift_of(lb)

        html = web_for(viewer).get(f"/load-balancers/{lb.pk}/").content.decode()

        assert list(drift_rows(html)) == ["algorithm"]
        assert repair_forms(html) == []

    def test_while_a_change_is_under_way_the_button_waits_for_active(self, alice_web, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice, provisioning_status="PENDING_UPDATE")
        drift_of(lb)

        [form] = repair_forms(alice_web.get(f"/load-balancers/{lb.pk}/").content.decode())

        assert form["data-when"] == "ACTIVE"
        assert "hidden" in form  # the page's script shows it once ACTIVE

    def test_re_apply_repairs_through_the_service(self, alice_web, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)
        drift_of(lb)

        response = alice_web.post(f"/load-balancers/{lb.pk}/repair/", follow=True)

        assert response.redirect_chain == [(f"/load-balancers/{lb.pk}/", 302)]
        [said] = messages_of(response)
        assert said.startswith("Load balancer shop is being applied again at the provider (PENDING_UPDATE)")
        assert LoadBalancer.objects.get(pk=lb.pk).provisioning_status == "PENDING_UPDATE"

    def test_re_apply_while_pending_says_why_and_changes_nothing(self, alice_web, alice):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice, provisioning_status="PENDING_UPDATE")
        before = stored(lb)

        response = alice_web.post(f"/load-balancers/{lb.pk}/repair/", follow=True)

        [said] = messages_of(response)
        assert said == f"load balancer {lb.pk} is PENDING_UPDATE; wait until it is ACTIVE or ERROR"
        assert stored(lb) == before

    def test_re_apply_is_refused_to_a_viewer_and_hidden_from_others(self, viewer, alice, bob):
        lb = LoadBalancerRowFactory(name="shop", created_by=alice)
        before = stored(lb)

        refused = web_for(viewer).post(f"/load-balancers/{lb.pk}/repair/")
        assert refused.status_code == 403
        assert "You cannot re-apply shop" in refused.content.decode()
        assert web_for(bob).post(f"/load-balancers/{lb.pk}/repair/").status_code == 404
        assert web_for(alice).get(f"/load-balancers/{lb.pk}/repair/").status_code == 405
        assert stored(lb) == before

    def test_drift_made_at_the_sandbox_is_found_shown_repaired_and_resolved(self, alice_web, alice):
        lb = active_at_provider(alice, "shop", [ServerFactory(), ServerFactory()])
        sandbox = providers().get("sandbox")
        # Someone changes the algorithm at the provider, behind the portal's back.
        sandbox.update(lb.provider_ref, dataclasses.replace(running(lb), algorithm=Algorithm.SOURCE_IP))
        wait_until(lambda: sandbox.get(lb.provider_ref).provisioning_status is ProvisioningStatus.ACTIVE, SLOW)

        assert lb.pk in build().reconciliation.reconcile().drifted

        page = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()
        assert drift_rows(page)["algorithm"][:2] == ["ROUND_ROBIN", "SOURCE_IP"]
        repaired = alice_web.post(f"/load-balancers/{lb.pk}/repair/")
        assert repaired.status_code == 302
        assert running(applied(lb)).algorithm == Algorithm.ROUND_ROBIN
        build().reconciliation.reconcile()
        assert Drift.objects.get(load_balancer=lb).resolved_at is not None
        assert 'id="drift"' not in alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()


# -- the admin ---------------------------------------------------------------------------------


def act(client: Client, url: str, action: str, *objects: object, **extra: str):  # type: ignore[no-untyped-def]
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], **extra}  # type: ignore[attr-defined]
    return client.post(url, data, follow=True)


class TestDriftAdmin:
    @pytest.fixture
    def drifts(self, db) -> dict[str, Drift]:  # type: ignore[no-untyped-def]
        shop = LoadBalancerRowFactory(name="shop")
        blog = LoadBalancerRowFactory(name="blog", provider="elsewhere")
        return {
            "shop algorithm": drift_of(shop),
            "shop member": drift_of(shop, "member 10.0.0.3:8080 weight", desired=1, actual=5),
            "blog monitor": drift_of(blog, "health_monitor", desired={"type": "TCP"}, actual=None),
            "blog algorithm (resolved)": drift_of(blog, resolved_at=timezone.now()),
        }

    def shown(self, client: Client, query: str = "") -> list[tuple[str, str]]:
        response = client.get(f"{DRIFT_ADMIN}?{query}")
        assert response.status_code == 200
        return sorted((d.load_balancer.name, d.field) for d in response.context["cl"].result_list)

    def test_the_changelist_shows_each_drift_with_its_values(self, ops_web, drifts):
        html = ops_web.get(DRIFT_ADMIN).content.decode()

        for header in ("Load balancer", "Field", "Desired", "Actual", "First seen at", "Last seen at", "Resolved at"):
            assert re.search(rf"<th[^>]*>.*?{header}.*?</th>", html, re.S | re.I), header
        shop = drifts["shop algorithm"].load_balancer
        assert f'<a href="{LB_ADMIN}{shop.pk}/change/">shop</a>' in html
        assert escape('{"type": "TCP"}') in html

    def test_the_changelist_costs_the_same_queries_for_5_or_30_rows(self, ops_web):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert ops_web.get(DRIFT_ADMIN).status_code == 200
            return len(captured)

        for _ in range(5):
            drift_of(LoadBalancerRowFactory())
        few = queries()
        for _ in range(25):
            drift_of(LoadBalancerRowFactory())
        assert queries() == few

    def test_filters_and_search(self, ops_web, drifts):
        everything = self.shown(ops_web)
        assert len(everything) == 4
        assert self.shown(ops_web, "state=open") == [
            ("blog", "health_monitor"),
            ("shop", "algorithm"),
            ("shop", "member 10.0.0.3:8080 weight"),
        ]
        assert self.shown(ops_web, "state=resolved") == [("blog", "algorithm")]
        assert self.shown(ops_web, "provider=sandbox") == [
            ("shop", "algorithm"),
            ("shop", "member 10.0.0.3:8080 weight"),
        ]
        assert self.shown(ops_web, "field=algorithm") == [("blog", "algorithm"), ("shop", "algorithm")]
        assert self.shown(ops_web, "field=members") == [("shop", "member 10.0.0.3:8080 weight")]
        assert self.shown(ops_web, "field=algorithm&state=open") == [("shop", "algorithm")]
        assert self.shown(ops_web, "q=blog") == [("blog", "algorithm"), ("blog", "health_monitor")]
        html = ops_web.get(DRIFT_ADMIN).content.decode()
        for choice in (
            "?state=open",
            "?state=resolved",
            "?field=members",
            "?field=health_monitor",
            "?provider=sandbox",
        ):
            assert f'href="{choice}"' in html, choice

    @pytest.mark.parametrize("query", ["state=%00", "field=a%00", "provider=%00", "load_balancer__name=x"])
    def test_a_value_no_database_can_compare_or_a_free_form_lookup_gets_400(self, ops_web, drifts, query):
        assert ops_web.get(f"{DRIFT_ADMIN}?{query}").status_code == 400

    @pytest.mark.parametrize("query", ["state=bogus", "field=bogus"])
    def test_an_unknown_choice_filters_nothing_out(self, ops_web, drifts, query):
        assert len(self.shown(ops_web, query)) == 4

    def test_rows_are_read_only(self, ops_web, drifts):
        drift = drifts["shop algorithm"]

        page = ops_web.get(f"{DRIFT_ADMIN}{drift.pk}/change/")

        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        ops_web.post(f"{DRIFT_ADMIN}{drift.pk}/change/", {"field": "renamed"})
        assert Drift.objects.get(pk=drift.pk).field == "algorithm"
        assert ops_web.get(f"{DRIFT_ADMIN}add/").status_code == 403
        assert ops_web.get(f"{DRIFT_ADMIN}{drift.pk}/delete/").status_code == 403
        actions = [value for value, _ in ops_web.get(DRIFT_ADMIN).context["action_form"].fields["action"].choices]
        assert "delete_selected" not in actions
        assert "repair_at_provider" in actions

    def test_re_apply_repairs_each_load_balancer_once_through_the_service(self, ops_web, drifts):
        LoadBalancer.objects.filter(name="blog").update(provider="sandbox", provisioning_status="PENDING_UPDATE")

        response = act(
            ops_web,
            DRIFT_ADMIN,
            "repair_at_provider",
            drifts["shop algorithm"],
            drifts["shop member"],
            drifts["blog monitor"],
        )

        reports = messages_of(response)
        assert "Load balancer shop: applying again: PENDING_UPDATE" in reports
        [blog] = [r for r in reports if r.startswith("Load balancer blog:")]
        blog_id = drifts["blog monitor"].load_balancer_id
        assert blog == (
            f"Load balancer blog: load balancer {blog_id} is PENDING_UPDATE; wait until it is ACTIVE or ERROR"
        )
        assert len(reports) == 2, reports  # once per load balancer, not per drift
        assert statuses() == {"shop": "PENDING_UPDATE", "blog": "PENDING_UPDATE"}
        assert Drift.objects.filter(resolved_at__isnull=True).count() == 3  # resolved when the reconciler sees it


class TestAdminBulkDelete:
    def test_it_replaces_djangos_bulk_delete(self, ops_web):
        LoadBalancerRowFactory()

        actions = dict(ops_web.get(LB_ADMIN).context["action_form"].fields["action"].choices)

        assert "delete_selected" not in actions
        assert actions["delete_selected_load_balancers"] == "Delete selected load balancers"

    def test_the_selected_are_named_then_deleted_together(self, ops_web):
        shop, blog = (
            LoadBalancerRowFactory(name="shop"),
            LoadBalancerRowFactory(name="blog", provisioning_status="ERROR"),
        )
        LoadBalancerRowFactory(name="kept")

        asked = act(ops_web, LB_ADMIN, "delete_selected_load_balancers", shop, blog)

        html = asked.content.decode()
        assert "admin/loadbalancers/delete_batch_confirmation.html" in templates_of(asked)
        names = re.search(r'<ul id="chosen-load-balancers">(.*?)</ul>', html, re.S).group(1)
        assert sorted(text(n) for n in re.findall(r"<li>(.*?)</li>", names)) == ["blog", "shop"]
        assert 'value="Yes, delete 2 load balancers"' in html
        assert statuses() == {"shop": "ACTIVE", "blog": "ERROR", "kept": "ACTIVE"}  # nothing yet

        done = ops_web.post(
            LB_ADMIN, posted(html, lambda a: a.get("method") == "post" and "action" not in a), follow=True
        )

        [said] = messages_of(done)
        deleting = re.fullmatch(r"Deleting 2 load balancers: (.*)\.", said)
        assert deleting, said
        assert sorted(deleting.group(1).split(", ")) == ["blog", "shop"]
        assert statuses() == {"shop": "PENDING_DELETE", "blog": "PENDING_DELETE", "kept": "ACTIVE"}

    def test_a_protected_one_is_refused_by_name_and_nothing_is_deleted(self, ops_web):
        shop = LoadBalancerRowFactory(name="shop")
        guarded = LoadBalancerRowFactory(name="guarded", deletion_protection=True)
        busy = LoadBalancerRowFactory(name="busy", provisioning_status="PENDING_CREATE")

        done = act(ops_web, LB_ADMIN, "delete_selected_load_balancers", shop, guarded, busy, post="yes")

        reports = messages_of(done)
        assert reports[0] == "2 of 3 load balancers cannot be deleted; nothing was deleted."
        assert f"Load balancer guarded: {PROTECTED}" in reports
        [pending] = [r for r in reports if r.startswith("Load balancer busy:")]
        assert "PENDING_CREATE" in pending, pending
        assert len(reports) == 3, reports
        assert statuses() == {"shop": "ACTIVE", "guarded": "ACTIVE", "busy": "PENDING_CREATE"}

    def test_more_than_a_batch_is_refused_before_any_lookup(self, ops_web):
        LoadBalancerRowFactory.create_batch(101)

        # Django's "select all 101" sends the page's ids and asks for every row the filters match.
        first = LoadBalancer.objects.first()
        done = ops_web.post(
            LB_ADMIN,
            {
                "action": "delete_selected_load_balancers",
                "index": "0",
                "select_across": "1",
                "_selected_action": first.pk,
            },
        )

        assert done.status_code == 302
        assert messages_of(ops_web.get(LB_ADMIN)) == [
            "Nothing was deleted: select at most 100 load balancers at once (101 were selected)."
        ]
        assert set(statuses().values()) == {"ACTIVE"}


# -- in a real browser ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_owner_ticks_two_load_balancers_and_deletes_them_together(browser, portal):
    from axe_playwright_python.sync_playwright import Axe

    alice = UserFactory(username="alice", password=PASSWORD)
    server = ServerFactory()
    service = build().load_balancers
    names = ("shop-a", "shop-b", "shop-c")
    for name in names:
        service.create_one(actor_of(alice), CreateLoadBalancer(name=name, servers=[server.pk]))
    wait_until(lambda: set(statuses().values()) == {"ACTIVE"}, timeout=SLOW)
    page = new_page(browser, portal, "alice")

    # The script's "select all" ticks every row, and unticks them again.
    select_all = page.get_by_label("Select all on this page")
    select_all.check()
    for name in names:
        expect(page.get_by_label(f"Select {name}", exact=True)).to_be_checked()
    select_all.uncheck()
    expect(page.get_by_label("Select shop-a", exact=True)).not_to_be_checked()

    page.get_by_label("Select shop-a", exact=True).check()
    page.get_by_label("Select shop-c", exact=True).check()
    page.get_by_role("button", name="Delete selected").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 2 load balancers?")
    chosen = page.get_by_role("list", name="Load balancers to delete").get_by_role("listitem")
    expect(chosen).to_have_count(2)
    assert sorted(item.split()[0] for item in chosen.all_inner_texts()) == ["shop-a", "shop-c"]
    violations = Axe().run(page, options=WCAG_AA).response["violations"]
    assert [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []
    assert statuses() == {"shop-a": "ACTIVE", "shop-b": "ACTIVE", "shop-c": "ACTIVE"}
    page.get_by_role("button", name="Delete 2 load balancers").click()

    # Named in the list's order (the newest first, unless two were made in the same instant).
    deleting = re.compile(r"^2 load balancers are being deleted: (shop-a, shop-c|shop-c, shop-a)\.$")
    expect(page.get_by_text(deleting)).to_be_visible()
    # Deleting (PENDING_DELETE) or, the worker being quick, already gone at the provider.
    assert statuses()["shop-b"] == "ACTIVE"
    assert {statuses()[name] for name in ("shop-a", "shop-c")} <= {"PENDING_DELETE", "DELETED"}
    # Once the worker has deleted them at the provider, the list (live ones) no longer shows them.
    wait_until(lambda: statuses() == {"shop-a": "DELETED", "shop-b": "ACTIVE", "shop-c": "DELETED"}, timeout=SLOW)
    page.reload()
    expect(page.get_by_role("link", name="shop-b", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="shop-a", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="shop-c", exact=True)).to_have_count(0)
