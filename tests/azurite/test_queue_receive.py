"""A receive is one Get Messages call, whatever it finds: the hub's pollers and the queue
and blob triggers all receive this way, and on Azurite every call sweeps every message
it holds, so a second call after a short batch (what iterating the SDK's
`receive_messages` makes) doubles the cost of polling and delays the batch."""

from __future__ import annotations

import uuid

from azure.storage.queue.aio import QueueClient

from devhost.azurite import AzuriteProcess
from devhost.stores.azure.queues import receive
from tests.support.storage_calls import Call, through


def _name() -> str:
    return f"receive-{uuid.uuid4().hex[:12]}"


def _receive(call: Call) -> bool:
    return call.method == "GET" and call.path.split("?")[0].endswith("/messages")


async def test_a_short_batch_and_an_empty_queue_each_cost_one_call(azurite: AzuriteProcess) -> None:
    async with (
        through(azurite.connection_string, "queue") as calls,
        QueueClient.from_connection_string(calls.connection, _name()) as queue,
    ):
        await queue.create_queue()
        for text in ("one", "two", "three"):
            await queue.send_message(text)

        mark = calls.mark()
        batch = await receive(queue, 32, 30)
        assert sorted(message.content for message in batch) == ["one", "three", "two"]
        assert all(message.pop_receipt for message in batch)
        assert len(calls.since(mark, _receive)) == 1

        mark = calls.mark()
        assert await receive(queue, 32, 30) == []  # all three are invisible now
        assert len(calls.since(mark, _receive)) == 1


async def test_a_receive_takes_at_most_the_count_asked(azurite: AzuriteProcess) -> None:
    async with QueueClient.from_connection_string(azurite.connection_string, _name()) as queue:
        await queue.create_queue()
        for number in range(5):
            await queue.send_message(str(number))
        first, second = await receive(queue, 3, 30), await receive(queue, 3, 30)
        assert (len(first), len(second)) == (3, 2)
        assert {m.content for m in first + second} == {"0", "1", "2", "3", "4"}
