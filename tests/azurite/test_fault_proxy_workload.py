"""A real devhost process under a mixed workload while its storage fails the ways a
network and a storage service fail: every storage connection goes through a TCP proxy
(one per Azurite service) that cuts connections mid-request, then refuses connections
for longer than the Azure SDK retries, then hangs. Whatever happens in between, a user
must get back exactly what a healthy run gives: every instance Completed with its
output, each add applied to the Counter once, and a host that is still running and
answered its HTTP API throughout (503 while storage is out, never a hang).

Faults land at moments defined by the workload's progress (after so many more instances
completed); the outages last fixed times, which is what they are."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from devhost.azurite import AzuriteProcess, connection_string, free_port
from tests.support.faults import StallingProxy, stalling_proxies
from tests.support.probe import ApiProbe
from tests.support.workload import Consoles, Workload, outlives, report, start_host, workload_seed

RESET_BURSTS = 10
# Longer than the SDK's retries (3, backoff 0.2 s) and than a partition lease (15 s),
# and than a received message's visibility (10 s): leases lapse, messages reappear.
BLACKOUT_S = 30.0
STALL_S = 15.0  # past the HTTP API's 10 s storage-call bound
PROGRESS_TIMEOUT_S = 90.0


async def _reset_bursts(proxies: list[StallingProxy], consoles: Consoles) -> tuple[int, int]:
    """Cuts every storage connection at once, each time two more instances completed
    (so the host is shown to progress between cuts); returns the connections cut and
    how many of them had a request in flight."""
    cut = in_flight = 0
    for _ in range(RESET_BURSTS):
        target = len(consoles.scan()) + 2
        assert await consoles.wait_ended(target, PROGRESS_TIMEOUT_S), "no progress after a reset"
        for proxy in proxies:
            connections, asking = proxy.reset()
            cut, in_flight = cut + connections, in_flight + asking
    return cut, in_flight


async def test_mixed_workload_is_exact_through_resets_a_blackout_and_a_hung_storage(
    azurite: AzuriteProcess, tmp_path: Path, record_property: Any
) -> None:
    seed, port = workload_seed(), free_port()
    consoles = Consoles()
    began = time.monotonic()
    figures: dict[str, Any] = {"seed": seed}
    give_up = aiohttp.ClientTimeout(total=60)
    async with stalling_proxies(*azurite.ports) as proxies, aiohttp.ClientSession(timeout=give_up) as http:
        proxied = connection_string("127.0.0.1", (proxies[0].port, proxies[1].port, proxies[2].port))
        host = consoles.watch(await start_host(proxied, f"Faults{uuid.uuid4().hex[:10]}", port))
        work = Workload(http, f"http://127.0.0.1:{port}", tmp_path / "runs.log", seed)
        watched = await work.start_wave(chains=1, fan_outs=0, signals=0)
        probe = ApiProbe(http, work.base_url, watched[0])
        try:
            async with probe:
                # Resets while the first wave is being sent and run: starts and signals
                # are cut too, and retried by the SDK.
                sending = asyncio.create_task(work.start_wave(chains=30, fan_outs=10, signals=30))
                cut, in_flight = await _reset_bursts(proxies, consoles)
                figures["resets"] = f"{RESET_BURSTS} bursts, {cut} connections cut, {in_flight} mid-request"
                await sending

                await work.start_wave(chains=20, fan_outs=8, signals=20)
                assert set(work.planned) - consoles.scan(), "the blackout should find work left"
                for proxy in proxies:
                    proxy.refuse()
                await outlives(host, BLACKOUT_S)
                for proxy in proxies:
                    await proxy.listen()
                restored, done = time.monotonic(), len(consoles.scan())
                assert await consoles.wait_ended(done + 1, PROGRESS_TIMEOUT_S), "nothing ended after the blackout"
                figures["recovery_after_blackout_s"] = round(time.monotonic() - restored, 2)

                wave = set(await work.start_wave(chains=20, fan_outs=8, signals=20))
                assert await consoles.wait_ended(3, PROGRESS_TIMEOUT_S, among=wave)
                for proxy in proxies:
                    proxy.stall()
                await outlives(host, STALL_S)
                for proxy in proxies:
                    proxy.flow()
                await work.finish(consoles)
            await work.verify(consoles)
            assert host.process.poll() is None, "the host should still run"
            probe.check()
        finally:
            host.stop()
            figures |= {
                "faults": f"resets, {BLACKOUT_S:g} s refused, {STALL_S:g} s stalled",
                **asdict(work.figures()),
                "max_api_response_s": round(probe.max_seconds, 2),
                "api_probe": probe.summary(),
                "consoles": consoles.save(tmp_path / "consoles.log"),
                "duration_s": round(time.monotonic() - began, 1),
            }
            report(record_property, figures)
