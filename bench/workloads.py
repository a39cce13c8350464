"""devhost's side of the table: every workload on one store, each in its own time limit,
as rows (bench/table.py) and the notes that go under the table.

The workloads share a host per store; one that times out or fails leaves work behind,
so the next workload gets a fresh host (on Azurite a fresh hub). The backlog runs on a
host of its own, the storage-call count on one whose connection goes through counting
proxies (tests/support/storage_calls.py, as the dashboard benchmark counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench import azurite_costs, backlog, scenarios, targets
from bench.table import Measured, Row, scaling, timed
from bench.usage import CpuClock, Usage
from devhost.protocol import EventType
from devhost.testing import DurableHost
from tests.support.storage_calls import through

APP = Path(__file__).resolve().parent / "app"
# A figure is the best of a few runs (single runs on a shared 2-core machine vary by
# tens of percent), as long as the runs so far took less than BUDGET_S: long runs vary
# less, and three of a 10-second chain would triple the benchmark's time for little.
BUDGET_S = 5.0
_QUIT_S = 60.0  # to stop a host that was left busy
_CELL = 56  # characters of an error in the table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sizes:
    chains: tuple[int, int, int]  # the middle one has the target
    fan_outs: tuple[int, int, int]  # the middle one has the target, the ends the scaling
    events: int
    concurrent: int
    backlog: int
    signals: int
    clients: int = 8
    sleepers: int = 16
    nap_s: float = 0.5


FULL = Sizes((50, 100, 200), (1000, 2000, 4000), events=500, concurrent=100, backlog=3000, signals=2000)
QUICK = Sizes((10, 20, 40), (250, 500, 1000), events=100, concurrent=30, backlog=300, signals=400)

# Each workload's time limit, in seconds (all runs of it together): several times what
# meeting its target takes, so a host that is slow today reports rather than hangs.
TIMEOUTS = {"chain": 180, "fan-out": 120, "events": 120, "sleeps": 30, "concurrent": 120, "signals": 120,
            "backlog": 480, "purge": 180}  # fmt: skip


@dataclass
class Peer:
    """The peer's seconds by workload and size, or why it has none."""

    events: dict[int, Measured] = field(default_factory=dict)
    fan_out: dict[int, Measured] = field(default_factory=dict)
    chain: dict[int, Measured] = field(default_factory=dict)


@dataclass
class Floors:
    chain: dict[int, float]
    fan_out: dict[int, float]
    events: dict[int, float]


class Hosts:
    """The store's host for the workloads, replaced by a fresh one after a workload that
    timed out or failed."""

    def __init__(self, storage: str, connection: str | None, azurite_pid: int | None = None) -> None:
        self.storage = storage
        self.connection = connection
        self.azurite_pid = azurite_pid  # Azurite's process, whose CPU the Azurite rows show
        self._host: DurableHost | None = None

    def new(self, connection: str | None = None) -> DurableHost:
        hub = f"Bench{uuid.uuid4().hex[:10]}" if self.storage == "azurite" else None
        return DurableHost(APP, storage=self.storage, connection=connection or self.connection, hub=hub,
                           virtual_clock=False)  # fmt: skip

    async def get(self) -> DurableHost:
        if self._host is None:
            host = self.new()
            await host.__aenter__()
            self._host = host
            await scenarios.run_orchestration(host, "chain", 5)  # warm-up: imports, first episodes
        return self._host

    async def discard(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            # A host left busy may stop untidily; the next one is fresh whatever happens.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(host.__aexit__(None, None, None), _QUIT_S)


async def figure(
    hosts: Hosts, runs: int, timeout: float, measure: Callable[[DurableHost], Awaitable[float]]
) -> Measured:
    """The best of up to `runs` runs within BUDGET_S, all within `timeout`; the reason
    where no run succeeded."""
    times: list[float] = []
    deadline = time.monotonic() + timeout
    while len(times) < runs and sum(times) < BUDGET_S:
        try:
            host = await hosts.get()
            times.append(await asyncio.wait_for(measure(host), max(0.0, deadline - time.monotonic())))
        except TimeoutError:
            await hosts.discard()
            return min(times) if times else f"timed out after {timeout:g} s"
        except Exception as error:  # the table reports it; the other workloads go on
            await hosts.discard()
            return min(times) if times else _failed(error)
    return min(times)


class _Store:
    """The workloads on one store, each figure turned into its row."""

    def __init__(self, hosts: Hosts, runs: int, sizes: Sizes, floors: Floors, peer: Peer) -> None:
        self.hosts = hosts
        self.storage = hosts.storage
        self.runs = runs
        self.sizes = sizes
        self.floors = floors
        # The peer runs in memory: its figures stand beside the memory store's.
        self.peer = peer if self.storage == "memory" else Peer()
        self.rows: list[Row] = []

    async def figure(self, workload: str, measure: Callable[[DurableHost], Awaitable[float]]) -> Measured:
        return await figure(self.hosts, self.runs, TIMEOUTS[workload], measure)

    async def orchestration(self, workload: str, name: str, job: Any) -> Measured:
        """The figure of one orchestration of the app from start to completion."""
        return await self.figure(workload, partial(scenarios.run_orchestration, name=name, job=job))

    def row(self, workload: str, count: int, seconds: Measured, **cells: Any) -> None:
        self.rows.append(timed(workload, self.storage, count, seconds, **cells))

    async def chains(self) -> None:
        for n in self.sizes.chains:
            seconds = await self.orchestration("chain", "chain", n)
            target = targets.CHAIN.get(self.storage) if n == self.sizes.chains[1] else None
            self.row(f"chain {n}", n, seconds, peer=self.peer.chain.get(n), floor=self.floors.chain[n], target=target)

    async def fan_outs(self) -> None:
        times: dict[int, Measured] = {}
        for n in self.sizes.fan_outs:
            times[n] = await self.orchestration("fan-out", "fan_out", n)
            target = targets.FAN_OUT.get(self.storage) if n == self.sizes.fan_outs[1] else None
            peer = self.peer.fan_out.get(n)
            self.row(f"fan-out/fan-in {n}", n, times[n], peer=peer, floor=self.floors.fan_out[n], target=target)
        small, _, large = self.sizes.fan_outs
        within = targets.SCALING.get(self.storage)
        self.rows.append(scaling(self.storage, (small, large), times, self.floors.fan_out, self.peer.fan_out, within))

    async def events(self) -> None:
        n, clients = self.sizes.events, self.sizes.clients
        seconds = await self.figure("events", lambda host: scenarios.external_events(host, n, clients))
        peer, floor = self.peer.events.get(n), self.floors.events[n]
        target = targets.EVENTS.get(self.storage)
        self.row(f"events {n} over HTTP, {clients} clients", n, seconds, peer=peer, floor=floor, target=target)

    async def sleeps(self) -> None:
        n, nap = self.sizes.sleepers, self.sizes.nap_s
        target = targets.SLEEPS.get(self.storage)
        for activity, kind in (("nap", "async"), ("doze", "sync")):
            job = scenarios.sleeps(activity, n, nap)
            seconds = await self.orchestration("sleeps", "sleeps", job)
            self.row(f"{n} {kind} sleeps of {nap:g} s", n, seconds, target=target, rate=False)

    async def throughput(self) -> None:
        n, signals, clients = self.sizes.concurrent, self.sizes.signals, self.sizes.clients
        spent: list[Usage] = []

        async def concurrent(host: DurableHost) -> float:
            clock = CpuClock(self.hosts.azurite_pid)
            seconds = await scenarios.concurrent_orchestrations(host, n)
            spent.append(clock.read())
            return seconds

        seconds = await self.figure("concurrent", concurrent)
        self.row(f"{n} concurrent chains of 3", n, seconds, target=targets.CONCURRENT.get(self.storage))
        if self.storage == "azurite" and spent:
            self.rows.append(Row(f"CPU/orchestration, {n} chains", self.storage, spent[-1].per_orchestration(n)))
        seconds = await self.figure("signals", lambda host: scenarios.entity_signals(host, signals, clients))
        target = targets.SIGNALS.get(self.storage)
        self.row(f"{signals} entity signals, {clients} senders", signals, seconds, target=target)


async def measure(
    storage: str, connection: str | None, sizes: Sizes, runs: int, floors: Floors, peer: Peer,
    azurite_pid: int | None = None,
) -> tuple[list[Row], list[str]]:
    """The rows of one store and the notes under the table."""
    store = _Store(Hosts(storage, connection, azurite_pid), runs, sizes, floors, peer)
    notes: list[str] = []
    if azurite_pid is not None and connection is not None:  # while no messages wait in the account
        notes.append(await azurite_costs.measure(connection, azurite_pid, sizes.backlog))
    try:
        for workloads in (store.chains, store.fan_outs, store.events, store.sleeps, store.throughput):
            await workloads()
    finally:
        await store.hosts.discard()
    if storage == "azurite":  # before the backlog, which may leave thousands of messages waiting
        store.rows.append(await _storage_calls(store.hosts, sizes.concurrent, notes))
    store.rows += await _backlog(store.hosts, sizes.backlog, notes)
    return store.rows, notes


def _failed(error: Exception) -> str:
    """The table's cell for a workload that failed (short: the whole error is logged)."""
    logger.warning("a workload failed: %s: %s", type(error).__name__, error)
    return f"failed: {type(error).__name__}: {error}"[:_CELL]


async def _backlog(hosts: Hosts, count: int, notes: list[str]) -> list[Row]:
    """The backlog's row and the memory row that follows from it, on a host of their own."""
    storage = hosts.storage
    workload, memory = f"backlog {count} chains of 3", f"memory after {count} + purge"
    target = targets.BACKLOG.get(storage)
    try:
        async with hosts.new() as host:
            result = await backlog.run(host, count, TIMEOUTS["backlog"], TIMEOUTS["purge"], hosts.azurite_pid)
    except Exception as error:  # the table reports it
        why = _failed(error)
        return [
            Row(workload, storage, why, target=target or "", met=None if target is None else False),
            Row(memory, storage, why, target=targets.MEMORY[storage], met=False),
        ]
    notes.append(f"backlog {count}, {storage}: completions/s in each tenth of the run: "
                 + " ".join(f"{rate:.0f}" for rate in result.tenths))  # fmt: skip
    if result.usage is not None:
        notes.append(f"backlog {count}, {storage}: busy over the run: {result.usage.busy()}; per completed "
                     f"orchestration: {result.usage.per_orchestration(max(1, result.completed))}")  # fmt: skip
    slowest = min(result.tenths)
    if result.seconds is None:
        shown, met = f"timed out after {result.timeout:g} s: {result.completed} of {count} done", False
    else:
        rate = count / result.seconds
        shown = f"{result.seconds:.1f} s {rate:.0f}/s, slowest tenth {slowest:.0f}/s"
        met = rate >= targets.ORCHESTRATIONS_PER_S
    return [
        Row(workload, storage, shown, target=target or "", met=None if target is None else met),
        _memory_row(memory, storage, result, notes),
    ]


def _memory_row(workload: str, storage: str, result: backlog.Backlog, notes: list[str]) -> Row:
    target = targets.MEMORY[storage]
    figures = " -> ".join("?" if mb is None else f"{mb:.0f}" for mb in result.rss_mb)
    notes.append(f"resident memory, {storage}: {figures} MB (before, after the backlog completed, after the purge)")
    if result.seconds is None:
        return Row(workload, storage, "backlog did not complete", target=target, met=False)
    if result.purge_failure:
        return Row(workload, storage, result.purge_failure, target=target, met=False)
    before, _, purged = result.rss_mb
    if before is None or purged is None:
        return Row(workload, storage, "no /proc/self/status here", target=target, met=False)
    grown = purged - before
    met = grown <= targets.MEMORY_BACK_WITHIN_MB
    return Row(workload, storage, f"{grown:+.1f} MB ({figures})", target=target, met=met)


async def _storage_calls(hosts: Hosts, count: int, notes: list[str]) -> Row:
    """What the concurrent chains ask of Azurite, per episode: every table, queue and
    blob call through the proxies (the partition leases' renewals aside, which go on
    whatever the host does; the benchmark's own status reads taken off), over the
    episodes the instances' histories record (one OrchestratorStarted each)."""
    workload = f"storage calls/episode, {count} chains"
    assert hosts.connection is not None
    try:
        async with through(hosts.connection, "table", "queue", "blob") as calls, hosts.new(calls.connection) as host:
            await scenarios.run_orchestration(host, "chain", 5)  # warm-up
            watcher = scenarios.Watcher(host)
            mark = calls.mark()
            run = scenarios.concurrent_orchestrations(host, count, watcher)
            elapsed = await asyncio.wait_for(run, TIMEOUTS["concurrent"])
            made = calls.since(mark, lambda call: "-leases" not in call.path)
            episodes = 0
            for record in watcher.ended:
                history = await host.management.history(record.instance_id)
                episodes += sum(1 for event in history if event["EventType"] == EventType.ORCHESTRATOR_STARTED)
    except Exception as error:  # the table reports it
        return Row(workload, "azurite", _failed(error))
    by_endpoint = {kind: sum(1 for call in made if call.endpoint == kind) for kind in ("table", "queue", "blob")}
    by_endpoint["table"] -= watcher.reads
    total = sum(by_endpoint.values())
    parts = ", ".join(f"{kind} {n / episodes:.1f}" for kind, n in by_endpoint.items())
    notes.append(
        f"storage calls, azurite, {count} chains of 3 through counting proxies ({elapsed:.1f} s): {total} calls "
        f"over {episodes} episodes: {parts} per episode; {total / count:.1f} per orchestration"
    )
    return Row(workload, "azurite", f"{total / episodes:.1f} ({total / count:.0f}/orchestration)")
