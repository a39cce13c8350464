"""The README's example of `devhost.testing`, run as written: the `durable_host` fixture
serves the app in the `durable_app_dir` ini option (the rootdir: this project's app)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devhost.errors import HostStopped
from devhost.stores.base import Message
from devhost.stores.memory import MemoryStore
from devhost.testing import Advanced, DurableHost, Fired
from tests.support.apps import PROTOCOL_APP


async def test_approval_escalates_after_72_hours(durable_host: DurableHost) -> None:
    iid = await durable_host.start("approval_workflow", {"request_id": "r-1"})
    await durable_host.advance(timedelta(hours=72))  # fires due timers, returns when settled
    await durable_host.raise_event(iid, "ApprovalEvent", {"approved": True, "approver": "lead"})
    status = await durable_host.wait(iid)
    assert status.output == {"decision": "approved", "by": "lead", "escalated": True}


async def test_advance_says_what_fired_and_where_the_clock_got_to(durable_host: DurableHost) -> None:
    start = durable_host.now
    iid = await durable_host.start("approval_workflow", {"request_id": "r-3"})
    advanced = await durable_host.advance(timedelta(hours=80))
    # The request's 72-hour timeout, then the director's 24 hours, not yet up. (The app's
    # nightly schedule fires too where its storage, Azurite's default ports, is up.)
    timers = tuple(fired for fired in advanced.fired if fired.kind == "timer")
    assert Advanced(advanced.now, timers) == Advanced(
        start + timedelta(hours=80), (Fired("timer", start + timedelta(hours=72), iid),)
    )


async def test_waiting_too_long_says_what_the_instance_waits_for(durable_host: DurableHost) -> None:
    iid = await durable_host.start("approval_workflow", {"request_id": "r-2"})
    try:
        await durable_host.wait(iid, timeout=0.2)
    except AssertionError as error:
        assert "waits for timers due at" in str(error) and "advance the clock" in str(error)
    else:
        raise AssertionError("wait() returned for an instance that is still waiting")


async def test_a_defect_in_a_background_loop_stops_the_host_and_the_test_hears_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The defect is put there on purpose (activity workers that raise): a host half
    alive would otherwise leave the test waiting for work that never runs."""

    async def broken(self: MemoryStore, *, workers: int, most: int) -> list[Message]:
        raise RuntimeError("a devhost defect")

    monkeypatch.setattr(MemoryStore, "next_activities", broken)
    host = DurableHost(PROTOCOL_APP)
    with pytest.raises(HostStopped, match=r"background loop 'activities-\d+' failed: RuntimeError: a devhost defect"):
        async with host:
            await host.start("sequence", 1)
            with pytest.raises(HostStopped, match="a devhost defect"):
                await host.settle()
