"""The queue output binding on real Azurite, read back with the official SDK: text, JSON
and bytes from an HTTP function, a returned list to a queue its payload names, both
message encodings; and the configurations the host refuses to start with."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.errors import StartupError
from tests.support.apps import QUEUE_APP
from tests.support.http import call
from tests.support.processes import DevhostProcess
from tests.support.queues import Queues
from tests.support.waiting import eventually


def _app_with_queue_settings(destination: Path, settings: dict[str, Any]) -> Path:
    """A copy of the queue app whose host.json has these `extensions.queues` settings."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(QUEUE_APP / "function_app.py", destination / "function_app.py")
    host_json = {"version": "2.0", "extensions": {"queues": {"maxPollingInterval": "00:00:00.5", **settings}}}
    (destination / "host.json").write_text(json.dumps(host_json), encoding="utf-8")
    return destination


async def _enqueue(base_url: str, shape: str, body: bytes) -> int:
    async with aiohttp.ClientSession() as http:
        status, _, _ = await call(http, "POST", f"{base_url}/api/enqueue/{shape}", data=body)
    return status


async def test_an_http_function_writes_text_json_and_bytes_base64_encoded(queues: Queues) -> None:
    out = queues["OUT_QUEUE"]
    text = f"hello {uuid.uuid4().hex}"
    order = {"order_id": "o-1", "lines": [{"sku": "book", "quantity": 2}], "gift": False}
    data = b"\xff\xfe\x00 not utf-8"
    async with queues.host() as host:
        assert await _enqueue(host.base_url, "text", text.encode()) == 202
        assert await _enqueue(host.base_url, "json", json.dumps(order).encode()) == 202
        assert await _enqueue(host.base_url, "bytes", data) == 202
    # The host parses a string that looks like JSON and writes the object back indented.
    expected = [text.encode(), json.dumps(order, indent=2).encode(), data]
    assert await queues.peek(out) == [base64.b64encode(body).decode() for body in expected]


async def test_with_message_encoding_none_messages_are_plain_text(queues: Queues, tmp_path: Path) -> None:
    app = _app_with_queue_settings(tmp_path / "plain", {"messageEncoding": "none"})
    text = f"plain {uuid.uuid4().hex}"
    async with queues.host(app_dir=app) as host:
        assert await _enqueue(host.base_url, "text", text.encode()) == 202
        await queues.send(queues["INSPECT_QUEUE"], text, encode=False)
        [seen] = await eventually(lambda: _calls(host.app_module.seen, text), "the plain message's call")
    assert await queues.peek(queues["OUT_QUEUE"]) == [text]
    assert seen["body"] == text.encode()


async def test_a_returned_list_is_one_message_each_on_the_queue_the_payload_names(queues: Queues) -> None:
    target = f"target-{uuid.uuid4().hex[:12]}"
    items = ["first", "second", '{"x": 1}']
    async with queues.host():
        await queues.send(queues["RELAY_QUEUE"], json.dumps({"target": target, "items": items}))
        written = await eventually(lambda: _at_least(queues, target, 3), "the relayed messages")
    assert written == [item.encode() for item in items]


async def test_a_message_sent_to_a_queue_this_host_listens_on_runs_its_function(queues: Queues) -> None:
    first, second = (json.dumps({"n": uuid.uuid4().hex}) for _ in range(2))
    async with queues.host() as host:
        relayed = {"target": queues["INSPECT_QUEUE"], "items": [first, second]}
        await queues.send(queues["RELAY_QUEUE"], json.dumps(relayed))
        for body in (first, second):
            await eventually(lambda body=body: _calls(host.app_module.seen, body), "the relayed message's call")


# --- configurations the host refuses ---------------------------------------------------------


async def test_a_bad_queue_name_stops_the_start(queues: Queues, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIL_QUEUE", "bad_name")
    with pytest.raises(StartupError) as refused:
        async with queues.host():
            pass
    assert str(refused.value) == (
        "Error indexing method 'Functions.always_fails': A queue name can contain only letters, numbers, "
        "and dash(-) characters - \"bad_name\" (Parameter 'name')"
    )


async def test_a_missing_connection_setting_stops_the_start(queues: Queues, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    with pytest.raises(StartupError) as refused:
        async with queues.host():
            pass
    assert "Storage account connection string 'AzureWebJobsStorage' does not exist" in str(refused.value)


async def test_a_bad_host_json_value_stops_the_start(queues: Queues, tmp_path: Path) -> None:
    app = _app_with_queue_settings(tmp_path / "big", {"batchSize": 64})
    with pytest.raises(StartupError) as refused:
        async with queues.host(app_dir=app):
            pass
    assert str(refused.value) == "host.json: 'extensions.queues.batchSize' must be an integer from 1 to 32, not 64."


def test_the_cli_exits_with_one_line_for_a_bad_polling_interval(queues: Queues, tmp_path: Path) -> None:
    app = _app_with_queue_settings(tmp_path / "fast", {"maxPollingInterval": "00:00:00.01"})
    code, console = DevhostProcess("--app-dir", str(app), "--storage", "memory", "--port", "0").finished()
    expected = "error: host.json: 'extensions.queues.maxPollingInterval' must be at least 00:00:00.1, not '00:00:00.01'."
    assert code == 1
    assert [line for line in console.splitlines() if "maxPollingInterval" in line] == [expected]


async def _calls(seen: dict[str, list[dict[str, Any]]], body: str) -> list[dict[str, Any]]:
    return list(seen.get(body, []))


async def _at_least(queues: Queues, queue: str, count: int) -> list[bytes]:
    found = await queues.peek_decoded(queue)
    return found if len(found) >= count else []
