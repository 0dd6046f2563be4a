"""Debian's Chromium for the browser tests, driven by Playwright (which never downloads
a browser of its own), started as this machine's closed network needs it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# Without the background-networking flags Chromium keeps trying hosts it cannot reach.
ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def launched(*extra_args: str) -> Iterator[Browser]:
    """A headless Chromium for a module's tests (a generator for a fixture to yield from);
    missing, it fails the tests in CI (where `make test` installs it) and skips them elsewhere."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}: `make test` installs it")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (`make test` installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def watched_for_csp(browser: Browser, live_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The live server's address, with every page the test opens watched: Chromium reports
    each Content-Security-Policy violation on the console, and any fails the test (a
    generator for a fixture to yield from)."""
    violations = []
    open_page = browser.new_page

    def watched_page(*args, **kwargs):  # type: ignore[no-untyped-def]
        page = open_page(*args, **kwargs)

        def note(message) -> None:  # type: ignore[no-untyped-def]
            if "Content Security Policy" in message.text:
                violations.append(f"{message.location.get('url')}: {message.text}")

        page.on("console", note)
        return page

    monkeypatch.setattr(browser, "new_page", watched_page)
    yield live_url
    # Close every page before the database is torn down: an open page keeps polling.
    for context in browser.contexts:
        context.close()
    assert violations == [], "Content-Security-Policy violations"
