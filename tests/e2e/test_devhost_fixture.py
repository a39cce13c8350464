"""The README's example of `devhost.testing`, run as written: the `durable_host` fixture
serves the app in the `durable_app_dir` ini option (the rootdir: this project's app)."""

from __future__ import annotations

from datetime import timedelta

from devhost.testing import DurableHost


async def test_approval_escalates_after_72_hours(durable_host: DurableHost) -> None:
    iid = await durable_host.start("approval_workflow", {"request_id": "r-1"})
    await durable_host.advance(timedelta(hours=72))  # fires due timers, returns when settled
    await durable_host.raise_event(iid, "ApprovalEvent", {"approved": True, "approver": "lead"})
    status = await durable_host.wait(iid)
    assert status.output == {"decision": "approved", "by": "lead", "escalated": True}


async def test_waiting_too_long_says_what_the_instance_waits_for(durable_host: DurableHost) -> None:
    iid = await durable_host.start("approval_workflow", {"request_id": "r-2"})
    try:
        await durable_host.wait(iid, timeout=0.2)
    except AssertionError as error:
        assert "waits for timers due at" in str(error) and "advance the clock" in str(error)
    else:
        raise AssertionError("wait() returned for an instance that is still waiting")
