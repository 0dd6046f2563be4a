"""End to end in a real headless Chromium (Debian's package, driven by Playwright)
against a live server with a real Celery worker.  Screenshots of every step land in
var/screenshots/ (git-ignored)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Page, expect

from servers.models import Server
from tests.e2e.chromium import launched, watched_for_csp
from tests.factories import LoadBalancerRowFactory, ServerFactory, UserFactory

# Assertions wait as long as actions do: a loaded two-core machine runs the browser,
# the live server, the worker and the database at once.
expect.set_options(timeout=15_000)

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "secret-password"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield from launched()


@pytest.fixture
def portal(browser, live_server, celery_worker, monkeypatch):
    """The live server's address; every page is watched for Content-Security-Policy violations."""
    yield from watched_for_csp(browser, live_server.url, monkeypatch)


def new_page(browser, portal: str, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{portal}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("load balancers"))
    return page


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_create_with_a_mistake_fix_it_watch_it_go_active_edit_and_delete(browser, portal, settings):
    # Slow enough that the page is always seen pending before it turns ACTIVE.
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "delay": 3}
    UserFactory(username="alice", password=PASSWORD)
    web1, web2, web3 = (ServerFactory(name=f"web-{i}") for i in (1, 2, 3))
    ServerFactory(name="old-db", status="DOWN")
    page = new_page(browser, portal, "alice")
    shot(page, "01-list-empty")

    page.get_by_role("link", name="Create a load balancer").click()
    page.get_by_label("Name").fill("Shop Front")
    page.get_by_label("Port").fill("0")
    page.get_by_label("web-1", exact=True).check()
    expect(page.get_by_label("old-db")).to_be_disabled()
    page.get_by_role("button", name="Create").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Please fix these 2 problems")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Name")).to_have_value("Shop Front")
    expect(page.get_by_label("web-1", exact=True)).to_be_checked()
    shot(page, "02-create-with-mistakes")

    page.get_by_label("Name").fill("shop-front")
    page.get_by_label("Port").fill("80")
    page.get_by_label("web-2", exact=True).check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Load balancer shop-front is being created.")).to_be_visible()
    status = page.locator('[data-field="provisioning_status"]')
    expect(status).to_have_text("pending create")
    shot(page, "03-detail-pending-create")

    page.evaluate("window.notReloaded = true")
    expect(status).to_have_text("active")
    assert page.evaluate("window.notReloaded") is True  # it changed by itself, no reload
    expect(page.locator('[data-field="vip_address"]')).to_have_text(re.compile(r"^198\.51\.100\.\d+$"))
    expect(page.get_by_role("link", name="Edit")).to_be_visible()
    shot(page, "04-detail-active")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("web-1", exact=True).uncheck()
    page.get_by_label("web-3", exact=True).check()
    page.get_by_label("Algorithm").select_option("LEAST_CONNECTIONS")
    shot(page, "05-edit")
    page.get_by_role("button", name="Review changes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review")
    shot(page, "05b-review")
    page.get_by_role("button", name="Apply changes").click()
    expect(page.get_by_text("is being updated")).to_be_visible()
    expect(status).to_have_text("active")
    members = page.get_by_role("region", name="Backend servers")
    expect(members).to_contain_text("web-3")
    expect(members).not_to_contain_text("web-1")
    shot(page, "06-detail-updated")

    page.get_by_role("link", name="Delete").click()
    shot(page, "07-delete-confirm")
    page.get_by_role("button", name="Delete shop-front").click()
    expect(status).to_have_text("deleted")
    expect(page.locator('[data-field="vip_address"]')).to_have_text("released")
    expect(members).to_contain_text("None: a deleted load balancer releases its servers.")
    shot(page, "08-deleted")
    assert {web1.pk, web2.pk, web3.pk} <= set(Server.objects.values_list("pk", flat=True))


def test_a_user_cannot_see_someone_elses_load_balancer(browser, portal):
    alice = UserFactory(username="alice", password=PASSWORD)
    UserFactory(username="bob", password=PASSWORD)
    lb = LoadBalancerRowFactory(name="alices-shop", created_by=alice)
    page = new_page(browser, portal, "bob")

    expect(page.get_by_text("alices-shop")).to_have_count(0)
    response = page.goto(f"{portal}/load-balancers/{lb.pk}/")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    shot(page, "09-someone-elses-404")


def test_a_server_put_in_maintenance_by_ops_is_no_longer_offered(browser, portal):
    UserFactory(username="ops", password=PASSWORD, is_staff=True, is_superuser=True)
    UserFactory(username="alice", password=PASSWORD)
    ServerFactory(name="web-1")
    ServerFactory(name="web-2")

    ops = new_page(browser, portal, "ops")
    ops.goto(f"{portal}/admin/servers/server/")
    ops.get_by_role("row", name=re.compile("web-2")).get_by_role("checkbox").check()
    ops.get_by_label("Action:").select_option(label="Set status to MAINTENANCE")
    ops.get_by_role("button", name="Go").click()
    expect(ops.get_by_text("Server web-2 is now MAINTENANCE.")).to_be_visible()
    shot(ops, "10-admin-maintenance")

    alice = new_page(browser, portal, "alice")
    alice.goto(f"{portal}/load-balancers/new/")
    expect(alice.get_by_label("web-1", exact=True)).to_be_enabled()
    expect(alice.get_by_label("web-2", exact=True)).to_be_disabled()
    expect(alice.get_by_role("row", name=re.compile("web-2"))).to_contain_text("No: it is MAINTENANCE")
    shot(alice, "11-create-form-without-maintenance-server")


def test_the_server_picker_searches_the_whole_inventory_and_keeps_picked_servers_in_view(browser, portal):
    UserFactory(username="alice", password=PASSWORD)
    Server.objects.bulk_create(
        Server(name=f"web-{i:04d}", address=f"10.1.{i // 250}.{i % 250 + 1}", port=8080) for i in range(1, 2007)
    )
    ServerFactory(name="db-primary", address="10.2.0.1", status="MAINTENANCE")
    page = new_page(browser, portal, "alice")
    page.goto(f"{portal}/load-balancers/new/")
    count = page.locator("#server-count")
    summary = page.locator("#server-summary")
    search = page.get_by_label("Find servers")
    expect(count).to_have_text("Showing 50 of 2,007 servers; search to narrow them down.")
    expect(page.get_by_label("web-2006", exact=True)).to_have_count(0)  # far beyond the first page

    page.get_by_label("web-0007", exact=True).check()
    expect(summary).to_have_text("Selected (1): web-0007.")
    search.fill("web-2006")
    expect(count).to_have_text("Showing the only server matching \u201cweb-2006\u201d.")
    page.get_by_label("web-2006", exact=True).check()
    # What was picked before stays listed, and picked, though the search no longer matches it.
    expect(page.get_by_label("web-0007", exact=True)).to_be_checked()
    expect(summary).to_have_text("Selected (2): web-0007, web-2006.")
    shot(page, "12-create-form-picker-search")

    search.fill("web-1")
    page.keyboard.press("Enter")  # searches at once; does not submit the form
    expect(count).to_have_text("Showing 50 of 1,000 servers matching \u201cweb-1\u201d; search to narrow them down.")
    expect(page).to_have_url(re.compile(r"/load-balancers/new/\?server_search=web-1&"))
    expect(page.locator("#error-summary")).to_have_count(0)
    expect(page.get_by_label("web-1000", exact=True)).not_to_be_checked()
    expect(page.get_by_label("web-2006", exact=True)).to_be_checked()

    search.fill("db")
    page.get_by_label("Status", exact=True).select_option("MAINTENANCE")
    expect(count).to_have_text("Showing the only server in MAINTENANCE status matching \u201cdb\u201d.")
    expect(page.get_by_label("db-primary", exact=True)).to_be_disabled()
    expect(page.get_by_label("web-0007", exact=True)).to_be_checked()

    page.get_by_label("Name").fill("shop")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Load balancer shop is being created.")).to_be_visible()
    members = page.get_by_role("region", name="Backend servers")
    expect(members).to_contain_text("web-0007")
    expect(members).to_contain_text("web-2006")
    shot(page, "13-created-with-a-server-found-by-search")


WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_passes_an_automated_wcag_aa_check(browser, portal, width):
    from axe_playwright_python.sync_playwright import Axe

    alice = UserFactory(username="alice", password=PASSWORD)
    ServerFactory(name="web-1")
    ServerFactory(name="web-2", status="DOWN")
    active = LoadBalancerRowFactory(name="shop", created_by=alice, vip_address="198.51.100.9")
    active.members.create(server=ServerFactory(name="web-3"))
    failed = LoadBalancerRowFactory(
        name="broken", created_by=alice, provisioning_status="ERROR", error_reason="no capacity"
    )

    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{portal}/accounts/login/")
    pages = {"sign in": None}
    axe = Axe()
    problems = {}

    def check(name: str) -> None:
        violations = axe.run(page, options=WCAG_AA).response["violations"]
        if violations:
            problems[name] = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]

    check("sign in")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    pages = {
        "list": "/load-balancers/",
        "create": "/load-balancers/new/",
        "detail": f"/load-balancers/{active.pk}/",
        "detail in error": f"/load-balancers/{failed.pk}/",
        "edit": f"/load-balancers/{active.pk}/edit/",
        "cannot edit": f"/load-balancers/{failed.pk}/edit/",
        "delete": f"/load-balancers/{active.pk}/delete/",
        "servers": "/servers/",
        "not found": "/load-balancers/00000000-0000-0000-0000-000000000000/",
        "teams": "/teams/",
        "team": "/teams/alice/",
        "API tokens": "/account/tokens/",
    }
    for name, path in pages.items():
        page.goto(f"{portal}{path}")
        check(name)
    page.goto(f"{portal}/load-balancers/new/")
    page.get_by_role("button", name="Create").click()
    check("create with errors")
    page.goto(f"{portal}/account/tokens/")
    page.get_by_role("button", name="Make a token").click()
    check("a new API token")

    assert problems == {}


def test_the_keyboard_alone_signs_in_and_reaches_the_content(browser, portal):
    UserFactory(username="alice", password=PASSWORD)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{portal}/accounts/login/")

    # The username field takes the focus by itself (the browser applies autofocus
    # shortly after load: wait for it rather than type into nothing).
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My load balancers")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_no_page_scrolls_sideways_on_a_phone(browser, portal):
    alice = UserFactory(username="alice", password=PASSWORD)
    for i in range(4):
        ServerFactory(name=f"a-rather-long-server-name-{i}", address=f"2001:db8::{i + 1}")
    lb = LoadBalancerRowFactory(name="shop", created_by=alice)
    lb.members.create(server=ServerFactory(name="web-1"))
    page = new_page(browser, portal, "alice")
    page.set_viewport_size({"width": 375, "height": 800})

    for path in (
        "/load-balancers/",
        "/load-balancers/new/",
        f"/load-balancers/{lb.pk}/",
        f"/load-balancers/{lb.pk}/edit/",
        "/servers/",
        "/teams/alice/",
        "/account/tokens/",
    ):
        page.goto(f"{portal}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path


def test_a_pending_page_stays_quiet_for_screen_readers_until_something_changes(browser, portal, settings):
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "delay": 60}
    alice = UserFactory(username="alice", password=PASSWORD)
    server = ServerFactory()
    page = new_page(browser, portal, "alice")
    from loadbalancers.application.payloads import CreateLoadBalancer
    from loadbalancers.bootstrap import actor_of, build

    view = build().load_balancers.create_one(actor_of(alice), CreateLoadBalancer(name="slow", servers=[server.pk]))
    page.goto(f"{portal}/load-balancers/{view.id}/")
    # The first poll shows the state once (only the script sets this title).
    expect(page).to_have_title(re.compile(r"\(pending_create\)"))  # not wait_for_function: the policy forbids eval
    page.evaluate(
        """() => {
            window.changes = 0;
            const region = document.querySelector("#status [aria-live]");
            const watch = {subtree: true, childList: true, characterData: true};
            new MutationObserver((m) => { window.changes += m.length; }).observe(region, watch);
        }"""
    )
    page.wait_for_timeout(3500)  # three more polls, nothing new

    assert page.evaluate("window.changes") == 0
    expect(page.locator('[data-field="provisioning_status"]')).to_have_text("pending create")
    from loadbalancers.bootstrap import build

    build().provisioning.fail(view.id, "the test is over")  # no work left for the worker
