"""The dashboard's views over real HTTP, on both stores: the instances list filters by
name and created time and sorts its page, with every choice in the URL; an instance's
page links its parent and sub-orchestrations, filters its history by event type with
each event's fields expandable, and reaches the executions it continued as new from;
bad choices say why inline."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import aiohttp

from devhost.testing import DurableHost

INSTANCES = "/devhost/dashboard/instances/"


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        assert response.content_type == "text/html"
        return response.status, html.unescape(await response.text())


async def _instance_views(http: aiohttp.ClientSession, host: DurableHost, *queries: str) -> list[tuple[int, str]]:
    """A finished chain's page, as each query string asks for it."""
    chain = await host.start("sequence", None)
    await host.wait(chain)
    return [await _get(http, f"{host.base_url}{INSTANCES}{chain}{query}") for query in queries]


def _listed(page: str) -> list[str]:
    return re.findall(r'<td><a href="[^"]+">([^<]+)</a></td>', page)


async def test_the_list_filters_by_name_and_created_time_and_sorts_the_page(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    tag = uuid.uuid4().hex[:8]
    chains = [await host.start("sequence", None, instance_id=f"{tag}-{n}") for n in ("b", "c")]
    echo = await host.start("echo_back", 1, instance_id=f"{tag}-a")
    await host.settle()
    created = (await host.status(echo)).created_time
    assert created is not None
    minute_after = (host.now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    base = f"{host.base_url}{INSTANCES}?prefix={tag}"

    _, by_name = await _get(http, f"{base}&name=sequence")
    _, descending = await _get(http, f"{base}&sort=id&order=desc")
    _, later = await _get(http, f"{base}&created_from={minute_after}")
    _, up_to_now = await _get(http, f"{base}&created_to={minute_after}")

    assert sorted(_listed(by_name)) == chains
    assert _listed(descending) == sorted([*chains, echo], reverse=True)
    assert 'aria-sort="descending"' in descending
    assert _listed(later) == [] and "No instance matches." in later
    assert sorted(_listed(up_to_now)) == sorted([*chains, echo])
    # The view's choices survive in the form and in the header links.
    assert f'value="{minute_after}"' in later
    assert "sort=id&order=desc" not in descending.split("<thead>")[1].split("</thead>")[0]  # next click: ascending


async def test_bad_list_choices_say_why(host: DurableHost, http: aiohttp.ClientSession) -> None:
    cases = {
        "created_from=yesterday": "Created from must be a date and time",
        "created_from=2030-01-02T00:00&created_to=2030-01-01T00:00": "Created from is later than created to",
        "sort=colour": "Rows sort by one of",
        "refresh=7": "Refresh every 2, 5, 10 seconds",
    }
    for query, message in cases.items():
        status, page = await _get(http, f"{host.base_url}{INSTANCES}?{query}")
        assert status == 400 and message in page and 'role="alert"' in page, query


async def test_an_instance_links_its_parent_and_its_sub_orchestrations(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    parent = await host.start("parent", None)
    child = f"child-of-{parent}"
    await host.wait(child)
    await host.advance(timedelta(seconds=5))  # the retry of the failing child waits on a timer
    await host.wait(parent)

    _, parent_page = await _get(http, f"{host.base_url}{INSTANCES}{parent}")
    _, child_page = await _get(http, f"{host.base_url}{INSTANCES}{child}")

    children = re.findall(r"<li><a href=\"([^\"]+)\">[^<]+</a> \((\w+)\)</li>", parent_page)
    assert (child, "sequence") in children and len(children) >= 3  # explicit, generated, failing (twice)
    assert re.search(rf'<dt>Parent</dt><dd><a href="{parent}">{parent}</a> \(parent\)</dd>', child_page)


async def test_the_history_filters_by_event_type_and_expands_each_events_fields(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    (_, everything), (_, completions), (status, unknown) = await _instance_views(
        http, host, "", "?event=TaskCompleted", "?event=Nope"
    )

    history = completions.split('id="history-heading"')[1]
    types = re.findall(r"<tr>\s*<td>\d+</td><td>(\w+)</td>", history)
    assert types and set(types) == {"TaskCompleted"}
    assert len(types) == everything.count("<td>TaskCompleted</td>")
    assert '"TaskScheduledId": 0' in history and '"Result":' in history  # the fields, with the result parsed
    assert 'value="TaskCompleted" checked' in completions
    assert status == 400 and "Unknown event type 'Nope'" in unknown


async def test_executions_it_continued_as_new_from_are_one_link_away(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    collector = await host.start("collector", None)
    for item in ("first", "second"):
        await host.raise_event(collector, "Item", item)
        await host.settle()

    _, page = await _get(http, f"{host.base_url}{INSTANCES}{collector}")
    earlier = re.findall(r'<a href="[^"?]+\?execution=([0-9a-f]+)">Earlier execution', page)
    _, oldest = await _get(http, f"{host.base_url}{INSTANCES}{collector}?execution={earlier[-1]}")
    status, gone = await _get(http, f"{host.base_url}{INSTANCES}{collector}?execution=0123")

    assert len(earlier) == 2
    assert "Timeline of earlier execution" in oldest and '"Input": "first"' in oldest
    assert '"Input": "second"' not in oldest.split('id="history-heading"')[1]
    assert status == 404 and "is not kept" in gone


async def test_the_timeline_is_drawn_by_episode_under_a_still_clock_or_by_time_when_asked(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    (_, by_episode), (_, by_time), (status, bad) = await _instance_views(
        http, host, "", "?axis=time&event=TaskCompleted", "?axis=colour"
    )

    assert ">episode 1</text>" in by_episode and '<strong aria-current="true">episode</strong>' in by_episode
    assert ">episode 1</text>" not in by_time and '<strong aria-current="true">time</strong>' in by_time
    assert "axis=episodes" in by_time and "event=TaskCompleted" in by_time.split('class="axis-choice"')[1]
    assert status == 400 and "drawn by time or episodes" in bad
