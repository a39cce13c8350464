"""The dashboard on a hub that grows, on Azurite, with its storage calls counted on the
wire (a proxy in front of the table and blob endpoints): each page makes as many calls
on a hub twice the size and reads at most a page of rows, so no refresh scans the hub;
a filter that few instances among many match still shows them on the first page, as
does the list when entity rows sort before every orchestration; and the entities page
behind hundreds of deleted entities' rows reads a bounded number of pages and links on.

The hub's rows are written straight through the store's row writes
(`tests/support/hub_rows.py`): hundreds of real orchestrations would take Azurite longer
than this whole file may."""

from __future__ import annotations

import base64
import html
import re
import uuid
from datetime import timedelta
from typing import Optional
from urllib.parse import unquote

import aiohttp

from devhost.azurite import AzuriteProcess, connection_string
from devhost.dashboard import entities, listing
from devhost.dashboard.pages import COUNT_PAGES, STATUS_ORDER
from devhost.dashboard.render import STORE_READS
from devhost.http.urls import WEBHOOK_PATH as API
from devhost.protocol import OrchestrationStatus
from devhost.stores.base import InstanceQuery
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.http import call
from tests.support.http_faults import Request, faulty_proxy
from tests.support.hub_rows import deleted_entity_row, orchestration_row, write_rows
from tests.support.storage_calls import Call, StorageCalls, through

DASHBOARD = "/devhost/dashboard"
GROWTH = 200  # Completed instances the hub gains between the two looks
_LISTED = re.compile(r'<td><a href="[^"]+">([^<]+)</a></td>')
_NEXT = re.compile(r'<a class="button" href="([^"]+)" rel="next">')
_ENTITY_KEY = re.compile(r"<tr>\s*<td>[^<]*</td><td>([^<]+)</td>")


def _hub() -> str:
    return f"Grow{uuid.uuid4().hex[:10]}"


async def _load(host: DurableHost, http: aiohttp.ClientSession, calls: StorageCalls, path: str) -> tuple[str, list[Call]]:
    """The page, and the storage calls it made (but the partition leases' renewals,
    which go on whatever it does)."""
    mark = calls.mark()
    async with http.get(f"{host.base_url}{path}") as response:
        page = await response.text()
        assert response.status == 200, page
    return page, calls.since(mark, lambda call: "-leases" not in call.path)


def _listed(page: str) -> list[str]:
    return [html.unescape(found) for found in _LISTED.findall(page)]


def _entity_keys(page: str) -> list[str]:
    return [html.unescape(found) for found in _ENTITY_KEY.findall(page)]


def _next(page: str) -> str:
    found = _NEXT.search(page)
    return html.unescape(found.group(1)) if found else ""


PAGES = {
    "overview": f"{DASHBOARD}/",
    "instances": f"{DASHBOARD}/instances/",
    "failed": f"{DASHBOARD}/instances/?status=Failed",
    "prefix": f"{DASHBOARD}/instances/?prefix=order-01",
    "entities": f"{DASHBOARD}/entities/",
}


async def test_each_page_costs_the_same_storage_calls_on_a_hub_twice_the_size(azurite: AzuriteProcess) -> None:
    hub = _hub()
    async with through(azurite.connection_string, "table", "blob") as calls, aiohttp.ClientSession() as http:
        async with DurableHost(PROTOCOL_APP, storage="azurite", connection=calls.connection, hub=hub) as host:
            for key in ("a", "b", "c"):  # entity rows ("@tally@...") sort before every "order-..."
                await host.signal_entity("Tally", key, "add", 1)
            created = host.now - timedelta(hours=1)
            failed = [f"order-{n:04d}" for n in (7, 120, 333)]
            rows = [
                orchestration_row(f"order-{n:04d}", OrchestrationStatus.COMPLETED, created, "{}")
                for n in range(2 * GROWTH) if f"order-{n:04d}" not in failed
            ]  # fmt: skip
            await write_rows(azurite.connection_string, hub, [
                *rows[:GROWTH], *(orchestration_row(i, OrchestrationStatus.FAILED, created, "{}") for i in failed),
            ])  # fmt: skip
            await host.settle()
            small = {name: await _load(host, http, calls, path) for name, path in PAGES.items()}
            await write_rows(azurite.connection_string, hub, rows[GROWTH:])
            big = {name: await _load(host, http, calls, path) for name, path in PAGES.items()}

    for name in PAGES:
        assert len(big[name][1]) == len(small[name][1]), f"{name}: more storage calls on a bigger hub"
    assert len(big["overview"][1]) <= len(STATUS_ORDER) * COUNT_PAGES
    for name in ("instances", "failed", "prefix", "entities"):
        assert sum(call.entities for call in big[name][1]) <= listing.PAGE_SIZE
    page = {name: loaded[0] for name, loaded in big.items()}
    assert re.search(r'count__number">3</span> <span class="status[^"]*">Failed<', page["overview"])
    assert len(_listed(page["instances"])) == listing.PAGE_SIZE and _next(page["instances"])
    assert sorted(_listed(page["failed"])) == failed and not _next(page["failed"])
    assert len(_listed(page["prefix"])) == listing.PAGE_SIZE and _next(page["prefix"])
    assert _entity_keys(page["entities"]) == ["a", "b", "c"]


async def test_the_entities_page_reads_a_bounded_number_of_pages_past_deleted_entities(
    azurite: AzuriteProcess,
) -> None:
    hub = _hub()
    async with through(azurite.connection_string, "table") as calls, aiohttp.ClientSession() as http:
        async with DurableHost(PROTOCOL_APP, storage="azurite", connection=calls.connection, hub=hub) as host:
            deleted = STORE_READS * entities.PAGE_SIZE + 30  # more than one page's reads hold
            when = host.now - timedelta(hours=1)
            await write_rows(azurite.connection_string, hub, [
                deleted_entity_row("Tally", f"gone-{n:04d}", when) for n in range(deleted)
            ])  # fmt: skip
            await host.signal_entity("Tally", "kept", "add", 5)  # "kept" sorts after "gone-..."
            await host.settle()

            first, first_calls = await _load(host, http, calls, f"{DASHBOARD}/entities/")
            assert len(first_calls) == STORE_READS and _entity_keys(first) == [] and _next(first)
            following, _ = await _load(host, http, calls, _next(first))
            assert _entity_keys(following) == ["kept"]


def _empty_page_resuming_at(key: str) -> bytes:
    """What a real table answers where a page ended at a partition boundary before any
    row matched: no rows, and where to go on (Azurite's keys in continuations are base64)."""
    body = b'{"odata.metadata":"$metadata#Instances","value":[]}'
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json;odata=minimalmetadata;charset=utf-8\r\n"
        f"x-ms-continuation-NextPartitionKey: {base64.b64encode(key.encode()).decode()}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def test_a_filter_answered_with_an_empty_page_still_fills_the_dashboards_page(azurite: AzuriteProcess) -> None:
    """The HTTP API hands an empty page on with its continuation, as ext does; what the
    dashboard reads (`pages=STORE_READS`) goes on reading and shows the matches."""
    hub = _hub()
    answered: list[str] = []

    def empty_once(request: Request) -> Optional[bytes]:
        if "Instances()" in request.path and "Failed" in unquote(request.path) and not answered:
            answered.append(request.path)
            return _empty_page_resuming_at("order-0005")
        return None

    async with faulty_proxy(azurite.ports[2], empty_once) as proxy, aiohttp.ClientSession() as http:
        proxied = connection_string("127.0.0.1", (azurite.ports[0], azurite.ports[1], proxy.port))
        async with DurableHost(PROTOCOL_APP, storage="azurite", connection=proxied, hub=hub) as host:
            created = host.now - timedelta(hours=1)
            failed = ["order-0007", "order-0120"]
            await write_rows(azurite.connection_string, hub, [
                orchestration_row(f"order-{n:04d}", OrchestrationStatus.COMPLETED, created, "{}") for n in range(100)
            ] + [orchestration_row(i, OrchestrationStatus.FAILED, created, "{}") for i in failed])  # fmt: skip
            status, body, headers = await call(http, "GET", f"{host.base_url}{API}/instances?runtimeStatus=Failed")
            assert status == 200 and body == [] and headers.get("x-ms-continuation-token")

            answered.clear()
            query = InstanceQuery(statuses=frozenset({OrchestrationStatus.FAILED}))
            shown, more = await host.management.list(query, top=listing.PAGE_SIZE, pages=STORE_READS)
            assert answered and [s.instance_id for s in shown] == failed and more is None
