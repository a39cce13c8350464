"""The dashboard's clock over real HTTP, on both stores: an advance reports each durable
timer it released (linked to its instance, at its fire time) in order, with the moment
reached, and a reload shows the same report without moving the clock again; nothing due
says so; a long list is cut short and counted; a report no longer kept says so; a
runaway advance stops with the reason. `POST /devhost/clock/advance` reports the same."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta
from urllib.parse import quote

import aiohttp
import pytest

from devhost.dashboard import clock
from devhost.dashboard.render import iso_moment
from devhost.engine import dispatcher
from devhost.testing import DurableHost

CLOCK = "/devhost/dashboard/clock"
_TIMER_ROW = re.compile(
    r'<td><time datetime="([^"]+)">[^<]*</time></td>\s*<td>Durable timer</td><td><a href="([^"]+)">([^<]+)</a></td>'
)


async def _advance(http: aiohttp.ClientSession, host: DurableHost, count: int, unit: str) -> tuple[int, str, str]:
    """Posts the page's form as a browser would (following the redirect): status, the
    URL it landed on, the page."""
    form = {"count": str(count), "unit": unit}
    async with http.post(f"{host.base_url}{CLOCK}", data=form, headers={"Origin": host.base_url}) as response:
        return response.status, str(response.url), await response.text()


def _timers(page: str) -> list[tuple[str, str, str]]:
    """The listed timers: (fire time, link, instance id)."""
    return [(when, html.unescape(href), html.unescape(what)) for when, href, what in _TIMER_ROW.findall(page)]


async def _sleepers(host: DurableHost, hours: list[int]) -> list[str]:
    """Instances waiting on a timer `hours` from now each, with ids a link must quote."""
    tag = uuid.uuid4().hex[:6]
    ids = [await host.start("sleeper", h, instance_id=f"nap {tag} 100% {n}") for n, h in enumerate(hours)]
    for instance_id in ids:
        await host.wait_until(instance_id, lambda s: s.runtime_status == "Running")
    return ids


async def test_an_advance_lists_the_timers_it_fired_in_order(host: DurableHost, http: aiohttp.ClientSession) -> None:
    start = host.now
    later, sooner = await _sleepers(host, [2, 1])

    status, url, page = await _advance(http, host, 3, "hours")

    assert status == 200 and "?advance=" in url
    assert _timers(page) == [
        (iso_moment(start + timedelta(hours=1)), f"/devhost/dashboard/instances/{quote(sooner, safe='')}", sooner),
        (iso_moment(start + timedelta(hours=2)), f"/devhost/dashboard/instances/{quote(later, safe='')}", later),
    ]
    assert f'The clock moved to <time datetime="{iso_moment(start + timedelta(hours=3))}">' in page
    assert (await host.status(sooner)).runtime_status == "Completed"
    async with http.get(url) as again:  # a reload shows the report and moves nothing
        assert again.status == 200 and _timers(await again.text()) == _timers(page)
    assert host.now == start + timedelta(hours=3)


async def test_nothing_due_says_so_and_a_report_no_longer_kept_says_so(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    status, url, page = await _advance(http, host, 5, "minutes")
    assert status == 200 and "Nothing was due." in page and _timers(page) == []
    async with http.get(f"{host.base_url}{CLOCK}?advance=not-a-report") as response:
        text = await response.text()
        assert response.status == 404 and 'role="alert"' in text and "no longer keeps the report" in text


async def test_a_long_list_is_cut_short_and_counted(
    host: DurableHost, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "SHOWN", 2)
    first, second, _ = await _sleepers(host, [1, 2, 3])
    _, _, page = await _advance(http, host, 1, "days")
    assert [what for _, _, what in _timers(page)] == [first, second]
    assert "And 1 more." in page


async def test_a_runaway_advance_stops_and_says_why(
    host: DurableHost, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound on one advance still counts each timer released (two at one moment here)."""
    monkeypatch.setattr(dispatcher, "_MAX_TIMERS_PER_ADVANCE", 1)
    await _sleepers(host, [1, 1])
    status, _, page = await _advance(http, host, 2, "hours")
    assert status == 400 and 'role="alert"' in page and "Advancing fired more than 1 timers" in page


async def test_the_http_route_reports_what_fired_beside_the_time(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    start = host.now
    (sleeping,) = await _sleepers(host, [1])
    async with http.post(f"{host.base_url}/devhost/clock/advance", json={"seconds": 7200}) as response:
        body = await response.json()
    fire_at = (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert body["now"].startswith((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert [(item["kind"], item["instanceId"], item["time"][:19]) for item in body["fired"]] == [
        ("timer", sleeping, fire_at)
    ]
