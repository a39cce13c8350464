"""In a real browser: an entity signalled from the dashboard shows its state, and its
state can be deleted; moving the virtual clock from the dashboard fires a durable timer,
listed with a link to its instance. No request leaves loopback."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from playwright.async_api import Browser

from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.browser import PAGE_LIMIT_MS, new_page, screenshot_on_failure


async def test_signal_an_entity_see_its_state_and_delete_it(browser: Browser, request: pytest.FixtureRequest) -> None:
    key = f"k{uuid.uuid4().hex[:6]}"
    async with DurableHost(PROTOCOL_APP) as host:
        page, blocked = await new_page(browser)
        async with screenshot_on_failure(page, request.node.nodeid):
            await page.goto(f"{host.base_url}/devhost/dashboard/entities/", timeout=PAGE_LIMIT_MS)
            form = page.get_by_role("form", name="Signal")
            await form.get_by_label("Entity name").fill("Tally")
            await form.get_by_label("Key").fill(key)
            await form.get_by_label("Operation").fill("add")
            await form.get_by_label("JSON input").fill("5")
            await form.get_by_role("button", name="Signal").click()
            assert f"Signalled 'add' to Tally@{key}." in await page.get_by_role("status").inner_text()
            assert await host.read_entity("Tally", key) == 5
            await page.goto(f"{host.base_url}/devhost/dashboard/entities/?name=Tally", timeout=PAGE_LIMIT_MS)
            row = page.locator("table.entities tbody tr", has_text=key)
            assert await row.locator("code.state").inner_text() == "5"
            await row.get_by_label("Confirm: delete").check()
            await row.get_by_role("button", name="Delete").click()
            assert "Deleted the state" in await page.get_by_role("status").inner_text()
            with pytest.raises(LookupError):
                await host.read_entity("Tally", key)
            assert blocked == []


async def test_advancing_the_virtual_clock_fires_a_timer_and_lists_it(
    browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with DurableHost(PROTOCOL_APP) as host:
        # A `%` and a space: the link must quote the id, or it would name another page.
        sleeping = await host.start("sleeper", 2, instance_id=f"nap 100% {uuid.uuid4().hex[:6]}")
        await host.wait_until(sleeping, lambda s: s.runtime_status == "Running")
        page, blocked = await new_page(browser)
        async with screenshot_on_failure(page, request.node.nodeid):
            await page.goto(f"{host.base_url}/devhost/dashboard/clock", timeout=PAGE_LIMIT_MS)
            form = page.get_by_role("form", name="Advance the clock")
            await form.get_by_label("Move by").fill("3")
            await form.get_by_label("Unit").select_option("hours")
            await form.get_by_role("button", name="Advance").click()
            assert "The clock moved to" in await page.get_by_role("status").inner_text()
            assert (await host.status(sleeping)).runtime_status == "Completed"  # advance settles before answering
            fired = page.get_by_role("table", name="Fired on the way")
            row = fired.get_by_role("row").filter(has_text="Durable timer")
            assert await row.count() == 1
            await row.get_by_role("link", name=sleeping).click()
            await page.wait_for_url(f"**/devhost/dashboard/instances/{quote(sleeping, safe='')}", timeout=PAGE_LIMIT_MS)
            assert sleeping in await page.get_by_role("main").inner_text()
            assert blocked == []
