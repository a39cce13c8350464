"""A real devhost process killed with SIGKILL about every 20 s, five times, under a
mixed workload that keeps it busy, and started again each time on the same hub (same
port, so the same host identity: it takes its partitions back at once). Then it is let
finish. What a user must get is what a run without kills gives: every instance
Completed with its exact output, nothing stuck, each add applied to the Counter once;
activities may run more than once (at-least-once), which is counted and printed.

The kill comes at a fixed cadence, but only once the host has shown progress since it
started (an instance ended): a host that came back and does nothing fails the test
instead of being killed again. Clients only talk to a live host: the feeder sends a
wave, then waits for progress; the kill falls between waves, so every start and signal
the workload sent has its answer."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from devhost.azurite import AzuriteProcess, free_port
from tests.support.probe import ApiProbe
from tests.support.workload import Consoles, Workload, report, start_host, workload_seed

KILLS = 5
CYCLE_S = 20.0
BACKLOG = 24  # instances started and not yet ended that keep the host busy
PROGRESS_TIMEOUT_S = 90.0


async def _busy_for(work: Workload, consoles: Consoles, seconds: float) -> None:
    """Keeps the host busy for `seconds`: a new wave whenever the backlog runs low, else
    a wait for the next instance to end; work is left running at the end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        ended = consoles.scan()
        if len(set(work.planned) - ended) < BACKLOG:
            await work.start_wave(chains=4, fan_outs=4, signals=4)
        else:
            await consoles.wait_ended(len(ended) + 1, deadline - loop.time())
    if not set(work.planned) - consoles.scan():  # the kill must find work to interrupt
        await work.start_wave(chains=4, fan_outs=4, signals=4)


async def _time_to_next_end(consoles: Consoles) -> float:
    """Seconds until one more instance ends: from a restart, the host's recovery."""
    began, ended = time.monotonic(), len(consoles.scan())
    assert await consoles.wait_ended(ended + 1, PROGRESS_TIMEOUT_S), "the host ended nothing after it started"
    return time.monotonic() - began


async def test_mixed_workload_is_exact_through_five_sigkills(
    azurite: AzuriteProcess, tmp_path: Path, record_property: Any
) -> None:
    seed, port, hub = workload_seed(), free_port(), f"Chaos{uuid.uuid4().hex[:10]}"
    consoles = Consoles()
    began = time.monotonic()
    recoveries: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        host = consoles.watch(await start_host(azurite.connection_string, hub, port))
        work = Workload(http, f"http://127.0.0.1:{port}", tmp_path / "runs.log", seed)
        watched = await work.start_wave(chains=1, fan_outs=0, signals=0)
        probe = ApiProbe(http, work.base_url, watched[0])
        kills = 0
        try:
            async with probe:
                while kills < KILLS:
                    progress = asyncio.create_task(_time_to_next_end(consoles))
                    await _busy_for(work, consoles, CYCLE_S)
                    recovery = await progress  # killed only once it has shown progress
                    if kills:
                        recoveries.append(round(recovery, 2))
                    host.process.send_signal(signal.SIGKILL)
                    code, _ = await asyncio.to_thread(host.finished)  # and its console read
                    assert code == -signal.SIGKILL
                    kills += 1
                    host = consoles.watch(await start_host(azurite.connection_string, hub, port))
                progress = asyncio.create_task(_time_to_next_end(consoles))
                await work.finish(consoles)
                recoveries.append(round(await progress, 2))
                await work.verify(consoles)
            probe.check(host_killed=True)
        finally:
            host.stop()
            report(
                record_property,
                {
                    "seed": seed,
                    "faults": f"{kills} SIGKILLs, one per {CYCLE_S:g} s of a live host",
                    **asdict(work.figures()),
                    "recovery_after_restart_s": recoveries,
                    "max_api_response_s": round(probe.max_seconds, 2),
                    "api_probe": probe.summary(),
                    "consoles": consoles.save(tmp_path / "consoles.log"),
                    "duration_s": round(time.monotonic() - began, 1),
                },
            )
