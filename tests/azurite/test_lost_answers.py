"""Storage did the write, the host never heard: a real TCP proxy lets one request reach
Azurite and cuts the connection before its answer comes back, the worst moment of a
connection reset. These are the cases the chaos runs found, made exact: whatever the
host was told, the user's work must run, once."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp

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
