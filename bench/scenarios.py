"""What the benchmark asks of a running host, as a user's clients would ask it; each
workload returns its wall time in seconds (the backlog more: bench/backlog.py).

Completion of many instances is watched one instance at a time (`Watcher`), not by one
waiter per instance: each waiter reads its instance to begin with and on its rechecks,
storage reads of the benchmark's own that grow with the backlog; the watcher's stay
about one per poll, and are counted, so they can be told apart from the host's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from devhost.errors import StorageUnavailable
from devhost.ids import new_hex
from devhost.protocol import OrchestrationStatus
from devhost.stores.base import InstanceRecord
from devhost.testing import DurableHost

WEBHOOKS = "/runtime/webhooks/durabletask"
TIMEOUT_S = 600  # a bound for one wait; each workload has its own (bench/__main__.py)
STARTS_AT_ONCE = 8  # concurrent starts, as the 8 clients of the other workloads make
START_ATTEMPTS = 3
RETRY_AFTER_S = 0.5


async def run_orchestration(host: DurableHost, name: str, job: Any) -> float:
    """One orchestration from its start to its completion."""
    began = time.perf_counter()
    instance = await host.start(name, job)
    status = await host.wait(instance, timeout=TIMEOUT_S)
    assert status.runtime_status == "Completed", status.output
    return time.perf_counter() - began


def sleeps(activity: str, count: int, seconds: float) -> dict[str, Any]:
    """The job of the app's `sleeps` orchestration: `count` of `activity` side by side."""
    return {"activity": activity, "count": count, "seconds": seconds}


async def external_events(host: DurableHost, count: int, clients: int) -> float:
    """`count` events raised over HTTP to one orchestration that waits for them one by
    one, by `clients` clients (each its own session, so its own connections) raising
    their shares one after another; from the first raise to the completion."""
    instance = await host.start("collect_events", count)
    await host.settle()  # it waits for the first event
    url = f"{host.base_url}{WEBHOOKS}/instances/{instance}/raiseEvent/tick"
    sessions = [aiohttp.ClientSession() for _ in range(clients)]

    async def send(session: aiohttp.ClientSession, share: range) -> None:
        for n in share:
            async with session.post(url, json=n) as response:
                assert response.status == 202, (response.status, await response.text())

    try:
        began = time.perf_counter()
        await asyncio.gather(*(send(session, range(k, count, clients)) for k, session in enumerate(sessions)))
        status = await host.wait(instance, timeout=TIMEOUT_S)
        elapsed = time.perf_counter() - began
    finally:
        for session in sessions:
            await session.close()
    assert status.output == count, status.output
    return elapsed


async def entity_signals(host: DurableHost, count: int, clients: int) -> float:
    """`count` signals to one fresh entity from `clients` concurrent senders, until every
    one is applied."""
    key = f"bench-{time.perf_counter_ns()}"

    async def send(share: range) -> None:
        for _ in share:
            await host.signal_entity("Tally", key, "add", 1)

    began = time.perf_counter()
    await asyncio.gather(*(send(range(k, count, clients)) for k in range(clients)))
    await host.settle()
    elapsed = time.perf_counter() - began
    assert await host.read_entity("Tally", key) == count
    return elapsed


async def start_all(host: DurableHost, name: str, job: Any, count: int) -> list[str]:
    """`count` instances of `name`, started concurrently, at most STARTS_AT_ONCE at a time.
    A start that storage did not take (Azurite at its limit resets connections: the
    HTTP API's 503) is tried again under the same instance id, as a client would retry."""
    gate = asyncio.Semaphore(STARTS_AT_ONCE)

    async def one() -> str:
        instance = new_hex()
        async with gate:
            for _ in range(START_ATTEMPTS - 1):
                with contextlib.suppress(StorageUnavailable):
                    return await host.start(name, job, instance_id=instance)
                await asyncio.sleep(RETRY_AFTER_S)
            return await host.start(name, job, instance_id=instance)

    return list(await asyncio.gather(*(one() for _ in range(count))))


class Watcher:
    """Waits for many instances to end by reading the first one not yet seen ended,
    every POLL_S while it runs, so the benchmark's own reads stay about one per poll
    plus one per instance (`reads` counts them, to be told apart from the host's)."""

    POLL_S = 0.05

    def __init__(self, host: DurableHost) -> None:
        self._host = host
        self.reads = 0
        self.ended: list[InstanceRecord] = []

    async def all_ended(self, instances: list[str]) -> list[InstanceRecord]:
        for instance in instances[len(self.ended) :]:
            while True:
                self.reads += 1
                record = await self._host.management.record(instance)
                if record.status.is_terminal:
                    break
                await asyncio.sleep(self.POLL_S)
            assert record.status == OrchestrationStatus.COMPLETED, (instance, record.output)
            self.ended.append(record)
        return self.ended


def ended_at(record: InstanceRecord) -> float:
    """When the instance ended (its last update, to the microsecond; the status API
    rounds to seconds), in seconds of the epoch."""
    return record.last_updated_time.timestamp()


async def concurrent_orchestrations(host: DurableHost, count: int, watcher: Watcher | None = None) -> float:
    """`count` chains of 3 started at once, from the first start to the last completion
    (the instances' own last-update times, so watching late costs nothing)."""
    watcher = watcher or Watcher(host)
    began = time.time()
    instances = await start_all(host, "chain", 3, count)
    ended = await watcher.all_ended(instances)
    return max(ended_at(record) for record in ended) - began
