"""A real browser for tests of what a web page can do: Debian's Chromium (`make setup`
installs it), driven by Playwright's Python package, whose driver ships in its wheel.
Playwright's own browser download is never used; nothing leaves the machine.

Pages come from loopback servers, yet a test often needs them on origins that are not
loopback ones (a web page on some other site): `loopback_names` makes the browser resolve
such names to 127.0.0.1, so `http://evil.test:<port>/` is served by a test's server.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Sequence

from playwright.async_api import Browser, Page, Response, async_playwright

CHROMIUM = Path("/usr/bin/chromium")

# What this closed network needs: no sandbox (tests run as root), no GPU, and none of the
# browser's own traffic (updates, sync, field trials) that would wait on the internet.
# Playwright gives every launch a fresh profile (user data directory) of its own.
_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Bounds on a page that never finishes (a failing test), not expectations.
PAGE_LIMIT_MS = 30_000


@asynccontextmanager
async def chromium(*, loopback_names: Sequence[str] = ()) -> AsyncIterator[Browser]:
    """Headless Chromium for the block; each of `loopback_names` resolves to 127.0.0.1."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium.")
    flags = list(_FLAGS)
    if loopback_names:
        flags.append("--host-resolver-rules=" + ", ".join(f"MAP {name} 127.0.0.1" for name in loopback_names))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
        try:
            yield browser
        finally:
            await browser.close()


async def visit(browser: Browser, url: str, *, title: str = "done") -> tuple[Page, list[Response]]:
    """Opens `url` in a fresh browser context (no cookies or cache from other pages) and
    waits until the page's script sets `document.title` to `title`, which is how a page
    says it has done all it meant to. The page, and every response its frames received
    by then (statuses included, even those a `no-cors` fetch hides from the script)."""
    context = await browser.new_context()
    page = await context.new_page()
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))  # Playwright wants a function
    await page.goto(url, timeout=PAGE_LIMIT_MS)
    await page.wait_for_function("title => document.title === title", arg=title, timeout=PAGE_LIMIT_MS)
    return page, responses
