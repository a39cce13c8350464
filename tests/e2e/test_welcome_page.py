"""The welcome page at `/` and the dashboard's overview over real HTTP: what they say
about the app and the host on both stores and both clocks, counts per runtime status,
an app that owns `/` keeping it, and errors as pages."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import aiohttp
import pytest

from devhost.azurite import connection_string
from devhost.dashboard import pages
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP, ROOT_ROUTE_APP
from tests.support.faults import stalling_proxies

DASHBOARD = "/devhost/dashboard/"


async def _page(http: aiohttp.ClientSession, url: str, method: str = "GET") -> tuple[int, str, str]:
    """Status, content type and the page's text as a person reads it (tags dropped,
    entities decoded, white space collapsed)."""
    async with http.request(method, url, allow_redirects=False) as response:
        body = await response.text()
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
        return response.status, response.content_type, text


async def _html(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        return await response.text()


def _counts(page_html: str) -> dict[str, str]:
    """The overview's counts by runtime status, as shown (`3`, `1000+`)."""
    found = re.findall(r'count__number">([^<]+)</span> <span class="status [^"]+">(\w+)</span>', page_html)
    return {status: count for count, status in found}


# --- the welcome page -------------------------------------------------------------------


async def test_the_welcome_page_lists_functions_hub_store_clock_and_links_the_dashboard(
    host: DurableHost, http: aiohttp.ClientSession, store_options: dict[str, Any]
) -> None:
    status, content_type, text = await _page(http, f"{host.base_url}/")
    assert (status, content_type) == (200, "text/html")
    assert "Your Durable Functions app is up and running" in text
    # HTTP functions with their methods and URLs, as the console banner lists them.
    assert f"echo_request HTTP GET, POST {host.base_url}/api/echo/{{id:int}}/{{name?}}" in text
    assert f"start HTTP POST {host.base_url}/api/start/{{name}}" in text
    assert "sequence orchestrator" in text and "add_one activity" in text
    hub = store_options.get("hub", "TestHubName")
    assert f"Task hub {hub}" in text
    assert ("Storage memory" if not store_options else "Storage Azure Storage (azurite)") in text
    assert "Clock Virtual, at " in text
    assert f'href="{DASHBOARD}">Open the dashboard</a>' in await _html(http, f"{host.base_url}/")


async def test_with_the_system_clock_the_pages_say_so(http: aiohttp.ClientSession) -> None:
    async with DurableHost(PROTOCOL_APP, virtual_clock=False) as host:
        for path in ("/", DASHBOARD):
            status, _, text = await _page(http, f"{host.base_url}{path}")
            assert status == 200
            assert "Clock System, at " in text and "Virtual" not in text


async def test_head_answers_the_page_without_a_body(host: DurableHost, http: aiohttp.ClientSession) -> None:
    async with http.head(f"{host.base_url}/") as response:
        assert (response.status, response.content_type) == (200, "text/html")
        assert await response.read() == b""


async def test_azure_webjobs_disable_homepage_answers_204(
    monkeypatch: pytest.MonkeyPatch, host: DurableHost, http: aiohttp.ClientSession
) -> None:
    monkeypatch.setenv("AzureWebJobsDisableHomepage", "true")
    status, _, text = await _page(http, f"{host.base_url}/")
    assert (status, text) == (204, "")
    status, _, _ = await _page(http, f"{host.base_url}{DASHBOARD}")
    assert status == 200  # the dashboard is devhost's, not the host's home page


async def test_the_stylesheet_is_served_as_css(host: DurableHost, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{host.base_url}/devhost/static/dashboard.css") as response:
        assert (response.status, response.content_type) == (200, "text/css")
        assert ":focus-visible" in await response.text()


# --- an app that owns `/` ----------------------------------------------------------------


async def test_an_app_that_owns_the_root_keeps_it_and_the_dashboard_stays_reachable(
    http: aiohttp.ClientSession,
) -> None:
    async with DurableHost(ROOT_ROUTE_APP) as host:
        status, content_type, text = await _page(http, f"{host.base_url}/")
        assert (status, content_type, text) == (200, "text/plain", "the app's own home page")
        status, content_type, text = await _page(http, f"{host.base_url}{DASHBOARD}")
        assert (status, content_type) == (200, "text/html") and "Overview" in text
        assert f"home HTTP GET {host.base_url}/" in text  # no prefix: the root's own URL
        async with http.get(f"{host.base_url}/devhost/static/dashboard.css") as response:
            assert (response.status, response.content_type) == (200, "text/css")
        # As the Functions host's HomepageMiddleware: `/` with a method no route takes
        # is the home page again.
        status, content_type, text = await _page(http, f"{host.base_url}/", method="POST")
        assert (status, content_type) == (200, "text/html") and "up and running" in text


async def test_function_names_are_shown_as_text_never_as_markup(http: aiohttp.ClientSession) -> None:
    """The library accepts any function name, HTML included."""
    async with DurableHost(ROOT_ROUTE_APP) as host:
        # The app owns `GET /`; a POST there gets the welcome page.
        for method, path in (("POST", "/"), ("GET", DASHBOARD)):
            async with http.request(method, f"{host.base_url}{path}") as response:
                page_html = await response.text()
            assert "<img" not in page_html
            assert "&lt;img src=x onerror=alert(1)&gt;" in page_html


# --- the overview -------------------------------------------------------------------------


async def test_the_overview_counts_instances_per_runtime_status(host: DurableHost, http: aiohttp.ClientSession) -> None:
    completed = await host.start("sequence", 1)
    failed = await host.start("fails")
    await host.start("waits_for_events")
    await host.wait(completed)
    await host.wait(failed)
    await host.settle()
    status, _, text = await _page(http, f"{host.base_url}{DASHBOARD}")
    assert status == 200 and "Overview" in text
    counts = _counts(await _html(http, f"{host.base_url}{DASHBOARD}"))
    assert counts == {
        "Pending": "0", "Running": "1", "Suspended": "0", "Completed": "1", "Failed": "1",
        "Terminated": "0", "ContinuedAsNew": "0", "Canceled": "0",
    }  # fmt: skip
    assert "3 in all" in text


async def test_counts_stop_past_the_limit(
    monkeypatch: pytest.MonkeyPatch, host: DurableHost, http: aiohttp.ClientSession
) -> None:
    monkeypatch.setattr(pages, "COUNT_LIMIT", 2)
    for n in range(3):
        await host.start("waits_for_events", instance_id=f"waiting-{n}")
    await host.settle()
    counts = _counts(await _html(http, f"{host.base_url}{DASHBOARD}"))
    assert (counts["Running"], counts["Completed"]) == ("2+", "0")
    _, _, text = await _page(http, f"{host.base_url}{DASHBOARD}")
    assert "2+ in all" in text


async def test_dashboard_without_its_slash_redirects(host: DurableHost, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{host.base_url}/devhost/dashboard", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (308, DASHBOARD)


async def test_errors_in_the_dashboard_are_pages(host: DurableHost, http: aiohttp.ClientSession) -> None:
    status, content_type, text = await _page(http, f"{host.base_url}/devhost/dashboard/no-such-page")
    assert (status, content_type) == (404, "text/html")
    assert "Error: There is no dashboard page at /devhost/dashboard/no-such-page." in text
    status, content_type, text = await _page(http, f"{host.base_url}{DASHBOARD}", method="POST")
    assert (status, content_type) == (405, "text/html") and "Method Not Allowed" in text


async def test_the_overview_says_when_storage_does_not_answer(azurite: Any, http: aiohttp.ClientSession) -> None:
    """Tables hang behind a real proxy: the page still comes, within the storage-call
    bound, with the host's facts and an inline error in place of the counts."""
    async with stalling_proxies(*azurite.ports) as proxies:
        blob, queue, table = proxies
        proxied = connection_string("127.0.0.1", (blob.port, queue.port, table.port))
        async with DurableHost(
            PROTOCOL_APP, storage="azurite", connection=proxied, hub=f"Welcome{uuid.uuid4().hex[:10]}"
        ) as host:
            table.stall()
            try:
                status, content_type, text = await _page(http, f"{host.base_url}{DASHBOARD}")
            finally:
                table.flow()
            assert (status, content_type) == (503, "text/html")
            assert "Error: Counts are not available: storage unavailable" in text
            assert "Functions" in text and "echo_request" in text
