"""The app's order intake, end to end on real Azurite and both durable stores: an order
dropped on `orders-incoming` (as scripts/put_order.py drops it) runs `process_order`
with the order id as instance id, the same message again starts nothing, and a message
that is not an order goes to `orders-incoming-poison` at once with the app's log line."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from devhost.errors import NotFound
from devhost.testing import DurableHost
from starters import ORDERS_POISON_QUEUE, ORDERS_QUEUE
from tests.support.waiting import eventually

APP = Path(__file__).resolve().parents[2]


async def _put(connection: str, queue: str, body: str) -> None:
    async with QueueClient.from_connection_string(connection, queue) as client:
        try:
            await client.create_queue()
        except ResourceExistsError:
            pass
        await client.send_message(base64.b64encode(body.encode()).decode())


def _order() -> dict[str, object]:
    return {
        "order_id": f"Q-{uuid.uuid4().hex[:10]}",
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "items": [{"sku": "BOOK-001", "quantity": 1, "unit_price": 12.5}],
        "payment": {"card": "4242424242424242", "simulate": "approve"},
    }


@pytest.mark.parametrize("storage", ["memory", "azurite"])
async def test_an_order_message_runs_process_order_once(
    storage_connection: str, storage: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="starters")
    order = _order()
    hub = f"Intake{uuid.uuid4().hex[:10]}"
    connection = storage_connection if storage == "azurite" else None
    async with DurableHost(APP, storage=storage, connection=connection, hub=hub) as host:
        await _put(storage_connection, ORDERS_QUEUE, json.dumps(order))
        status = await eventually(lambda: _done(host, str(order["order_id"])), "process_order's completion")
        await _put(storage_connection, ORDERS_QUEUE, json.dumps(order))
        again = f"Order {order['order_id']} from queue message"
        await eventually(lambda: _logged(caplog, again, "was already started"), "the second delivery")
        assert (await host.status(str(order["order_id"]))).created_time == status.created_time
    assert status.runtime_status == "Completed" and status.output["status"] == "completed"


async def test_a_message_that_is_not_an_order_goes_to_the_poison_queue(
    storage_connection: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"not": "an order", "n": uuid.uuid4().hex})
    async with DurableHost(APP):
        await _put(storage_connection, ORDERS_QUEUE, body)
        await eventually(lambda: _poisoned(storage_connection, body), "the move to the poison queue")
    assert [line for line in caplog.messages if "is not a valid order" in line and ORDERS_POISON_QUEUE in line]


async def _done(host: DurableHost, instance_id: str) -> object:
    try:
        status = await host.status(instance_id)
    except NotFound:  # not started yet
        return None
    return status if status.runtime_status in ("Completed", "Failed", "Terminated") else None


async def _logged(caplog: pytest.LogCaptureFixture, *parts: str) -> bool:
    return any(all(part in line for part in parts) for line in caplog.messages)


async def _poisoned(connection: str, body: str) -> bool:
    async with QueueClient.from_connection_string(connection, ORDERS_POISON_QUEUE) as client:
        try:
            peeked = await client.peek_messages(32)
        except ResourceNotFoundError:  # not created yet
            return False
    # The app sets the text on its output; the host parses text that looks like JSON and
    # writes the object back (indented), so compare the JSON.
    return any(json.loads(base64.b64decode(message.content)) == json.loads(body) for message in peeked)
