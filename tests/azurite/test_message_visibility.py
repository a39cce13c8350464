"""Queue messages a host holds stay invisible to the other hosts on the hub for as long
as it holds them, however short host.json's `workItemQueueVisibilityTimeout` (here 4 s,
set the way a user overrides host.json: an `AzureFunctionsJobHost__...` setting): an
activity that outlasts several visibilities runs once, though a second host polls the
work-item queue all along. What a test sees of the renewals is the calls a proxy counts."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devhost.azurite import AzuriteProcess
from devhost.testing import DurableHost
from tests.support.workload import RECOVERY_APP
from tests.support.storage_calls import Call, through
from tests.support.waiting import eventually

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
    log, release = tmp_path / "runs.log", tmp_path / "release"

    def runs() -> list[str]:
        return log.read_text().split() if log.exists() else []

    async with through(azurite.connection_string, "queue") as calls:
        first = DurableHost(RECOVERY_APP, storage="azurite", connection=calls.connection, hub=hub, virtual_clock=False)
        async with first:
            mark = calls.mark()
            instance = await first.start("one_held_work", {"log": str(log), "release": str(release)})

            async def started() -> bool:
                return runs() == ["started"]

            await eventually(started, "the activity's start")
            second = DurableHost(RECOVERY_APP, storage="azurite", connection=azurite.connection_string, hub=hub,
                                 virtual_clock=False)  # fmt: skip
            async with second:

                async def renewed() -> bool:
                    return len(calls.since(mark, _renewal)) >= RENEWALS

                await eventually(renewed, f"{RENEWALS} renewals of the work item", timeout=VISIBILITY_S * RENEWALS * 3)
                release.touch()
                status = await first.wait(instance)
    assert status.output == "released"
    assert runs() == ["started", "done"], "the activity ran again elsewhere while it was held"
