"""`python -m bench [--storage memory|azurite|both] [--only workloads|dashboard] [--quick]`:
the host's figures.

Workloads: for each scenario, the host's wall time, the rate, the multiple of the Azure
Storage provider's published per-instance target, the SDK's own replay floor measured in
the same run, and efficiency = floor / host time (performance.md). Dashboard: each page
on a 10,000-instance hub (1,000 with --quick), its time and, on Azure, the storage calls
it makes and the rows they read (bench/dashboard.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Optional

from bench import dashboard, floor, scenarios
from devhost.azurite import AzuriteProcess
from devhost.loader import load_app
from devhost.testing import DurableHost

APP = Path(__file__).resolve().parent / "app"

# Published per-instance targets of the Azure Storage provider (performance.md).
TARGETS = {"sequential": 5.0, "fan-out": 100.0, "events": 50.0, "entity": 64.0}


@dataclass
class Row:
    scenario: str
    count: int
    seconds: float
    target: Optional[float] = None
    floor_seconds: Optional[float] = None

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def line(self) -> str:
        multiple = f"{self.rate / self.target:8.1f}x" if self.target else " " * 9
        if self.floor_seconds is None:
            floor_part = ""
        else:
            floor_part = f"{self.floor_seconds:9.3f}s {self.floor_seconds / self.seconds:10.2f}"
        return f"{self.scenario:<28}{self.seconds:9.3f}s {self.rate:10.0f}/s {multiple} {floor_part}"


HEADER = f"{'scenario':<28}{'host':>10} {'rate':>12} {'target':>9} {'SDK floor':>10} {'efficiency':>10}"


def _handles() -> dict[str, Callable[[str], str]]:
    index = load_app(APP)
    return {name: info.user_function for name, info in index.orchestrators.items()}


# Each figure is the best of a few runs: single runs on a shared 2-core machine vary by
# tens of percent (garbage collection, the other core's load). Azurite runs last seconds
# each and vary less, so one is enough there.
RUNS = {"memory": 3, "azurite": 1}
FLOOR_RUNS = 3


async def _best(runs: int, measure: Callable[[], Awaitable[float]]) -> float:
    return min([await measure() for _ in range(runs)])


def _best_floor(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(FLOOR_RUNS))


async def _measure(storage: str, connection: Optional[str], quick: bool) -> list[Row]:
    handles = _handles()
    chains = (50, 100) if quick else (50, 100, 200)
    fan_outs = (1000,) if quick else (1000, 2000, 4000)
    rows: list[Row] = []
    runs = RUNS[storage]
    async with DurableHost(APP, storage=storage, connection=connection, virtual_clock=False) as host:
        await scenarios.run_orchestration(host, "chain", 5)  # warm-up: imports, first episodes
        for count in chains:
            rows.append(Row(
                f"sequential chain {count}", count,
                await _best(runs, lambda: scenarios.run_orchestration(host, "chain", count)),
                TARGETS["sequential"], _best_floor(lambda: floor.chain(handles["chain"], count)),
            ))  # fmt: skip
        for count in fan_outs:
            rows.append(Row(
                f"fan-out/fan-in {count}", count,
                await _best(runs, lambda: scenarios.run_orchestration(host, "fan_out", count)),
                TARGETS["fan-out"], _best_floor(lambda: floor.fan_out(handles["fan_out"], count)),
            ))  # fmt: skip
        events = 100 if quick else 500
        rows.append(Row(
            f"external events {events}", events,
            await _best(runs, lambda: scenarios.external_events(host, events)), TARGETS["events"],
            _best_floor(lambda: floor.collect_events(handles["collect_events"], events)),
        ))  # fmt: skip
        signals = 400 if quick else 2000
        rows.append(Row(
            f"entity signals {signals}", signals,
            await _best(runs, lambda: scenarios.entity_signals(host, signals)), TARGETS["entity"],
        ))  # fmt: skip
        rows.append(Row(
            "100 orchestrations at once", 100,
            await _best(runs, lambda: scenarios.concurrent_orchestrations(host, 100)),
        ))  # fmt: skip
    return rows


def _report(storage: str, rows: list[Row]) -> None:
    print(f"\n== storage: {storage} ==")
    print(HEADER)
    for row in rows:
        print(row.line())
    fan = {row.count: row for row in rows if row.scenario.startswith("fan-out")}
    if 1000 in fan and 4000 in fan:
        host_ratio = fan[4000].seconds / fan[1000].seconds
        sdk_ratio = (fan[4000].floor_seconds or 0) / (fan[1000].floor_seconds or 1)
        print(f"scaling t(4000)/t(1000): host {host_ratio:.2f}, SDK floor {sdk_ratio:.2f}, "
              f"host/SDK {host_ratio / sdk_ratio:.2f}")  # fmt: skip
    if 1000 in fan:
        one = fan[1000]
        print(f"host overhead, fan-out 1000: {one.seconds / (one.floor_seconds or 1):.2f}x "
              "the SDK replay time")  # fmt: skip


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--storage", choices=("memory", "azurite", "both"), default="both")
    parser.add_argument("--only", choices=("workloads", "dashboard"), help="one part of the figures")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    stores = ("memory", "azurite") if options.storage == "both" else (options.storage,)
    results: dict[str, list[Row]] = {}
    hub_size = 1_000 if options.quick else 10_000
    with ExitStack() as stack:
        connection = None
        if "azurite" in stores:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-azurite-")))
            connection = stack.enter_context(AzuriteProcess.on_free_ports(data)).connection_string
        for storage in stores:
            if options.only != "dashboard":
                results[storage] = asyncio.run(_measure(storage, connection, options.quick))
                _report(storage, results[storage])
            if options.only != "workloads":
                pages, seeded = asyncio.run(dashboard.measure(storage, connection, hub_size))
                dashboard.report(storage, hub_size, pages, seeded)
    if len(results) == 2:
        print("\n== Azurite time / memory time ==")
        for memory_row, azure_row in zip(results["memory"], results["azurite"]):
            print(f"{memory_row.scenario:<28}{azure_row.seconds / memory_row.seconds:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
