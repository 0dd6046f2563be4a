"""Everything a browser loads comes from the portal itself: the sign-in page, the pages,
the admin and the API docs (Swagger UI and ReDoc) work offline and send nobody's address
elsewhere.  The browser is offline but for the portal: no other name resolves."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, Page, expect

from tests.e2e.chromium import launched
from tests.factories import ServerFactory, UserFactory

expect.set_options(timeout=15_000)

LOCAL = ("localhost", "127.0.0.1")
PASSWORD = "secret-password"


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[Browser]:
    yield from launched("--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost")


class Watched:
    """A page, and what it asked for beyond the portal and what went wrong in it."""

    def __init__(self, browser: Browser) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.set_default_timeout(15_000)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", self._request)
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _request(self, request) -> None:  # type: ignore[no-untyped-def]
        url = urlsplit(request.url)
        if url.scheme not in ("data", "blob") and url.hostname not in LOCAL:
            self.outside.append(request.url)


@pytest.fixture
def portal(offline_browser, live_server) -> Iterator[tuple[Watched, str]]:
    watched = Watched(offline_browser)
    yield watched, live_server.url
    for context in offline_browser.contexts:
        context.close()


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("load balancers"))


@pytest.mark.django_db(transaction=True)
def test_the_docs_the_sign_in_and_the_pages_load_nothing_from_elsewhere(portal):
    watched, base = portal
    page = watched.page
    UserFactory(username="ops", password=PASSWORD, is_staff=True, is_superuser=True)
    ServerFactory(name="web-1")

    page.goto(f"{base}/accounts/login/")
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", re.compile(r"/static/portal/favicon\.svg$"))
    sign_in(page, base, "ops")
    page.goto(f"{base}/load-balancers/new/")
    page.get_by_label("Find servers").fill("web-1")
    expect(page.locator("#server-count")).to_have_text("Showing the only server matching \u201cweb-1\u201d.")
    page.goto(f"{base}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    page.goto(f"{base}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Load balancer portal API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    page.goto(f"{base}/api/v1/redoc/")
    expect(page.get_by_role("heading", name=re.compile("Load balancer portal API"))).to_be_visible()
    assert watched.outside == []  # no fonts from Google
    # ReDoc's sidebar draws its maker's logo once it is shown: it comes from here, not from cdn.redoc.ly.
    expect(page.locator('img[alt="redocly logo"]')).to_have_attribute("src", re.compile(r"^data:"))
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", re.compile(r"/static/portal/favicon\.svg$"))
    page.evaluate("document.fonts.ready.then(() => true)")  # every font the page asked for has loaded, or failed

    assert watched.outside == []
    assert watched.errors == []


@pytest.mark.django_db
def test_the_icon_browsers_ask_for_is_served(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/static/portal/favicon.svg", 302)]
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(response.streaming_content)


@pytest.mark.django_db
def test_the_pages_and_redoc_link_the_portals_icon_and_no_outside_font(client):
    sign_in_page = client.get("/accounts/login/").content.decode()
    redoc = client.get("/api/v1/redoc/").content.decode()

    for html in (sign_in_page, redoc):
        assert '<link rel="icon" href="/static/portal/favicon.svg" type="image/svg+xml">' in html
    assert "fonts.googleapis.com" not in redoc
    assert "/static/portal/redoc-offline.js" in redoc
