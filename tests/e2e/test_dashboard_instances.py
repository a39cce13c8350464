"""The dashboard's instance pages over real HTTP, on both stores: the list filters by
status and id prefix in the URL and pages on with the store's continuation token; an
instance's page puts a failure first and draws its timeline (one bar per activity of a
chain, overlapping bars for a fan-out); an unknown instance or status is a page that
says so."""

from __future__ import annotations

import html
import re
import uuid

import aiohttp

from devhost.dashboard import listing
from devhost.testing import DurableHost

INSTANCES = "/devhost/dashboard/instances/"


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        assert response.content_type == "text/html"
        return response.status, await response.text()


def _listed(page: str) -> list[str]:
    return [html.unescape(found) for found in re.findall(r'<td><a href="[^"]+">([^<]+)</a></td>', page)]


async def test_the_list_filters_by_status_and_prefix(host: DurableHost, http: aiohttp.ClientSession) -> None:
    tag = uuid.uuid4().hex[:8]
    done = await host.start("sequence", None, instance_id=f"{tag}-done")
    failed = await host.start("fails", None, instance_id=f"{tag}-failed")
    await host.wait(done)
    await host.wait(failed)

    _, everything = await _get(http, f"{host.base_url}{INSTANCES}?prefix={tag}")
    status, only_failed = await _get(http, f"{host.base_url}{INSTANCES}?prefix={tag}&status=Failed")

    assert sorted(_listed(everything)) == [done, failed]
    assert status == 200 and _listed(only_failed) == [failed]
    assert 'value="Failed" checked' in only_failed  # the view is in the URL, and the form says so


async def test_the_list_pages_on_with_the_continuation_token(host: DurableHost, http: aiohttp.ClientSession) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [await host.start("echo_back", n, instance_id=f"{tag}-{n:02d}") for n in range(listing.PAGE_SIZE + 3)]
    await host.settle()

    seen: list[str] = []
    url = f"{host.base_url}{INSTANCES}?prefix={tag}"
    while url:
        _, page = await _get(http, url)
        seen += _listed(page)
        following = re.search(r'<a class="button" href="([^"]+)" rel="next">', page)
        url = f"{host.base_url}{html.unescape(following.group(1))}" if following else ""
    assert sorted(seen) == sorted(ids)


async def test_a_failed_instance_shows_its_failure_first(host: DurableHost, http: aiohttp.ClientSession) -> None:
    failed = await host.start("fails", None)
    await host.wait(failed)

    status, page = await _get(http, f"{host.base_url}{INSTANCES}{failed}")

    assert status == 200
    assert page.index('id="failure-heading"') < page.index('id="status-heading"')
    assert "orchestrator gave up" in html.unescape(page)


async def test_a_chains_timeline_has_a_bar_per_activity_and_a_fan_outs_bars_overlap(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    chain = await host.start("sequence", None)
    fan_out = await host.start("fan_out", 5)
    await host.wait(chain)
    await host.wait(fan_out)

    _, chain_page = await _get(http, f"{host.base_url}{INSTANCES}{chain}")
    _, fan_page = await _get(http, f"{host.base_url}{INSTANCES}{fan_out}")

    chain_lanes = re.findall(r'data-kind="activity"[^>]*data-lane="(\d+)"', chain_page)
    fan_lanes = re.findall(r'data-kind="activity"[^>]*data-lane="(\d+)"', fan_page)
    assert len(chain_lanes) == chain_page.count("<td>TaskScheduled</td>") > 1 and set(chain_lanes) == {"0"}
    assert len(fan_lanes) == 5 and len(set(fan_lanes)) == 5


async def test_an_unknown_instance_or_status_is_a_page_saying_so(host: DurableHost, http: aiohttp.ClientSession) -> None:
    status, page = await _get(http, f"{host.base_url}{INSTANCES}no-such-instance")
    assert status == 404 and "No instance with ID &#39;no-such-instance&#39; found." in page

    status, page = await _get(http, f"{host.base_url}{INSTANCES}?status=completed")
    assert status == 400 and "Unknown runtime status &#39;completed&#39;" in page


async def _act(http: aiohttp.ClientSession, host: DurableHost, instance_id: str, action: str, **form: str) -> tuple[int, str, str]:
    """Posts an action's form as the page does (same origin); status, final URL, page."""
    async with http.post(
        f"{host.base_url}{INSTANCES}{instance_id}/{action}", data=form, headers={"Origin": host.base_url}
    ) as response:
        return response.status, str(response.url), await response.text()


async def test_actions_steer_the_instance_as_the_api_then_reports(host: DurableHost, http: aiohttp.ClientSession) -> None:
    waiting = await host.start("waits_for_events", None)
    await host.wait_until(waiting, lambda s: s.runtime_status == "Running")

    status, url, page = await _act(http, host, waiting, "suspend", confirm="on", reason="looking")
    assert status == 200 and "done=" in url and "Suspension requested." in page
    await host.wait_until(waiting, lambda s: s.runtime_status == "Suspended")  # the command is a message
    await _act(http, host, waiting, "resume", confirm="on")
    await host.wait_until(waiting, lambda s: s.runtime_status == "Running")
    await _act(http, host, waiting, "terminate", confirm="on", reason="enough")
    final = await host.wait(waiting)
    assert final.runtime_status == "Terminated" and final.output == "enough"

    status, _, page = await _act(http, host, waiting, "purge", confirm="on")
    assert status == 200 and "purged." in html.unescape(page)
    status, _ = await _get(http, f"{host.base_url}{INSTANCES}{waiting}")
    assert status == 404


async def test_a_refused_action_says_why_in_place(host: DurableHost, http: aiohttp.ClientSession) -> None:
    done = await host.start("sequence", None)
    await host.wait(done)

    status, _, page = await _act(http, host, done, "terminate", reason="too late")
    assert status == 400 and "Tick the confirmation box to go ahead." in page
    status, _, page = await _act(http, host, done, "raise-event", confirm="on", event_name="x", event_data="{")
    assert status == 400 and "Invalid JSON content" in page
    status, _, page = await _act(http, host, done, "resume", confirm="on")
    assert status in (409, 410) and 'role="alert"' in page
    assert (await host.status(done)).runtime_status == "Completed"


async def test_bad_entity_and_clock_forms_say_why(host: DurableHost, http: aiohttp.ClientSession) -> None:
    headers = {"Origin": host.base_url}
    async with http.post(f"{host.base_url}/devhost/dashboard/entities/signal", data={"entity": "Tally", "key": "k", "operation": "add", "input": "{"}, headers=headers) as response:
        assert response.status == 400 and "Invalid JSON content" in await response.text()
    async with http.post(f"{host.base_url}/devhost/dashboard/entities/signal", data={"entity": "Nope", "key": "k"}, headers=headers) as response:
        assert response.status in (400, 404) and 'role="alert"' in await response.text()
    async with http.post(f"{host.base_url}/devhost/dashboard/clock", data={"count": "-1", "unit": "hours"}, headers=headers) as response:
        assert response.status == 400 and "whole number of minutes, hours, days" in await response.text()
    async with http.post(f"{host.base_url}/devhost/dashboard/clock", data={"count": "1", "unit": "weeks"}, headers=headers) as response:
        assert response.status == 400


async def test_start_an_instance_with_a_json_input(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance_id = f"started-{uuid.uuid4().hex[:8]}"
    form = {"orchestrator": "echo_back", "instance_id": instance_id, "input": '{"a": [1, 2]}'}
    async with http.post(f"{host.base_url}{INSTANCES}start", data=form, headers={"Origin": host.base_url}) as response:
        assert response.status == 200 and str(response.url).endswith(f"/instances/{instance_id}?done=Started+echo_back.")
    assert (await host.wait(instance_id)).output == {"a": [1, 2]}  # the value, as from the SDK client
    async with http.post(f"{host.base_url}{INSTANCES}start", data={**form, "input": "[1,"}, headers={"Origin": host.base_url}) as response:
        assert response.status == 400 and "Start: Invalid JSON content" in await response.text()
