"""Debian's Chromium, driven by Playwright, for the tests that open pages in a
real browser: offline, the only host it can reach being the test server's
loopback address."""

import os
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

# Nothing in the background (updates, sync, components) and no name resolved:
# the only host the browser can reach is the test server's loopback address.
CHROMIUM_FLAGS = [
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium() -> str:
    """Debian's Chromium. CI (.ci/run) installs it: there, its absence fails."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
        pytest.skip("needs Debian's chromium package (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the module; Playwright starts it on a fresh, temporary
    profile, and each test has a context of its own (no cookies, no storage)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


class WatchedPage:
    """A page that may reach the test server alone: what else it asks for is
    refused and kept (``elsewhere``), as are the errors it reports."""

    def __init__(self, page: Page, server: str) -> None:
        self.page = page
        self.server = server
        self.elsewhere: list[str] = []
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )

    async def only_the_server(self, route: Route) -> None:
        """The handler to route every request of the page's context through."""
        if route.request.url.startswith(f"{self.server}/"):
            await route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            await route.abort()
