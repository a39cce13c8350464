"""In a real browser, by keyboard alone: the welcome page at `/` leads to the dashboard.
A person tabs to the dashboard link, presses Enter and lands on the overview; no request
leaves loopback on the way."""

from __future__ import annotations


import pytest
from playwright.async_api import Browser

from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.browser import PAGE_LIMIT_MS, new_page, screenshot_on_failure

# More Tab presses than the page has stops before its dashboard link (skip link,
# brand, nav): a bound for a page that lost the link, not an expectation.
MOST_TABS = 10


async def test_tab_to_the_dashboard_link_and_enter_opens_the_overview(
    browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with DurableHost(PROTOCOL_APP) as host:
        page, blocked = await new_page(browser)
        async with screenshot_on_failure(page, request.node.nodeid):
            await page.goto(f"{host.base_url}/", timeout=PAGE_LIMIT_MS)
            link = page.get_by_role("link", name="Open the dashboard")
            for _ in range(MOST_TABS):
                await page.keyboard.press("Tab")
                if await link.evaluate("element => element === document.activeElement"):
                    break
            else:
                pytest.fail(f"the dashboard link took no focus in {MOST_TABS} Tab presses")
            await page.keyboard.press("Enter")
            await page.wait_for_url(f"{host.base_url}/devhost/dashboard/", timeout=PAGE_LIMIT_MS)
            heading = page.get_by_role("heading", level=1)
            assert await heading.inner_text() == "Overview"
            assert await page.get_by_role("link", name="Overview").get_attribute("aria-current") == "page"
            assert blocked == []
