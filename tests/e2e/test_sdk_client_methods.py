"""Every public method of SDK 1.7.0's `DurableOrchestrationClient`, called by an app's HTTP
function (tests/apps/client_app) against devhost on both stores: each returns what it
returns against the real host, or raises what it raises there (the status codes each
method accepts are read from `models/DurableOrchestrationClient.py`; the host's from
ext `HttpApiHandler`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator

import aiohttp
import pytest_asyncio

from devhost.testing import DurableHost
from tests.support.apps import CLIENT_APP
from tests.support.http import call


@pytest_asyncio.fixture
async def client_host(store_options: dict[str, Any]) -> AsyncIterator[DurableHost]:
    async with DurableHost(CLIENT_APP, **store_options) as durable_host:
        yield durable_host


class _Client:
    """Calls `client.<method>(*args, **kwargs)` inside the app, over HTTP."""

    def __init__(self, http: aiohttp.ClientSession, host: DurableHost) -> None:
        self._http, self._host = http, host

    async def answer(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        url = f"{self._host.base_url}/api/client/{method}"
        status, body, _ = await call(self._http, "POST", url, json={"args": list(args), "kwargs": kwargs})
        assert status == 200, body
        return dict(body)

    async def result(self, method: str, *args: Any, **kwargs: Any) -> Any:
        answer = await self.answer(method, *args, **kwargs)
        assert "result" in answer, answer
        return answer["result"]

    async def raised(self, method: str, *args: Any, **kwargs: Any) -> str:
        answer = await self.answer(method, *args, **kwargs)
        assert "raised" in answer, answer
        return str(answer["raised"])


@pytest_asyncio.fixture
async def client(client_host: DurableHost, http: aiohttp.ClientSession) -> _Client:
    return _Client(http, client_host)


def _time(moment: datetime) -> dict[str, str]:
    return {"time": moment.isoformat()}


async def test_start_new(client: _Client, client_host: DurableHost) -> None:
    generated = await client.result("start_new", "echo", None, {"a": 1})
    assert len(generated) == 32
    assert await client.result("start_new", "echo", "fixed-id", 5) == "fixed-id"
    assert (await client_host.wait("fixed-id")).output == 5
    assert (await client.raised("start_new", "nope")).startswith(
        "The function 'nope' doesn't exist, is disabled, or is not an orchestrator function."
    )
    await client.result("start_new", "waits", "live-id")
    assert "already exists" in await client.raised("start_new", "waits", "live-id")


async def test_start_new_with_a_version_on_an_unversioned_host_stays_pending(
    client: _Client, client_host: DurableHost
) -> None:
    """With no defaultVersion, CurrentOrOlder runs only unversioned instances."""
    instance_id = await client.result("start_new", "echo", None, 1, version="2.0")
    await client_host.settle()
    status = await client.result("get_status", instance_id)
    assert status["runtimeStatus"] == "Pending"


async def test_get_status(client: _Client, client_host: DurableHost) -> None:
    instance_id = await client.result("start_new", "echo", None, {"a": 1})
    await client_host.wait(instance_id)
    status = await client.result("get_status", instance_id)
    assert (status["truthy"], status["runtimeStatus"], status["output"]) == (True, "Completed", {"a": 1})
    assert status["input"] == '{"a": 1}'  # the client posts JSON text, which the status shows
    with_history = await client.result("get_status", instance_id, True, True, True)
    # SDK 1.7 reads `history`, where the host sends `historyEvents` (as against Azure)
    assert with_history.get("history") is None and with_history["output"] == {"a": 1}
    assert (await client.result("get_status", "missing"))["truthy"] is False


async def test_get_status_all_and_by(client: _Client, client_host: DurableHost) -> None:
    done = await client.result("start_new", "echo", "by-done", 1)
    waiting = await client.result("start_new", "waits", "by-waiting")
    await client_host.settle()
    everything = {s["instanceId"] for s in await client.result("get_status_all")}
    assert {done, waiting} <= everything
    now = datetime.now(timezone.utc)
    running = await client.result(
        "get_status_by",
        created_time_from=_time(now - timedelta(days=1)),
        created_time_to=_time(now + timedelta(days=1)),
        runtime_status={"statuses": ["Running"]},
        instance_id_prefix="by-",
    )
    assert [s["instanceId"] for s in running] == [waiting]


async def test_raise_event(client: _Client, client_host: DurableHost) -> None:
    instance_id = await client.result("start_new", "waits")
    assert await client.result("raise_event", instance_id, "Go", {"x": 1}) is None
    assert (await client_host.wait(instance_id)).output == '{"x": 1}'  # SDK issue #295: JSON text
    assert await client.raised("raise_event", instance_id, "Go", 2) == (
        f"Instance with ID {instance_id} is gone: either completed or failed"
    )
    assert await client.raised("raise_event", "missing", "Go") == "No instance with ID missing found."


async def test_terminate_suspend_resume(client: _Client, client_host: DurableHost) -> None:
    instance_id = await client.result("start_new", "waits")
    await client_host.settle()
    assert await client.result("suspend", instance_id, "hold") is None
    await client_host.settle()
    assert (await client.result("get_status", instance_id))["runtimeStatus"] == "Suspended"
    assert await client.result("resume", instance_id, "go on") is None
    await client_host.settle()
    assert "unexpected status code" in await client.raised("resume", instance_id, "again")
    assert await client.result("terminate", instance_id, "enough") is None
    status = await client_host.wait(instance_id)
    assert (status.runtime_status, status.output) == ("Terminated", "enough")
    # 410 for a finished instance counts as done for these three
    for method in ("terminate", "suspend", "resume"):
        assert await client.result(method, instance_id, "late") is None
        assert await client.raised(method, "missing", "x") == "No instance with ID 'missing' found."


async def test_rewind(client: _Client, client_host: DurableHost) -> None:
    instance_id = await client.result("start_new", "fails_once")
    assert (await client_host.wait(instance_id)).runtime_status == "Failed"
    assert await client.result("rewind", instance_id, "fixed it") is None
    await client_host.settle()
    assert (await client_host.wait(instance_id)).output == "attempt 2"
    assert await client.raised("rewind", instance_id, "again") == (
        "The rewind operation is only supported on failed orchestration instances."
    )
    assert await client.raised("rewind", "missing", "x") == "No instance with ID missing found."


async def test_restart(client: _Client, client_host: DurableHost) -> None:
    instance_id = await client.result("start_new", "echo", None, "original")
    await client_host.wait(instance_id)
    # SDK 1.7 returns the check-status payload the host answers with, not the id
    payload = await client.result("restart", instance_id)
    assert payload["id"] != instance_id and "rewindPostUri" not in payload
    assert (await client_host.wait(payload["id"])).output == "original"
    same = await client.result("restart", instance_id, False)
    assert same["id"] == instance_id
    assert "unexpected status code 400" in await client.raised("restart", "missing")


async def test_purge(client: _Client, client_host: DurableHost) -> None:
    first = await client.result("start_new", "echo", None, 1)
    second = await client.result("start_new", "echo", None, 2)
    await client_host.wait(first)
    await client_host.wait(second)
    assert await client.result("purge_instance_history", first) == {"instances_deleted": 1}
    assert await client.result("purge_instance_history", first) == {"instances_deleted": 0}
    since = _time(datetime.now(timezone.utc) - timedelta(days=1))
    purged = await client.result(
        "purge_instance_history_by", created_time_from=since, runtime_status={"statuses": ["Completed"]}
    )
    assert purged == {"instances_deleted": 1}
    assert await client.raised("purge_instance_history_by") == (
        "created_time_from is required when purging instance history"
    )


async def test_entities(client: _Client, client_host: DurableHost) -> None:
    tally = {"entity": ["Tally", "k"]}
    assert await client.result("signal_entity", tally, "add", 4) is None
    assert await client.result("signal_entity", tally, "add", 6) is None
    await client_host.settle()
    assert await client.result("read_entity_state", tally) == {"entity_exists": True, "entity_state": 10}
    missing = await client.result("read_entity_state", {"entity": ["Tally", "never"]})
    assert missing == {"entity_exists": False, "entity_state": None}


async def test_check_status_responses(client: _Client, client_host: DurableHost) -> None:
    done = await client.result("start_new", "echo", None, 3)
    await client_host.wait(done)
    completed = await client.result("wait_for_completion_or_create_check_status_response", done, 5000, 100)
    assert (completed["status_code"], completed["body"]) == (200, 3)
    waiting = await client.result("start_new", "waits")
    pending = await client.result("wait_for_completion_or_create_check_status_response", waiting, 300, 100)
    assert pending["status_code"] == 202
    failed = await client.result("start_new", "fails_once")
    await client_host.wait(failed)
    answer = await client.result("wait_for_completion_or_create_check_status_response", failed, 5000, 100)
    assert (answer["status_code"], answer["body"]["runtimeStatus"]) == (500, "Failed")
    response = await client.result("create_check_status_response", waiting)
    assert response["status_code"] == 202
    assert response["headers"]["Location"] == response["body"]["statusQueryGetUri"]
    assert response["body"]["statusQueryGetUri"].startswith(client_host.base_url)
    payload = await client.result("create_http_management_payload", waiting)
    assert payload["id"] == waiting and "rewindPostUri" in payload  # the binding's URLs
    assert await client.result("get_client_response_links", None, waiting) == payload
