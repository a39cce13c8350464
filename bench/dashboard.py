"""The dashboard on a big hub: each page's time, and on the Azure store the storage calls
it makes and the table rows they read, so a page that scans the hub shows at once.

The hub holds `size` orchestration instances, mostly Completed, some Failed, Running and
Suspended (one in a hundred or so with an input too large for a table property, kept as a
blob as the store keeps it), and a few entities. A handful are real: a chain whose page
has a history, one waiting for an event, one suspended, the entities. The rest are
instance rows as the store writes them: on Azure straight through its row writes
(`tests/support/hub_rows.py`: 10,000 real orchestrations would take Azurite minutes), on
the memory store, which has no other way in and runs them in seconds, as real trivial
orchestrations.

Storage calls are counted by proxies in front of Azurite's table and blob endpoints
(`tests/support/storage_calls.py`), so the host runs unchanged; the partition leases'
renewals, which go on whatever a page does, are left out. The times are a host's straight
on Azurite, the counts those of a second host on the same hub through the proxies.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Optional

import aiohttp

from devhost.ids import new_hex
from devhost.protocol import OrchestrationStatus
from devhost.stores.base import InstanceRecord
from devhost.testing import DurableHost
from tests.support.hub_rows import orchestration_row, write_rows
from tests.support.storage_calls import Call, StorageCalls, through

APP = Path(__file__).resolve().parent / "app"
DASHBOARD = "/devhost/dashboard"

# Of every 100 seeded instances: how many end in each status.
MIX = {
    OrchestrationStatus.COMPLETED: 94,
    OrchestrationStatus.FAILED: 3,
    OrchestrationStatus.RUNNING: 2,
    OrchestrationStatus.SUSPENDED: 1,
}
LARGE_EVERY = 101  # one instance in this many has a large input (whatever its status)
_LARGE_INPUT_CHARS = 40_000  # past the table property limit: a blob
ENTITIES = 20
# Each page's time is the best of this many loads (its counts are those of the last).
_RUNS = 3


@dataclass
class PageRow:
    page: str
    seconds: float
    calls: Optional[list[Call]] = None  # what the last load asked of storage; None on memory

    def line(self) -> str:
        counted = ""
        if self.calls is not None:
            tables = [call for call in self.calls if call.endpoint == "table"]
            blobs = len(self.calls) - len(tables)
            counted = f"{len(tables):12d} {sum(call.entities for call in tables):10d} {blobs:11d}"
        return f"{self.page:<34}{self.seconds * 1000:9.1f}ms {counted}"


HEADER = f"{'page':<34}{'time':>11} {'table calls':>12} {'rows read':>10} {'blob calls':>11}"


def _seeded(size: int) -> list[InstanceRecord]:
    """`size` instance rows in the MIX, created over the last day, ids as starts make them."""
    now = datetime.now(timezone.utc)
    statuses = [status for status, share in MIX.items() for _ in range(share)]
    return [
        orchestration_row(
            new_hex(), statuses[n % len(statuses)], now - timedelta(seconds=86_400 * (size - n) / size),
            f'{{"order": {n}, "document": "{"x" * _LARGE_INPUT_CHARS if n % LARGE_EVERY == 0 else ""}"}}',
        )  # fmt: skip
        for n in range(size)
    ]


@contextmanager
def _quiet() -> Iterator[None]:
    """No console line for each of the hundreds of instances failing on purpose."""
    logger = logging.getLogger("devhost")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def seed_orchestrations(host: DurableHost, records: list[InstanceRecord]) -> None:
    """The same mix as real trivial orchestrations (memory store): one that ends at
    once, one that fails at once, one that waits for an event (suspended after)."""
    ends = {OrchestrationStatus.COMPLETED: "finish", OrchestrationStatus.FAILED: "give_up"}
    with _quiet():
        for record in records:
            assert record.input is not None
            await host.management.start(
                ends.get(record.status, "collect_events"), instance_id=record.instance_id,
                input_json=record.input if record.status in ends else "1",
            )  # fmt: skip
        await host.settle()
        for record in records:
            if record.status == OrchestrationStatus.SUSPENDED:
                await host.management.suspend(record.instance_id, "seeded")
        await host.settle()


async def _real_ones(host: DurableHost) -> str:
    """A completed chain (the instance page), one waiting and one suspended, and the
    entities; returns the chain's id."""
    chain = await host.start("chain", 5)
    await host.start("collect_events", 1)
    suspended = await host.start("collect_events", 1)
    for key in range(ENTITIES):
        await host.signal_entity("Tally", f"key-{key:02d}", "add", key)
    await host.wait(chain, timeout=120)
    await host.settle()
    await host.management.suspend(suspended, "benchmark")
    await host.settle()
    return chain


class _Pages:
    """GETs of the dashboard: timed (the best of a few loads), or counted where proxies
    see storage (one load; the proxies' parsing would weigh on the times)."""

    def __init__(self, host: DurableHost, http: aiohttp.ClientSession, calls: Optional[StorageCalls]) -> None:
        self._host = host
        self._http = http
        self._calls = calls

    async def get(self, label: str, path: str) -> tuple[PageRow, str]:
        best, text, counted = float("inf"), "", None
        for _ in range(1 if self._calls else _RUNS):
            mark = self._calls.mark() if self._calls else 0
            began = time.perf_counter()
            async with self._http.get(f"{self._host.base_url}{path}") as response:
                text = await response.text()
                assert response.status == 200, (path, response.status, text[:400])
            best = min(best, time.perf_counter() - began)
            if self._calls:
                counted = self._calls.since(mark, lambda call: "-leases" not in call.path)
        return PageRow(label, best, counted), text


def _next_link(page: str) -> str:
    found = re.search(r'<a class="button" href="([^"]+)" rel="next">', page)
    assert found, "the first page has no link to the next"
    return html.unescape(found.group(1))


def _listed(page: str) -> int:
    return len(re.findall(r'<td><a href="[^"]+">[^<]+</a></td>', page))


async def measure_pages(host: DurableHost, chain: str, prefix: str, calls: Optional[StorageCalls]) -> list[PageRow]:
    async with aiohttp.ClientSession() as http:
        pages = _Pages(host, http, calls)
        rows = [(await pages.get("overview (counts)", f"{DASHBOARD}/"))[0]]
        for label, query in (
            ("instances", ""),
            ("instances ?status=Failed", "?status=Failed"),
            ("instances ?status=Suspended", "?status=Suspended"),
            (f"instances ?prefix={prefix}", f"?prefix={prefix}"),
        ):
            row, text = await pages.get(label, f"{DASHBOARD}/instances/{query}")
            assert _listed(text), f"{label}: the page lists no instance"
            rows.append(row)
            if not query:
                rows.append((await pages.get("instances, next page", _next_link(text)))[0])
        rows.append((await pages.get("one instance (a chain of 5)", f"{DASHBOARD}/instances/{chain}"))[0])
        row, text = await pages.get("entities", f"{DASHBOARD}/entities/")
        assert text.count("key-") >= ENTITIES, "the entities page lists the entities"
        rows.append(row)
        return rows


def _azurite_host(connection: str, hub: str) -> DurableHost:
    return DurableHost(APP, storage="azurite", connection=connection, hub=hub, virtual_clock=False)


async def measure(storage: str, connection: Optional[str], size: int) -> tuple[list[PageRow], float]:
    """The pages' rows, and how long seeding the hub took. On Azure, a host straight on
    Azurite times the pages, then another on the same hub through the proxies counts."""
    records = _seeded(size - 3)  # the real ones make up the rest
    prefix = records[0].instance_id[:2]
    began = time.perf_counter()
    if storage == "memory":
        async with DurableHost(APP, virtual_clock=False) as host:
            await seed_orchestrations(host, records)
            chain = await _real_ones(host)
            seeded = time.perf_counter() - began
            return await measure_pages(host, chain, prefix, None), seeded
    assert connection is not None
    hub = f"Dash{uuid.uuid4().hex[:10]}"
    await write_rows(connection, hub, records)
    async with _azurite_host(connection, hub) as host:
        chain = await _real_ones(host)
        seeded = time.perf_counter() - began
        timed = await measure_pages(host, chain, prefix, None)
    async with through(connection, "table", "blob") as calls, _azurite_host(calls.connection, hub) as host:
        counted = await measure_pages(host, chain, prefix, calls)
    return [dataclasses.replace(row, calls=count.calls) for row, count in zip(timed, counted)], seeded


def report(storage: str, size: int, rows: list[PageRow], seeded: float) -> None:
    print(f"\n== dashboard on a {size:,}-instance hub, storage: {storage} (seeded in {seeded:.1f}s) ==")
    print(HEADER)
    for row in rows:
        print(row.line())
