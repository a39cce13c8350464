"""The queue trigger on real Azurite, messages put there with the official SDK: orders
starting orchestrations (on both durable stores), retries and the poison queue, what
`func.QueueMessage` carries, binary and undecodable messages, calls by hand, a stop
while a function runs. The test app's host.json polls at least every 0.5 s and retries
at once (`visibilityTimeout` 0)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import aiohttp
import pytest

from devhost.azurite import free_port
from tests.support.apps import QUEUE_APP
from tests.support.http import call
from tests.support.processes import DevhostProcess
from tests.support.queues import Queues
from tests.support.waiting import eventually


def _order(prefix: str = "order") -> tuple[str, str]:
    order_id = f"{prefix}-{uuid.uuid4().hex[:12]}"
    return order_id, json.dumps({"order_id": order_id, "item": "book", "quantity": 2})


@pytest.mark.parametrize("storage", ["memory", "azurite"])
async def test_the_same_order_message_twice_starts_one_orchestration(queues: Queues, storage: str) -> None:
    order_id, body = _order()
    async with queues.host(storage) as host:
        seen = host.app_module.seen
        await queues.send(queues["ORDERS_QUEUE"], body)
        await eventually(lambda: _count(seen, body, 1), "the first delivery")
        await queues.send(queues["ORDERS_QUEUE"], body)
        await eventually(lambda: _count(seen, body, 2), "the second delivery")
        status = await host.wait(order_id)
        assert [call["started"] for call in seen[body]] == [True, False]
        assert status.runtime_status == "Completed"
        assert status.output == json.loads(body)
        assert await eventually(lambda: _empty(queues, queues["ORDERS_QUEUE"]), "both messages deleted")


async def test_a_failing_message_moves_to_the_poison_queue_after_five_attempts(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    body = f"not an order {uuid.uuid4().hex}"
    poison = f"{queues['FAIL_QUEUE']}-poison"
    async with queues.host() as host:
        await queues.send(queues["FAIL_QUEUE"], body)
        moved = await eventually(lambda: queues.peek_decoded(poison), "the move to the poison queue")
        await eventually(lambda: _empty(queues, queues["FAIL_QUEUE"]), "the message gone from its queue")
        attempts = [call["dequeue_count"] for call in host.app_module.seen[body]]
    assert moved == [body.encode()]
    assert attempts == [1, 2, 3, 4, 5]
    assert f"Message has reached MaxDequeueCount of 5. Moving message to queue '{poison}'." in caplog.messages


async def test_the_function_gets_the_messages_metadata_and_the_dequeue_count_counts_retries(queues: Queues) -> None:
    body = json.dumps({"succeed_at": 3, "n": uuid.uuid4().hex})
    async with queues.host() as host:
        sent = await queues.send(queues["INSPECT_QUEUE"], body)
        calls = await eventually(lambda: _count(host.app_module.seen, body, 3), "three calls")
        await eventually(lambda: _empty(queues, queues["INSPECT_QUEUE"]), "the message deleted after success")
    assert [call["dequeue_count"] for call in calls] == [1, 2, 3]
    assert {call["id"] for call in calls} == {sent.id}
    assert {call["body"] for call in calls} == {body.encode()}
    assert {call["insertion_time"] for call in calls} == {sent.inserted_on}
    assert {call["expiration_time"] for call in calls} == {sent.expires_on}
    receipts = [call["pop_receipt"] for call in calls]
    assert all(receipts) and len(set(receipts)) == 3
    # Taken for 10 minutes at each receive, as the host takes it.
    assert all(call["time_next_visible"] > sent.inserted_on + timedelta(minutes=9) for call in calls)


async def test_a_json_payloads_id_is_what_the_function_sees_as_the_message_id(queues: Queues) -> None:
    """The host adds a JSON object's properties to the trigger metadata, over its own."""
    body = json.dumps({"id": f"payload-{uuid.uuid4().hex}"})
    async with queues.host() as host:
        await queues.send(queues["INSPECT_QUEUE"], body)
        [seen] = await eventually(lambda: _count(host.app_module.seen, body, 1), "the call")
    assert seen["id"] == json.loads(body)["id"]


async def test_a_binary_function_gets_the_bytes_as_sent(queues: Queues) -> None:
    data = b"\xff\x00\xfe" + uuid.uuid4().bytes
    async with queues.host() as host:
        await queues.send(queues["BINARY_QUEUE"], data)
        [seen] = await eventually(lambda: _count(host.app_module.seen, data.hex(), 1), "the call")
    assert seen["body"] == data


async def test_a_message_that_is_not_utf8_fails_a_string_function_until_it_is_poison(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    data = b"\xff\xfe not text " + uuid.uuid4().bytes
    async with queues.host():
        await queues.send(queues["INSPECT_QUEUE"], data)
        moved = await eventually(lambda: queues.peek_decoded(f"{queues['INSPECT_QUEUE']}-poison"), "the poison move")
    assert moved == [data]
    failed = [r for r in caplog.records if "Exception binding parameter 'msg'" in getattr(r, "user_traceback", "")]
    assert len(failed) == 5  # each attempt an execution that failed binding, the function never called


async def test_a_message_that_is_not_base64_goes_to_the_poison_queue_at_once(queues: Queues) -> None:
    text = f"plain text, not base64 {uuid.uuid4().hex}"
    async with queues.host() as host:
        await queues.send(queues["FAIL_QUEUE"], text, encode=False)
        moved = await eventually(lambda: queues.peek(f"{queues['FAIL_QUEUE']}-poison"), "the poison move")
        assert text not in host.app_module.seen
    assert moved == [text]


async def test_a_function_called_by_hand_gets_the_input_as_its_message(queues: Queues) -> None:
    order_id, order = _order("by-hand")
    text = f"by hand {uuid.uuid4().hex}"
    async with queues.host() as host, aiohttp.ClientSession() as http:
        started, _, _ = await call(http, "POST", f"{host.base_url}/admin/functions/start_order", json={"input": order})
        inspected, _, _ = await call(http, "POST", f"{host.base_url}/admin/functions/inspect", json={"input": text})
        status = await host.wait(order_id)
        [seen] = await eventually(lambda: _count(host.app_module.seen, text, 1), "the call by hand")
    assert (started, inspected) == (202, 202)
    assert status.output == json.loads(order)
    assert (seen["body"], seen["id"], seen["pop_receipt"], seen["dequeue_count"]) == (text.encode(), None, None, 0)
    assert seen["insertion_time"] is not None and seen["expiration_time"].year == 9999


async def test_a_message_whose_function_runs_when_the_host_stops_comes_back(queues: Queues) -> None:
    body = f"held {uuid.uuid4().hex}"
    async with queues.host() as first:
        module = first.app_module
        await queues.send(queues["HOLD_QUEUE"], body)
        [held] = await eventually(lambda: _count(module.seen, body, 1), "the first call")
    try:
        assert await queues.peek_decoded(queues["HOLD_QUEUE"]) == [body.encode()]
    finally:
        module.gate.set()
    async with queues.host() as second:  # its app's module of its own
        [again] = await eventually(lambda: _count(second.app_module.seen, body, 1), "the call after the restart")
        await eventually(lambda: _empty(queues, queues["HOLD_QUEUE"]), "the message deleted")
    assert [held["dequeue_count"], again["dequeue_count"]] == [1, 2]


async def test_the_trigger_creates_its_queue_when_it_starts(queues: Queues) -> None:
    async with queues.host():
        assert await eventually(lambda: queues.exists(queues["ORDERS_QUEUE"]), "the queue's creation")


async def _count(seen: dict[str, list[dict[str, object]]], body: str, count: int) -> list[dict[str, object]]:
    """The calls for `body` once there are `count` of them (else nothing)."""
    calls = seen.get(body, [])
    return list(calls) if len(calls) >= count else []


async def _empty(queues: Queues, queue: str) -> bool:
    return not await queues.peek(queue)



async def test_the_console_shows_each_attempt_and_the_move_to_the_poison_queue(queues: Queues) -> None:
    body = f"console {uuid.uuid4().hex}"
    process = DevhostProcess("--app-dir", str(QUEUE_APP), "--storage", "memory", "--port", str(free_port())).started()
    try:
        await queues.send(queues["FAIL_QUEUE"], body)
        lines = await asyncio.to_thread(process.read_until, "Moving message to queue")
    finally:
        process.stop()
    reason = f"Reason='New queue message detected on '{queues['FAIL_QUEUE']}'.'"
    assert len([line for line in lines if "Executing 'Functions.always_fails'" in line and reason in line]) == 5
    details = [line for line in lines if "Trigger Details: MessageId: " in line]
    assert [f"DequeueCount: {n}," in line for n, line in enumerate(details, 1)] == [True] * 5
    assert lines[-1].endswith(
        f"Message has reached MaxDequeueCount of 5. Moving message to queue '{queues['FAIL_QUEUE']}-poison'."
    )
