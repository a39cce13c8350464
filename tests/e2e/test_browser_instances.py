"""In a real browser, as a person finds a failed instance: from the overview to the
instances, filtered by Failed, to the instance's page with its failure and timeline; no
request leaves loopback on the way."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.browser import PAGE_LIMIT_MS, new_page, screenshot_on_failure


@asynccontextmanager
async def _a_waiting_instances_page(
    browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[DurableHost, str, Page, list[str]]]:
    """A host with an instance waiting for two `Go` events, its page open in a tab; the
    requests the tab tried to send off loopback, and a screenshot if the test fails."""
    async with DurableHost(PROTOCOL_APP) as host:
        waiting = await host.start("waits_for_events", None)
        await host.wait_until(waiting, lambda s: s.runtime_status == "Running")
        page, blocked = await new_page(browser)
        async with screenshot_on_failure(page, request.node.nodeid):
            await page.goto(f"{host.base_url}/devhost/dashboard/instances/{waiting}", timeout=PAGE_LIMIT_MS)
            yield host, waiting, page, blocked


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


async def test_raise_event_and_terminate_through_the_page(browser: Browser, request: pytest.FixtureRequest) -> None:
    """The forms change the instance as the HTTP API then reports: one event raised by
    the page reaches the orchestrator, then Terminate ends it."""
    async with _a_waiting_instances_page(browser, request) as (host, waiting, page, blocked):
        event = page.get_by_role("form", name="Raise event")
        await event.get_by_label("Event name").fill("Go")
        await event.get_by_label("JSON body").fill('{"n": 1}')
        await event.get_by_label("Confirm: raise event").check()
        await event.get_by_role("button", name="Raise event").click()
        assert "Event 'Go' raised." in await page.get_by_role("status").inner_text()
        await host.wait_until(waiting, lambda s: s.runtime_status == "Running")
        terminate = page.get_by_role("form", name="Terminate")
        await terminate.get_by_label("Reason").fill("done by hand")
        await terminate.get_by_label("Confirm: terminate").check()
        await terminate.get_by_role("button", name="Terminate").click()
        await page.get_by_role("status").wait_for(timeout=PAGE_LIMIT_MS)
        final = await host.wait(waiting)
        assert final.runtime_status == "Terminated" and final.output == "done by hand"
        raised = [e for e in await host.management.history(waiting) if e.get("Name") == "Go"]
        assert len(raised) == 1
        assert blocked == []


async def test_an_auto_refreshing_page_follows_the_instance(browser: Browser, request: pytest.FixtureRequest) -> None:
    """With auto-refresh chosen on the page, events raised through the HTTP API show up
    without a reload: the status turns Completed and the history gains the events."""
    async with _a_waiting_instances_page(browser, request) as (host, waiting, page, blocked):
        await page.get_by_label("Auto-refresh").select_option("2")
        await page.get_by_role("button", name="Show").click()
        await page.wait_for_url("**refresh=2**", timeout=PAGE_LIMIT_MS)
        loaded = await page.evaluate("performance.timeOrigin")
        for n in (1, 2):
            await host.raise_event(waiting, "Go", n)
        await host.wait(waiting)
        badge = page.locator("#status-heading + dl .status")
        await expect(badge).to_have_text("Completed", timeout=PAGE_LIMIT_MS)
        await expect(page.locator("table.history td", has_text="EventRaised")).to_have_count(2)
        assert await page.evaluate("performance.timeOrigin") == loaded  # the same page, not a reload
        assert blocked == []


async def test_sort_and_name_filter_from_the_table(browser: Browser, request: pytest.FixtureRequest) -> None:
    async with DurableHost(PROTOCOL_APP) as host:
        ids = [await host.start(name, None, instance_id=f"view-{n}") for n, name in enumerate(("sequence", "echo_back", "sequence"))]
        await host.settle()
        page, blocked = await new_page(browser)
        async with screenshot_on_failure(page, request.node.nodeid):
            await page.goto(f"{host.base_url}/devhost/dashboard/instances/", timeout=PAGE_LIMIT_MS)
            await page.get_by_label("Orchestrator", exact=True).select_option("sequence")
            await page.get_by_role("button", name="Filter").click()
            await page.wait_for_url("**name=sequence**", timeout=PAGE_LIMIT_MS)
            await page.get_by_role("link", name="Instance id").click()
            await page.get_by_role("link", name="Instance id").click()  # again: descending
            await page.wait_for_url("**order=desc**", timeout=PAGE_LIMIT_MS)
            cells = page.locator("table.instances tbody tr td:first-child")
            assert await cells.all_inner_texts() == [ids[2], ids[0]]
            assert await page.locator("th[aria-sort='descending']").inner_text() == "Instance id ▼"
            assert blocked == []
