"""The owner of the host's background loops (devhost/supervision.py): storage failures
are retried and said once, anything else stops the host with one line."""

from __future__ import annotations

import asyncio
import logging

import pytest

from devhost.supervision import Loop, Supervisor


class Outage(Exception):
    """Stands for a storage SDK's error type (the store's `unavailable_errors`)."""


async def test_loops_that_fail_on_storage_go_on_and_the_failure_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loops = Supervisor((Outage,))
    runs: dict[str, int] = {"a": 0, "b": 0}
    recovered = asyncio.Event()

    def failing_until_third_run(name: str) -> Loop:
        async def loop() -> None:
            runs[name] += 1
            if runs[name] < 3:
                raise Outage("connection refused")
            if all(count >= 3 for count in runs.values()):
                recovered.set()
            await asyncio.Event().wait()  # healthy from now on

        return loop

    loops.spawn("a", failing_until_third_run("a"))
    loops.spawn("b", failing_until_third_run("b"))
    await asyncio.wait_for(recovered.wait(), 10)
    await loops.stop()
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in said] == ["Storage failed (Outage: connection refused); retrying with backoff."]
    assert not loops.ended.done()


@pytest.mark.parametrize(
    ("loop_body", "line"),
    [
        (KeyError("partition"), "background loop 'poller' failed: KeyError: 'partition'"),
        (None, "background loop 'poller' ended unexpectedly"),
    ],
)
async def test_a_loop_that_ends_otherwise_ends_the_host_with_one_line(
    loop_body: Exception | None, line: str
) -> None:
    loops = Supervisor((Outage,))

    async def loop() -> None:
        if loop_body is not None:
            raise loop_body

    loops.spawn("poller", loop)
    assert await asyncio.wait_for(loops.ended, 10) == line
    await loops.stop()


async def test_a_loop_cancelled_on_purpose_is_not_a_failure_and_its_name_can_be_reused() -> None:
    loops = Supervisor((Outage,))
    started = asyncio.Queue[str]()

    def forever(tag: str) -> Loop:
        async def loop() -> None:
            await started.put(tag)
            await asyncio.Event().wait()

        return loop

    loops.spawn("control-00", forever("first"))
    assert await started.get() == "first"
    loops.cancel("control-00")
    loops.spawn("control-00", forever("second"))
    assert await started.get() == "second"
    await loops.stop()
    assert not loops.ended.done()
