"""Activities of one fan-out run at once, up to `maxConcurrentActivityFunctions`, on both
stores: on Azure Storage a fan-out's activities travel packed in a few queue messages,
and a pack must not make them take turns. Each activity waits until all of them are
running (a barrier), so if any two took turns the fan-out would fail, not slow down."""

from __future__ import annotations

import pytest

from devhost.testing import DurableHost

# The protocol app's host.json leaves the limit at its default, 10 (devhost/config.py).
PARTIES = 8


@pytest.mark.parametrize("kind", ["meet_async", "meet_sync"])
async def test_a_fan_out_runs_its_activities_together(host: DurableHost, kind: str) -> None:
    status = await host.wait(await host.start("meeting", [kind, PARTIES]), timeout=60)
    assert (status.runtime_status, status.output) == ("Completed", PARTIES)
