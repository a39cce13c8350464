"""A real browser for tests of what a web page can do: Debian's Chromium (`make setup`
installs it), driven by Playwright's Python package, whose driver ships in its wheel.
Playwright's own browser download is never used; nothing leaves the machine.

Pages come from loopback servers, yet a test often needs them on origins that are not
loopback ones (a web page on some other site): `loopback_names` makes the browser resolve
such names to 127.0.0.1, so `http://evil.test:<port>/` is served by a test's server.
Every page `new_page` opens may reach only loopback and those names: any other request
is aborted and recorded, so a page that would call out fails its test instead of
waiting on the network. `screenshot_on_failure` keeps what a failing test's page showed,
in `test-results/` at the repository's root.
"""

from __future__ import annotations

import ipaddress
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Sequence
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page, Response, Route, async_playwright

# Debian's, unless CHROMIUM names another (the Makefile passes its own on).
CHROMIUM = Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")

# Where a failing test's screenshot goes (pytest-playwright's `--output` default).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"

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
        raise RuntimeError(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium, or set CHROMIUM to a Chromium.")
    flags = list(_FLAGS)
    if loopback_names:
        flags.append("--host-resolver-rules=" + ", ".join(f"MAP {name} 127.0.0.1" for name in loopback_names))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
        try:
            yield browser
        finally:
            await browser.close()


def _on_loopback(url: str, names: frozenset[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost") or host in names:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def new_page(browser: Browser, *, loopback_names: Sequence[str] = ()) -> tuple[Page, list[str]]:
    """A page in a fresh browser context (no cookies or cache from other pages) whose
    requests reach only loopback and `loopback_names`; the list collects the URLs of the
    requests it aborted, for the test to find empty."""
    names = frozenset(name.lower() for name in loopback_names)
    blocked: list[str] = []

    async def only_loopback(route: Route) -> None:
        if _on_loopback(route.request.url, names):
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("blockedbyclient")

    context = await browser.new_context()
    await context.route("**/*", only_loopback)
    return await context.new_page(), blocked


@asynccontextmanager
async def screenshot_on_failure(page: Page, test_name: str) -> AsyncIterator[Page]:
    """If the block fails, what the page showed then goes to `test-results/<test
    name>.png`, and the failure names the file."""
    try:
        yield page
    except Exception as failure:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_") + ".png")
        try:
            await page.screenshot(path=str(path), full_page=True, timeout=PAGE_LIMIT_MS)
        except Exception as error:  # the page may be gone; the failure itself matters more
            failure.add_note(f"no screenshot: {error}")
        else:
            failure.add_note(f"screenshot of the page: {path}")
        raise


async def visit(
    browser: Browser, url: str, *, title: str = "done", loopback_names: Sequence[str] = ()
) -> tuple[Page, list[Response]]:
    """Opens `url` in a `new_page` and waits until the page's script sets
    `document.title` to `title`, which is how a page says it has done all it meant to.
    The page, and every response its frames received by then (statuses included, even
    those a `no-cors` fetch hides from the script)."""
    page, _ = await new_page(browser, loopback_names=loopback_names)
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))  # Playwright wants a function
    await page.goto(url, timeout=PAGE_LIMIT_MS)
    await page.wait_for_function("title => document.title === title", arg=title, timeout=PAGE_LIMIT_MS)
    return page, responses
