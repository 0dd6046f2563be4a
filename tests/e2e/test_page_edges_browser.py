"""The load balancer pages' rough edges in a real Chromium, on a desktop and on a phone:
the list follows its pending rows by itself, times read "… ago" with the exact UTC time
on hover, the status columns stay in view at 375 px, the VIP's copy button copies (or,
without the clipboard, selects the VIP), and the pages pass an automated WCAG 2.1 AA check."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread

from django.utils import timezone
from playwright.sync_api import expect

from loadbalancers.models import LoadBalancer
from tests.factories import LoadBalancerRowFactory, UserFactory

expect.set_options(timeout=15_000)

PASSWORD = "secret-password"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(browser, portal: str, width: int, **options):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 900}, **options)
    page.set_default_timeout(15_000)
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My load balancers")
    return page


def axe_problems(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    return [(v["id"], v["help"]) for v in Axe().run(page, options=WCAG_AA).response["violations"]]


@pytest.mark.parametrize("width", [1280, 375])
def test_the_list_follows_pending_rows_shows_times_and_keeps_statuses_in_view(browser, portal, width):
    alice = UserFactory(username="alice", password=PASSWORD)
    pending = LoadBalancerRowFactory(name="slow", created_by=alice, provisioning_status="PENDING_CREATE")
    LoadBalancer.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(minutes=5, seconds=5))
    LoadBalancerRowFactory(name="shop", created_by=alice, vip_address="198.51.100.9")
    page = signed_in(browser, portal, width)

    row = page.locator(f'tr[data-lb="{pending.pk}"]')
    status = row.locator('[data-field="provisioning_status"]')
    expect(status).to_have_text("pending create")
    created = row.locator("time")
    expect(created).to_have_text("5 min ago")
    expect(created).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    # Every column of a row is in view, the statuses too: on a phone the rows are cards.
    for field in ("provisioning_status", "operating_status"):
        box = row.locator(f'[data-field="{field}"]').bounding_box()
        assert box is not None, field
        assert 0 <= box["x"] <= box["x"] + box["width"] <= width, field
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_problems(page) == []

    page.evaluate("window.notReloaded = true")
    LoadBalancer.objects.filter(pk=pending.pk).update(
        provisioning_status="ACTIVE", operating_status="ONLINE", vip_address="198.51.100.10"
    )
    expect(status).to_have_text("active")
    expect(row.locator('[data-field="vip_address"]')).to_have_text("198.51.100.10")
    assert page.evaluate("window.notReloaded") is True  # it changed by itself
    expect(row).to_have_attribute("data-pending", "false")  # and stops asking


def test_the_vip_s_copy_button_copies_it(browser, portal):
    alice = UserFactory(username="alice", password=PASSWORD)
    lb = LoadBalancerRowFactory(name="shop", created_by=alice, vip_address="198.51.100.9")
    page = signed_in(browser, portal, 1280, permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"{portal}/load-balancers/{lb.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("shop")

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_text("Copied 198.51.100.9.")
    assert page.evaluate("navigator.clipboard.readText()") == "198.51.100.9"
    updated = page.locator("time").last
    expect(updated).to_have_text("just now")
    expect(updated).to_have_attribute("title", re.compile(r" UTC$"))
    assert axe_problems(page) == []


def test_without_the_clipboard_the_copy_button_selects_the_vip(browser, portal):
    alice = UserFactory(username="alice", password=PASSWORD)
    lb = LoadBalancerRowFactory(name="shop", created_by=alice, vip_address="198.51.100.9")
    page = signed_in(browser, portal, 375)
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.goto(f"{portal}/load-balancers/{lb.pk}/")

    page.get_by_role("button", name="Copy").click()
    expect(page.locator('[data-copy-note="vip"]')).to_have_text(re.compile("^Selected: press Ctrl\\+C"))
    assert page.evaluate("window.getSelection().toString()") == "198.51.100.9"
    assert axe_problems(page) == []
