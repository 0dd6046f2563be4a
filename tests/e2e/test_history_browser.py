"""The History timeline of a load balancer's detail page, in a real headless Chromium
against a live server: what happened to the load balancer, newest first, each change's
before and after behind a <details>, readable with the keyboard and a screen reader.

No worker runs: the test moves the load balancer through its states itself (the
services with a scheduler that hands nothing over), so the timeline is always the same."""

from __future__ import annotations

import os
import re
from functools import partial

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import expect

from loadbalancers import bootstrap
from loadbalancers.application.payloads import CreateLoadBalancer, UpdateLoadBalancer
from loadbalancers.domain.members import Observed
from loadbalancers.domain.model import LoadBalancer, OperatingStatus
from tests.e2e.chromium import launched, watched_for_csp
from tests.e2e.test_browser import PASSWORD, SHOTS, WCAG_AA, new_page, shot
from tests.factories import ServerFactory, UserFactory
from tests.fakes import FakeScheduler

expect.set_options(timeout=15_000)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield from launched()


@pytest.fixture
def portal(browser, live_server, monkeypatch):
    """The live server's address; every page is watched for Content-Security-Policy violations."""
    yield from watched_for_csp(browser, live_server.url, monkeypatch)


@pytest.fixture
def failed_lb():
    """alice's load balancer "shop": requested with web-1, made ACTIVE, changed to web-1
    and web-2, and failed by the provider while that change was under way."""
    alice = UserFactory(username="alice", password=PASSWORD)
    web1, web2 = ServerFactory(name="web-1"), ServerFactory(name="web-2")
    services = bootstrap.build(scheduler=FakeScheduler())
    actor = bootstrap.actor_of(alice)

    lb_id = services.load_balancers.create_one(actor, CreateLoadBalancer(name="shop", servers=[web1.pk])).id
    services.provisioning.record(
        lb_id,
        partial(
            LoadBalancer.mark_active, vip_address="198.51.100.7", reported={web1.pk: Observed(OperatingStatus.ONLINE)}
        ),
    )
    services.load_balancers.update_one(actor, lb_id, UpdateLoadBalancer(servers=[web1.pk, web2.pk]))
    services.provisioning.fail(lb_id, "the provider exploded")
    return {"id": lb_id, "servers": (web1.pk, web2.pk)}


def test_the_history_lists_the_error_the_change_and_the_request_newest_first(browser, portal, failed_lb):
    web1, web2 = failed_lb["servers"]
    page = new_page(browser, portal, "alice")

    page.goto(f"{portal}/load-balancers/{failed_lb['id']}/")

    history = page.get_by_role("region", name="History")
    entries = history.locator("li.timeline-entry")
    expect(entries).to_have_count(4)
    assert [entries.nth(i).get_attribute("data-action") for i in range(4)] == [
        "load_balancer.error",
        "load_balancer.update_requested",
        "load_balancer.active",
        "load_balancer.create_requested",
    ]

    error, update, active, request = (entries.nth(i) for i in range(4))
    expect(error.locator(".timeline-message")).to_have_text("load balancer shop went to ERROR: the provider exploded")
    expect(error).to_contain_text("system")
    expect(update.locator(".timeline-message")).to_have_text("requested a change of load balancer shop: servers")
    expect(update).to_contain_text("alice")
    expect(active.locator(".timeline-message")).to_contain_text("ACTIVE at 198.51.100.7")
    expect(request.locator(".timeline-message")).to_have_text("requested load balancer shop")
    expect(request).to_contain_text("alice")

    # The update's before and after are folded away until its <details> is opened.
    servers_row = update.get_by_role("row", name=re.compile(r"^servers"))
    expect(servers_row).to_be_hidden()
    update.locator("summary").click()
    expect(servers_row).to_be_visible()
    cells = servers_row.get_by_role("cell")
    expect(cells).to_have_text([str(web1), f"{web1}, {web2}"])
    shot(page, "history-01-timeline-opened")


def test_the_history_opens_with_the_keyboard(browser, portal, failed_lb):
    page = new_page(browser, portal, "alice")
    page.goto(f"{portal}/load-balancers/{failed_lb['id']}/")
    update = page.locator('li.timeline-entry[data-action="load_balancer.update_requested"]')
    summary = update.locator("summary")

    summary.focus()
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")

    expect(update.locator("details")).to_have_attribute("open", "")
    expect(update.get_by_role("row", name=re.compile(r"^servers"))).to_be_visible()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_detail_page_with_its_history_passes_an_automated_wcag_aa_check(browser, portal, failed_lb, width):
    from axe_playwright_python.sync_playwright import Axe

    page = new_page(browser, portal, "alice")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{portal}/load-balancers/{failed_lb['id']}/")
    expect(page.locator("li.timeline-entry")).to_have_count(4)
    for summary in page.locator("li.timeline-entry summary").all():
        summary.click()  # the changes' tables are checked too

    violations = Axe().run(page, options=WCAG_AA).response["violations"]

    assert [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_someone_else_sees_neither_the_page_nor_its_history(browser, portal, failed_lb):
    UserFactory(username="bob", password=PASSWORD)
    page = new_page(browser, portal, "bob")

    response = page.goto(f"{portal}/load-balancers/{failed_lb['id']}/")

    assert response.status == 404
    expect(page.get_by_text("the provider exploded")).to_have_count(0)
