"""What the benchmark asks of a running host; each returns its wall time in seconds."""

from __future__ import annotations

import asyncio
import time

from devhost.testing import DurableHost


async def run_orchestration(host: DurableHost, name: str, count: int) -> float:
    began = time.perf_counter()
    instance = await host.start(name, count)
    status = await host.wait(instance, timeout=600)
    assert status.runtime_status == "Completed", status.output
    return time.perf_counter() - began


async def external_events(host: DurableHost, count: int) -> float:
    """`count` events raised together (concurrently, as many clients would) to one
    waiting orchestration."""
    instance = await host.start("collect_events", count)
    await host.settle()
    began = time.perf_counter()
    await asyncio.gather(*(host.raise_event(instance, "tick", n) for n in range(count)))
    status = await host.wait(instance, timeout=600)
    assert status.output == count, status.output
    return time.perf_counter() - began


async def entity_signals(host: DurableHost, count: int) -> float:
    """`count` signals to a fresh entity, until every one is applied."""
    key = f"bench-{time.perf_counter_ns()}"
    began = time.perf_counter()
    for _ in range(count):
        await host.signal_entity("Tally", key, "add", 1)
    await host.settle()
    elapsed = time.perf_counter() - began
    assert await host.read_entity("Tally", key) == count
    return elapsed


async def concurrent_orchestrations(host: DurableHost, count: int) -> float:
    """`count` small chains started at once, until all completed."""
    began = time.perf_counter()
    instances = [await host.start("chain", 3) for _ in range(count)]
    await asyncio.gather(*(host.wait(instance, timeout=600) for instance in instances))
    return time.perf_counter() - began
