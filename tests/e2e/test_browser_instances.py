"""In a real browser, as a person finds a failed instance: from the overview to the
instances, filtered by Failed, to the instance's page with its failure and timeline; no
request leaves loopback on the way."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.browser import PAGE_LIMIT_MS, chromium, new_page, screenshot_on_failure


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def test_filter_by_failed_and_open_the_failure(browser: Browser, request: pytest.FixtureRequest) -> None:
    async with DurableHost(PROTOCOL_APP) as host:
        done = await host.start("sequence", None)
        failed = await host.start("fails", None)
        await host.wait(done)
        await host.wait(failed)
        page, blocked = await new_page(browser)
        async with screenshot_on_failure(page, request.node.nodeid):
            await page.goto(f"{host.base_url}/devhost/dashboard/", timeout=PAGE_LIMIT_MS)
            await page.get_by_role("link", name="Instances").click()
            await page.get_by_label("Failed").check()
            await page.get_by_role("button", name="Filter").click()
            await page.wait_for_url("**status=Failed**", timeout=PAGE_LIMIT_MS)
            rows = page.locator("table.instances tbody tr")
            assert await rows.count() == 1
            await page.get_by_role("link", name=failed).click()
            await page.wait_for_url(f"**/instances/{failed}", timeout=PAGE_LIMIT_MS)
            assert "orchestrator gave up" in await page.locator("section.failure").inner_text()
            assert await page.locator("svg g[data-kind='activity']").count() == 1
            assert blocked == []
