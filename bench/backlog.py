"""A backlog: thousands of small orchestrations (chains of 3) started at once, timed from
the first start to the last completion, with the completion rate in each tenth of that
span so a rate that collapses as the backlog grows shows; and the host's resident
memory before, after they completed, and after they were purged over the HTTP API.

The instances' completion times are their records' last-update times, read after the
fact, so watching costs the run nothing. A backlog that does not finish in its time
still reports what completed, tenth by tenth, over the time it had.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.scenarios import WEBHOOKS, Watcher, ended_at, start_all
from bench.usage import CpuClock, Usage
from devhost.protocol import OrchestrationStatus
from devhost.stores.base import InstanceQuery
from devhost.testing import DurableHost

TENTHS = 10
_LIST_PAGE = 1000


def resident_mb() -> float | None:
    """This process's resident set (VmRSS) in MB, after a full collection; None where
    there is no /proc (the figure is Linux's)."""
    gc.collect()
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


@dataclass
class Backlog:
    count: int
    timeout: float
    seconds: float | None = None  # first start to last completion; None: not all completed
    completed: int = 0
    tenths: list[float] = field(default_factory=list)  # completions per second, tenth by tenth
    rss_mb: list[float | None] = field(default_factory=list)  # before, completed, purged
    purge_failure: str | None = None
    usage: Usage | None = None  # CPU from the first start to the last end (or the timeout)

    @property
    def rate(self) -> float | None:
        return None if self.seconds is None else self.count / self.seconds


def _tenths(ends: list[float], began: float, span: float) -> list[float]:
    counts = [0] * TENTHS
    for end in ends:
        counts[min(TENTHS - 1, max(0, int((end - began) / span * TENTHS)))] += 1
    return [count / (span / TENTHS) for count in counts]


async def _completed_ends(host: DurableHost, since: datetime) -> list[float]:
    """The end times of the instances created since `since` that completed, from the
    list API (what a timed-out run leaves to count; its times are to the second, enough
    for tenths of a run that timed out)."""
    query = InstanceQuery(created_from=since, statuses=frozenset({OrchestrationStatus.COMPLETED}))
    ends: list[float] = []
    continuation: str | None = None
    while True:
        statuses, continuation = await host.management.list(query, top=_LIST_PAGE, continuation=continuation)
        ends += [datetime.fromisoformat(status.last_updated_time or "").timestamp() for status in statuses]
        if continuation is None:
            return ends


async def purge(host: DurableHost, since: datetime, timeout: float) -> int:
    """Every instance created since `since`, purged by one call of the HTTP API."""
    moment = (since - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = f"{host.base_url}{WEBHOOKS}/instances"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
        http.delete(url, params={"createdTimeFrom": moment}) as response,
    ):
        body = await response.json()
        assert response.status == 200, (response.status, body)
        return int(body["instancesDeleted"])


async def run(
    host: DurableHost, count: int, timeout: float, purge_timeout: float, azurite_pid: int | None = None
) -> Backlog:
    """The backlog on `host` (a fresh one: nothing else in its hub)."""
    result = Backlog(count, timeout)
    await host.start("chain", 1)  # warm-up: the figure before is of a host that ran
    await host.settle()
    result.rss_mb.append(resident_mb())
    since = datetime.now(UTC)
    began = time.time()
    clock = CpuClock(azurite_pid)
    watcher = Watcher(host)

    async def backlog() -> None:
        await watcher.all_ended(await start_all(host, "chain", 3, count))

    try:
        await asyncio.wait_for(backlog(), timeout)
    except TimeoutError:
        result.usage = clock.read()
        ends = await asyncio.wait_for(_completed_ends(host, since), 120)
        result.completed = len(ends)
        result.tenths = _tenths(ends, began, timeout)
        return result
    result.usage = clock.read()
    ends = [ended_at(record) for record in watcher.ended]
    result.seconds = max(ends) - began
    result.completed = len(ends)
    result.tenths = _tenths(ends, began, result.seconds)
    result.rss_mb.append(resident_mb())
    try:
        deleted = await purge(host, since, purge_timeout)
    except TimeoutError:
        result.purge_failure = f"purge timed out after {purge_timeout:g} s"
        return result
    assert deleted >= count, deleted
    result.rss_mb.append(resident_mb())
    return result
