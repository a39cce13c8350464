"""Queue messages a host holds stay invisible to the other hosts on the hub for as long
as it holds them, however short host.json's `workItemQueueVisibilityTimeout` (here 4 s,
set the way a user overrides host.json: an `AzureFunctionsJobHost__...` setting): an
activity that outlasts several visibilities runs once, though a second host polls the
work-item queue all along. What a test sees of the renewals is the calls a proxy counts;
the activity holds on a connection to the test, which releases it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from devhost.azurite import AzuriteProcess
from devhost.testing import DurableHost
from tests.support.storage_calls import Call, through
from tests.support.waiting import eventually
from tests.support.workload import RECOVERY_APP

_SETTING = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__workItemQueueVisibilityTimeout"
VISIBILITY_S = 4
RENEWALS = 3  # each at half the visibility: the message is held past 1.5 visibilities


def _renewal(call: Call) -> bool:
    return call.method == "PUT" and "-workitems/messages/" in call.path and "popreceipt" in call.path.lower()


async def test_an_activity_outlasting_its_visibility_runs_once_beside_a_polling_host(
    azurite: AzuriteProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_SETTING, f"00:00:{VISIBILITY_S:02d}")
    hub = f"Held{uuid.uuid4().hex[:10]}"
    log = tmp_path / "runs.log"
    runs: list[asyncio.StreamWriter] = []
    started = asyncio.Event()

    async def held(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        runs.append(writer)
        started.set()

    listener = await asyncio.start_server(held, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with through(azurite.connection_string, "queue") as calls:
            first = DurableHost(RECOVERY_APP, storage="azurite", connection=calls.connection, hub=hub,
                                virtual_clock=False)  # fmt: skip
            async with first:
                mark = calls.mark()
                instance = await first.start("one_held_work", {"log": str(log), "port": port})
                await asyncio.wait_for(started.wait(), 30)
                second = DurableHost(RECOVERY_APP, storage="azurite", connection=azurite.connection_string, hub=hub,
                                     virtual_clock=False)  # fmt: skip
                async with second:

                    async def renewed() -> bool:
                        return len(calls.since(mark, _renewal)) >= RENEWALS

                    await eventually(
                        renewed, f"{RENEWALS} renewals of the work item", timeout=VISIBILITY_S * RENEWALS * 3
                    )
                    for writer in runs:  # releases the activity
                        writer.close()
                    status = await first.wait(instance)
    finally:
        for writer in runs:  # a failed test must not leave the activity's thread holding
            writer.close()
        listener.close()
        await listener.wait_closed()
    assert status.output == "released"
    assert len(runs) == 1, "the activity ran again elsewhere while it was held"
    assert log.read_text().split() == ["started", "done"]
