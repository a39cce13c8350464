"""Blob triggers on a real Azurite: each blob version runs its function once, at first
start, on change, not again after a restart or on a second host; what the function gets;
poison after five failures; calls by hand."""

from __future__ import annotations

import base64
import json
import logging

import aiohttp
import pytest
from azure.storage.queue.aio import QueueClient

from devhost.testing import DurableHost
from tests.support.apps import BLOB_APP
from tests.support.blobs import BlobTestbed
from tests.support.waiting import eventually


@pytest.fixture
def testbed(storage_connection: str, monkeypatch: pytest.MonkeyPatch) -> BlobTestbed:
    return BlobTestbed.create(storage_connection, monkeypatch)


async def _outputs(testbed: BlobTestbed, name: str) -> list[dict[str, object]]:
    """What describe_blob wrote for blob `<name>.txt`, one document per call."""
    found = []
    for blob in await testbed.names(testbed.outbox, f"{name}/"):
        content = await testbed.read(testbed.outbox, blob)
        assert content is not None
        found.append(json.loads(content))
    return found


async def _runs(testbed: BlobTestbed, name: str, count: int) -> list[dict[str, object]]:
    async def enough() -> list[dict[str, object]]:
        outputs = await _outputs(testbed, name)
        return outputs if len(outputs) >= count else []

    return await eventually(enough, f"{count} call(s) for {name}.txt")


async def _settled_after(testbed: BlobTestbed, sentinel: str) -> None:
    """Uploads a blob named to be listed after the others and waits until it ran and the
    queue is empty: every blob before it was looked at in the same scan and, if queued,
    run by then."""
    await testbed.put(testbed.inbox, f"{sentinel}.txt", b"last")
    await _runs(testbed, sentinel, 1)
    await eventually(testbed.queue_drained, "the blob trigger queue draining")


async def test_a_blob_there_before_the_start_runs_once_with_its_name_uri_length_and_metadata(
    testbed: BlobTestbed,
) -> None:
    from azure.storage.blob import ContentSettings

    await testbed.put(testbed.inbox, "0-skipped.json", b"{}")  # listed first; not *.txt
    await testbed.put(
        testbed.inbox, "a.txt", b"hello", metadata={"origin": "test"}, content_settings=ContentSettings("text/plain")
    )
    async with DurableHost(BLOB_APP):
        [seen] = await _runs(testbed, "a", 1)
        await _settled_after(testbed, "zz")
        assert await _outputs(testbed, "a") == [seen]
    assert seen["name"] == f"{testbed.inbox}/a.txt"
    assert str(seen["uri"]).endswith(f"/devstoreaccount1/{testbed.inbox}/a.txt")
    assert str(seen["uri"]).startswith("http://127.0.0.1:")
    assert seen["length"] == 5 and seen["content"] == "hello"
    assert seen["metadata"] == {"origin": "test"} and seen["contentType"] == "text/plain"
    assert await testbed.names(testbed.outbox, "0-skipped") == []


async def test_a_changed_blob_runs_once_more_and_a_restart_runs_neither_version_again(
    testbed: BlobTestbed,
) -> None:
    async with DurableHost(BLOB_APP):
        first = await testbed.put(testbed.inbox, "a.txt", b"one")
        await _runs(testbed, "a", 1)
        second = await testbed.put(testbed.inbox, "a.txt", b"two")
        await _runs(testbed, "a", 2)
    async with DurableHost(BLOB_APP):  # the same app folder and host id: the same receipts
        await _settled_after(testbed, "zz")
    assert sorted(str(seen["content"]) for seen in await _outputs(testbed, "a")) == ["one", "two"]
    receipts = await testbed.names(
        "azure-webjobs-hosts", f"blobreceipts/{testbed.host_id}/Host.Functions.describe_blob/"
    )
    prefix = f"blobreceipts/{testbed.host_id}/Host.Functions.describe_blob"
    assert {f"{prefix}/{etag}/{testbed.inbox}/a.txt" for etag in (first, second)} <= set(receipts)


async def test_a_call_a_stop_cut_short_runs_again_on_the_next_start(
    testbed: BlobTestbed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with DurableHost(BLOB_APP):
        await testbed.put(testbed.inbox, "held/job.txt", b"finished")
        await eventually(_said(caplog, "Executing 'Functions.held_blob'"), "the call starting")
    async with DurableHost(BLOB_APP) as second:
        second.app_module.let_go().set()
        content = await eventually(lambda: testbed.read(testbed.outbox, "held/job.txt"), "the second call's output")
    assert content == b"finished"
    assert len([r for r in caplog.records if r.getMessage().startswith("Executing 'Functions.held_blob'")]) == 2


async def test_two_hosts_on_the_same_storage_run_each_blob_once(testbed: BlobTestbed) -> None:
    async with DurableHost(BLOB_APP), DurableHost(BLOB_APP):
        for n in range(6):
            await testbed.put(testbed.inbox, f"b{n}.txt", f"blob {n}".encode())
        for n in range(6):
            await _runs(testbed, f"b{n}", 1)
        await _settled_after(testbed, "zz")
        for n in range(6):
            assert len(await _outputs(testbed, f"b{n}")) == 1


async def test_a_bytes_trigger_writes_its_return_value_to_the_return_blob(testbed: BlobTestbed) -> None:
    async with DurableHost(BLOB_APP):
        await testbed.put(testbed.inbox, "upper/note.md", b"shout")
        content = await eventually(lambda: testbed.read(testbed.outbox, "upper/note.md"), "the $return blob")
    assert content == b"SHOUT"


async def test_a_function_that_keeps_failing_poisons_the_message_after_five_attempts(
    testbed: BlobTestbed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with DurableHost(BLOB_APP):
        etag = await testbed.put(testbed.failing, "bad.bin", b"\x00")

        async def poisoned() -> list[dict[str, object]]:
            queue = QueueClient.from_connection_string(testbed.connection, "webjobs-blobtrigger-poison")
            async with queue:
                if not await _exists(queue):
                    return []
                bodies = [json.loads(base64.b64decode(m.content)) for m in await queue.peek_messages(max_messages=32)]
            return [body for body in bodies if body.get("ContainerName") == testbed.failing]

        [message] = await eventually(poisoned, "a poison message")
    assert message == {
        "Type": "BlobTrigger",
        "FunctionId": "Host.Functions.reject_blob",
        "BlobType": "BlockBlob",
        "ContainerName": testbed.failing,
        "BlobName": "bad.bin",
        "ETag": etag,
    }
    lines = [record.getMessage() for record in caplog.records]
    assert len([line for line in lines if line.startswith("Executed 'Functions.reject_blob' (Failed")]) == 5
    assert "Message has reached MaxDequeueCount of 5. Moving message to queue 'webjobs-blobtrigger-poison'." in lines


async def _exists(queue: QueueClient) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        await queue.get_queue_properties()
    except ResourceNotFoundError:
        return False
    return True


async def test_a_call_by_hand_runs_the_function_for_the_blob_its_input_names(
    testbed: BlobTestbed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with DurableHost(BLOB_APP) as host, aiohttp.ClientSession() as http:
        await testbed.put(testbed.inbox, "hand.txt", b"by hand")
        await _runs(testbed, "hand", 1)
        admin = f"{host.base_url}/admin/functions/describe_blob"
        async with http.post(admin, json={"input": f"{testbed.inbox}/hand.txt"}) as response:
            assert response.status == 202
        [one, two] = await _runs(testbed, "hand", 2)
        async with http.post(admin, json={"input": "no-blob-named"}) as refused:
            assert refused.status == 400
            assert "Blob identifiers must be in the format 'container/blob'" in (await refused.json())["error"]
        async with http.post(admin, json={"input": f"{testbed.inbox}/gone.txt"}) as missing:
            assert missing.status == 202
        await eventually(
            _said(caplog, f"blob '{testbed.inbox}/gone.txt' does not exist"), "the line about the missing blob"
        )
    assert one["content"] == two["content"] == "by hand"
    reasons = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Executing 'Functions.describe_blob'")
    ]
    assert any(f"Reason='New blob detected(LogsAndContainerScan): {testbed.inbox}/hand.txt'" in r for r in reasons)
    assert any("Reason='This function was programmatically called via the host APIs.'" in r for r in reasons)


def _said(caplog: pytest.LogCaptureFixture, text: str):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return any(text in record.getMessage() for record in caplog.records)

    return check
