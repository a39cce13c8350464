"""Storage did the write, the host never heard: a real TCP proxy lets one request reach
Azurite and cuts the connection before its answer comes back, the worst moment of a
connection reset. These are the cases the chaos runs found, made exact: whatever the
host was told, the user's work must run, once."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.azurite import connection_string
from devhost.http.urls import WEBHOOK_PATH as API
from devhost.testing import DurableHost
from tests.support.faults import stalling_proxies
from tests.support.http import call
from tests.support.workload import RECOVERY_APP


async def test_a_start_whose_row_write_lost_its_answer_runs_once_when_retried(
    azurite: Any, tmp_path: Path
) -> None:
    """The Instances row insert (a POST, which the tables SDK does not retry) is stored,
    its answer cut: the start answers 503; the same start again must run the instance,
    not find a Pending row no message will ever start (409, and Pending for good)."""
    async with stalling_proxies(*azurite.ports) as proxies, aiohttp.ClientSession() as http:
        blob, queue, table = proxies
        proxied = connection_string("127.0.0.1", (blob.port, queue.port, table.port))
        hub = f"Lost{uuid.uuid4().hex[:10]}"
        async with DurableHost(RECOVERY_APP, storage="azurite", connection=proxied, hub=hub) as host:
            await host.settle()
            table.lose_answer(b"POST ")
            url = f"{host.base_url}{API}/orchestrators/logged_fan_out/lost"
            spec = {"count": 3, "log": str(tmp_path / "runs.log")}
            first, body, _ = await call(http, "POST", url, json=spec)
            assert table.answers_lost == 1 and first == 503, (first, body)
            again, body, _ = await call(http, "POST", url, json=spec)
            assert again in (202, 409), (again, body)
            assert (await host.wait("lost")).output == 3


async def test_a_start_answered_503_after_its_message_got_through_runs_once(
    azurite: Any, tmp_path: Path
) -> None:
    """The start message's put is stored and its answer cut, and storage hangs then, so
    the SDK's retry hangs too: the start answers 503 at the 10 s bound, yet the instance
    runs, once, from the message that got through (the retry's copy, once storage
    answers, is the same execution's start, dropped as a duplicate). A client that sends
    the same start again meets the running or finished instance, as it would on Azure
    (409, or a new run replacing a finished one)."""
    async with stalling_proxies(*azurite.ports) as proxies, aiohttp.ClientSession() as http:
        blob, queue, table = proxies
        proxied = connection_string("127.0.0.1", (blob.port, queue.port, table.port))
        hub = f"Twice{uuid.uuid4().hex[:10]}"
        async with DurableHost(RECOVERY_APP, storage="azurite", connection=proxied, hub=hub) as host:
            await host.settle()
            queue.stall_after_lost_answer = True
            queue.lose_answer(b"POST ")
            url = f"{host.base_url}{API}/orchestrators/logged_chain/twice"
            spec = {"id": "twice", "start": 1, "adds": [2, 3], "log": str(tmp_path / "runs.log"), "counter": "c"}
            first, body, _ = await call(http, "POST", url, json=spec)
            assert queue.answers_lost == 1 and first == 503, (first, body)
            queue.stall_after_lost_answer = False
            queue.flow()
            assert (await host.wait("twice")).output == 6
            assert await host.read_entity("Counter", "c") == 2


@pytest.mark.parametrize(
    ("adds", "written"), [([5, 6], 1), ([], 0)], ids=["activity-result", "entity-answer"]
)
async def test_work_answered_before_its_episode_was_written_still_completes(
    azurite: Any, tmp_path: Path, adds: list[int], written: int
) -> None:
    """An episode sends its work (the second step of a chain; or, in a chain with no
    steps, the first episode's call to the Counter), then its history write fails (the
    request never reaches the table service), as after a crash at that point; handing
    its message back fails too, so the episode runs again only once that message's
    visibility lapses, when the work's answer is already back. The rerun schedules the
    same work again; the answer must reach it, so the orchestration completes instead
    of waiting for good. `written`: the episodes whose history is written first."""
    async with stalling_proxies(*azurite.ports) as proxies:
        blob, queue, table = proxies
        proxied = connection_string("127.0.0.1", (blob.port, queue.port, table.port))
        hub = f"Early{uuid.uuid4().hex[:10]}"
        async with DurableHost(RECOVERY_APP, storage="azurite", connection=proxied, hub=hub) as host:
            await host.settle()
            table.lose_request(b"POST /devstoreaccount1/$batch", passing=written)
            for _ in range(4):  # the release and each of the SDK's retries of it
                queue.lose_request(b"PUT ")
            spec = {"id": "early", "start": 7, "adds": adds, "log": str(tmp_path / "runs.log"), "counter": "c"}
            await host.start("logged_chain", spec, instance_id="early")
            status = await host.wait("early")
            assert (table.requests_lost, queue.requests_lost) == (1, 4)
            assert status.output == 7 + sum(adds)
            assert await host.read_entity("Counter", "c") == len(adds)
