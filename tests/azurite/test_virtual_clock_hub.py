"""A virtual clock on a task hub the user names (`--hub`) outlives the host: a restart goes
on from the hub's virtual time, and a timer an earlier run created fires once the clock
passes it, exactly at its fire time; the console says why times run ahead."""

from __future__ import annotations

import signal
import uuid
from datetime import datetime, timedelta

from devhost.azurite import AzuriteProcess, free_port
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.processes import DevhostProcess, call


def _host(azurite: AzuriteProcess, hub: str) -> DurableHost:
    return DurableHost(
        PROTOCOL_APP, storage="azurite", connection=azurite.connection_string, hub=hub, virtual_clock=True
    )


async def test_a_restart_goes_on_from_the_hubs_virtual_time_and_fires_earlier_timers(
    azurite: AzuriteProcess,
) -> None:
    hub = f"Named{uuid.uuid4().hex[:10]}"
    async with _host(azurite, hub) as first:
        await first.advance(timedelta(days=2))
        started_at = first.now
        instance_id = await first.start("sleeper", 72)  # a 72-hour timer from started_at
        await first.settle()
    async with _host(azurite, hub) as second:
        assert second.now == started_at
        await second.advance(timedelta(hours=71))
        assert (await second.status(instance_id)).runtime_status == "Running"
        await second.advance(timedelta(hours=1))
        finished = await second.wait(instance_id)
    assert datetime.fromisoformat(finished.output) == started_at + timedelta(hours=72)


def test_the_console_says_when_the_virtual_clock_runs_ahead_of_the_real_one(azurite: AzuriteProcess) -> None:
    hub = f"Named{uuid.uuid4().hex[:10]}"
    port = free_port()
    args = (
        "--app-dir", str(PROTOCOL_APP), "--port", str(port), "--storage", "azurite",
        "--connection", azurite.connection_string, "--hub", hub, "--virtual-clock",
    )  # fmt: skip
    with DevhostProcess(*args).started() as first:
        assert not [line for line in first.lines if "ahead of the real one" in line]
        status, _ = call("POST", f"http://127.0.0.1:{port}/devhost/clock/advance", {"seconds": 3 * 86400 + 7200})
        assert status == 200
        first.process.send_signal(signal.SIGINT)
        assert first.finished()[0] == 0
    with DevhostProcess(*args).started() as second:
        said = [line for line in second.lines if "ahead of the real one" in line]
        assert len(said) == 1 and "runs 3d 2h ahead" in said[0] and hub in said[0], said
