"""Control and work-item queue messages through `MessageCodec`, with large ones in a real
`<hub>-largemessages` container on Azurite (docs/protocol.md H).

What a queue carries must come back as the same `Message`s: same id (duplicates are
recognised by it), same execution (stale ones are dropped by it), same fire time (timers),
same event. A queue message holds 64 KiB, so a larger batch must travel through a blob.
A message another program left on the queue must fail to decode with an ordinary error,
which the poller sets aside as "not ours", never with a storage error, which it retries.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from devhost.protocol import events
from devhost.stores.azure.names import escape_key
from devhost.stores.azure.payloads import LargePayloads
from devhost.stores.azure.queues import MessageCodec, PayloadGone, UnreadableMessage
from devhost.stores.base import Message

T0 = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
QUEUE_MESSAGE_BYTES = 64 * 1024


@pytest.fixture
async def container(storage_connection: str) -> AsyncIterator[ContainerClient]:
    """A fresh large-messages container, deleted afterwards."""
    async with BlobServiceClient.from_connection_string(storage_connection) as service:
        client = await service.create_container(f"codec-{uuid.uuid4().hex[:12]}-largemessages")
        try:
            yield client
        finally:
            await client.delete_container()


@pytest.fixture
def codec(container: ContainerClient) -> MessageCodec:
    return MessageCodec(LargePayloads(container))


async def _round_trip(codec: MessageCodec, messages: list[Message]) -> tuple[str, list[Message]]:
    """The queue text for `messages` and what a receiver decodes from it; the text must
    fit a queue message (it is JSON in ASCII, so characters are bytes)."""
    text = await codec.encode(messages)
    assert text.isascii() and len(text) <= QUEUE_MESSAGE_BYTES
    return text, await codec.decode(text)


def _results(instance_id: str, payload: str, count: int) -> list[Message]:
    """A batch of activity results to one instance, as one commit sends them."""
    return [
        Message(instance_id, events.task_completed(T0, n, json.dumps(payload)), "exec-1")
        for n in range(count)
    ]


SMALL = {
    "an event without execution": [Message("i-1", events.event_raised(T0, "Approval", '"yes"'))],
    "a timer": [Message("i-1", events.timer_fired(T0, 3, T0), "exec-1", fire_at=T0)],
    "a batch of results": _results("i-1", "done", 20),
    "odd ids and text": [
        Message("orders/42?#\\^é😀", events.event_raised(T0, "名前", json.dumps("\u0000\n\"😀")), "e/1")
    ],
}


@pytest.mark.parametrize("messages", SMALL.values(), ids=SMALL.keys())
async def test_small_messages_come_back_identical_without_a_blob(
    codec: MessageCodec, container: ContainerClient, messages: list[Message]
) -> None:
    _, decoded = await _round_trip(codec, messages)
    assert decoded == messages
    assert [blob.name async for blob in container.list_blobs()] == []


LARGE = {
    "one large ASCII result": _results("i-1", "x" * 100_000, 1),
    "many results that add up": _results("i-1", "y" * 3_000, 30),
    "text JSON escapes to six bytes a character": _results("i-1", "日本" * 5_000, 1),
    "an instance id with escaped characters": _results("orders/42?#\\^", "z" * 70_000, 2),
}


@pytest.mark.parametrize("messages", LARGE.values(), ids=LARGE.keys())
async def test_a_message_over_the_queue_limit_travels_through_a_blob(
    codec: MessageCodec, container: ContainerClient, messages: list[Message]
) -> None:
    text, decoded = await _round_trip(codec, messages)
    assert decoded == messages
    stored = [blob.name async for blob in container.list_blobs()]
    # Under the instance's prefix, so purging the instance removes it.
    assert stored == [f"{escape_key(messages[0].instance_id)}/message-{messages[0].id}.json.gz"]
    assert stored[0] in text


async def test_a_second_receiver_decodes_the_same_large_message(codec: MessageCodec) -> None:
    """A message whose visibility lapsed is received again, maybe by another host: the
    blob must still be there for it."""
    messages = _results("i-2", "w" * 80_000, 1)
    text = await codec.encode(messages)
    assert await codec.decode(text) == messages
    assert await codec.decode(text) == messages


_DTFX_EVENT = {
    "$type": "DurableTask.Core.History.ExecutionStartedEvent, DurableTask.Core",
    "OrchestrationInstance": {"InstanceId": "i-1", "ExecutionId": "e-1"},
    "EventType": 0, "Name": "hello", "Input": "null", "EventId": -1, "IsPlayed": False,
}  # fmt: skip
# DTFx AzureStorage's `MessageData` as `func start` writes it, inline and with its body in a blob.
DTFX_MESSAGE = {
    "$type": "DurableTask.AzureStorage.MessageData, DurableTask.AzureStorage",
    "ActivityId": str(uuid.uuid4()),
    "TaskMessage": {
        "$type": "DurableTask.Core.TaskMessage, DurableTask.Core",
        "Event": _DTFX_EVENT,
        "SequenceNumber": 0,
        "OrchestrationInstance": {"InstanceId": "i-1", "ExecutionId": "e-1"},
    },
    "CompressedBlobName": None,
    "SequenceNumber": 7,
    "Sender": {"InstanceId": "", "ExecutionId": ""},
}
FOREIGN = {
    "DTFx message": json.dumps(DTFX_MESSAGE),
    "DTFx message in a blob": json.dumps(
        {**DTFX_MESSAGE, "TaskMessage": None, "CompressedBlobName": "i-1/x.json.gz"}
    ),
    "base64 JSON": base64.b64encode(json.dumps(DTFX_MESSAGE).encode()).decode(),
    "plain text": "hello from another program",
    "empty": "",
    "JSON list": json.dumps([{"id": "m", "instance": "i-1"}]),
    "JSON string": json.dumps("messages"),
    "messages not a list": json.dumps({"messages": "i-1"}),
    "a message without its fields": json.dumps({"messages": [{"id": "m-1"}]}),
    "a message that is not an object": json.dumps({"messages": [7]}),
}


@pytest.mark.parametrize("text", FOREIGN.values(), ids=FOREIGN.keys())
async def test_a_foreign_message_fails_as_not_ours(codec: MessageCodec, text: str) -> None:
    """The poller (stores/azure/polling.py) retries storage errors and sets a message it
    cannot read aside for an hour, with a warning that another host uses the task hub."""
    with pytest.raises(UnreadableMessage):
        await codec.decode(text)


@pytest.mark.parametrize(
    "blob_body",
    [b"not gzip at all", gzip.compress(b"\xff\xfe not utf-8"), gzip.compress(b"{not json"), gzip.compress(b'{"messages": []}')],
    ids=["not gzip", "not UTF-8", "not JSON", "no messages"],
)
async def test_a_payload_blob_that_is_not_ours_fails_as_not_ours(
    codec: MessageCodec, container: ContainerClient, blob_body: bytes
) -> None:
    """Not a storage error to retry forever, nor a defect that would stop the host."""
    await container.upload_blob("i-1/message-x.json.gz", blob_body)
    with pytest.raises(UnreadableMessage):
        await codec.decode(json.dumps({"instance": "i-1", "blob": "i-1/message-x.json.gz"}))


async def test_a_message_whose_payload_was_purged_says_so(codec: MessageCodec) -> None:
    with pytest.raises(PayloadGone):
        await codec.decode(json.dumps({"instance": "i-1", "blob": "i-1/message-gone.json.gz"}))
