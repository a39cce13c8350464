"""`python -m bench [--storage memory|azurite|both] [--only workloads|dashboard] [--quick]
[--peer-python PATH]`: devhost's figures beside the peer's and the SDK's, as one table.

Workloads (bench/workloads.py): chains, fan-outs, events raised over HTTP, parallel
sleeping activities, concurrent orchestrations, a backlog, entity signals, the host's
memory after a purge and, on Azurite, the storage calls per episode; first the peer,
Microsoft's durabletask SDK on its in-memory backend (bench/peer.py, run under the
python of its own venv, `.venv-bench`, which `make bench` sets up), then the SDK's own
replay floor (bench/floor.py), then devhost on each store. The table (bench/table.py)
ends with how many of issue 13's targets are met; the exit status is 0 whatever they
are, as this is a report. Dashboard: each page on a 10,000-instance hub (1,000 with
--quick), its time and, on Azure, the storage calls it makes (bench/dashboard.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from bench import dashboard, floor, table, workloads
from bench.table import Measured
from bench.workloads import APP, Floors, Peer, Sizes
from devhost.app_modules import AppModules
from devhost.azurite import AzuriteProcess
from devhost.loader import load_app

ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
PEER_TIMEOUT_S = 300
RUNS = {"memory": 3, "azurite": 1}  # Azurite's runs last longer and vary less
FLOOR_RUNS = 3


def _best(measure: Callable[[], float]) -> float:
    """As devhost's figures are taken (workloads.figure): the best of a few runs."""
    times: list[float] = []
    while len(times) < FLOOR_RUNS and sum(times) < workloads.BUDGET_S:
        times.append(measure())
    return min(times)


def _floors(sizes: Sizes) -> Floors:
    """The SDK's replay time for each workload, its entry points called directly."""
    modules = AppModules(APP)
    try:
        index = load_app(APP, modules)
    finally:
        modules.release()
    handle = {name: info.user_function for name, info in index.orchestrators.items()}
    return Floors(
        chain={n: _best(partial(floor.chain, handle["chain"], n)) for n in sizes.chains},
        fan_out={n: _best(partial(floor.fan_out, handle["fan_out"], n)) for n in sizes.fan_outs},
        events={sizes.events: _best(partial(floor.collect_events, handle["collect_events"], sizes.events))},
    )


def _peer(python: Path, sizes: Sizes) -> tuple[Peer, str]:
    """The peer's figures from its own process (the same process tree, the same run),
    and a note on how it went."""
    peer = Peer()
    if not python.exists():
        why = "not installed"
        note = f"peer: {python} not found (`make bench` installs it from requirements-bench.txt)"
    else:
        command = [str(python), "-I", str(Path(__file__).with_name("peer.py")), "--events", str(sizes.events),
                   "--clients", str(sizes.clients), "--fan-outs", ",".join(map(str, sizes.fan_outs)),
                   "--chains", ",".join(map(str, sizes.chains)), "--runs", str(RUNS["memory"])]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PEER_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            why, note = f"timed out after {PEER_TIMEOUT_S} s", "peer: timed out"
        else:
            if done.returncode == 0:
                figures = json.loads(done.stdout)
                for kind in ("events", "fan_out", "chain"):
                    times: dict[int, Measured] = {int(n): float(s) for n, s in figures[kind].items()}
                    setattr(peer, kind, times)
                return peer, "peer: durabletask 1.12.0, InMemoryOrchestrationBackend, in its own process"
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            why, note = "failed", f"peer: exited with {done.returncode}: {last}"
    peer.events = {sizes.events: why}
    peer.fan_out = dict.fromkeys(sizes.fan_outs, why)
    peer.chain = dict.fromkeys(sizes.chains, why)
    return peer, note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--storage", choices=("memory", "azurite", "both"), default="both")
    parser.add_argument("--only", choices=("workloads", "dashboard"), help="one part of the figures")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON, help="the python of the peer's venv")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    stores = ("memory", "azurite") if options.storage == "both" else (options.storage,)
    sizes = workloads.QUICK if options.quick else workloads.FULL
    rows: list[table.Row] = []
    notes: list[str] = []
    with ExitStack() as stack:
        connection, azurite_pid = None, None
        if "azurite" in stores:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-azurite-")))
            azurite = stack.enter_context(AzuriteProcess.on_free_ports(data))
            connection, azurite_pid = azurite.connection_string, azurite.pid
        if options.only != "dashboard":
            print("the peer ...", flush=True)
            peer, note = _peer(options.peer_python, sizes)
            notes.append(note)
            print("the SDK's replay floor ...", flush=True)
            floors = _floors(sizes)
        for storage in stores:
            if options.only != "dashboard":
                print(f"devhost on {storage} ...", flush=True)
                run = workloads.measure(storage, connection, sizes, RUNS[storage], floors, peer, azurite_pid)
                measured, more = asyncio.run(run)
                rows += measured
                notes += more
            if options.only != "workloads":
                hub_size = 1_000 if options.quick else 10_000
                pages, seeded = asyncio.run(dashboard.measure(storage, connection, hub_size))
                dashboard.report(storage, hub_size, pages, seeded)
    if rows:
        print()
        print("\n".join(notes))
        print()
        print(table.render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
