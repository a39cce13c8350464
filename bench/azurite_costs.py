"""What one queue call costs Azurite, with no messages waiting in the account and with a
backlog's worth waiting in another queue. Azure Storage's queues do not slow with a
backlog; Azurite's (3.37, `LokiQueueMetadataStore` on LokiJS 1.5) do, for two reasons
read in its source and confirmed with a `node --cpu-prof` profile of a backlog:

- every receive, peek, renewal and delete first sweeps expired messages, and removing
  that (nearly always empty) list makes LokiJS rebuild all four binary indexes of the
  messages collection (`removeBatchByPositions` with adaptive indexes): four sorts of
  every message Azurite holds, in any queue;
- the lookups that follow are served by the `accountName` index, which every message of
  the account shares, and then compare queue name and message id message by message.

So each of those calls grows with the messages waiting, and a message a host holds
(invisible) counts like any other; a send only inserts. An orchestration's messages
must each be received and deleted, so no host that keeps the extension's queues can
get past this.

Its tables are measured beside them: an instance's status write (an upsert) in a table
with no other instances and with a backlog's worth. Azurite looks a row up by its RowKey
index first, and every instance's Instances row has the same (empty) RowKey, so the
lookup goes through a row of every instance; on our machines that stays a small part of
the call at this size (1.4 -> 1.3 ms with 3,000). The figures are Azurite's own CPU time
(bench/usage.py), so the host's speed does not enter them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueServiceClient

from bench.usage import process_cpu_s

CALLS = 300
_CONCURRENCY = 8
_BODY = "x" * 600  # about what a packed control message of a small chain holds


async def _each(count: int, call: Callable[[int], Awaitable[object]], concurrency: int = _CONCURRENCY) -> None:
    """`call(0)` to `call(count - 1)`, `concurrency` at a time."""
    slots = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with slots:
            await call(n)

    await asyncio.gather(*(one(n) for n in range(count)))


async def _cpu_ms_per_call(pid: int, call: Callable[[int], Awaitable[object]]) -> float:
    before = process_cpu_s(pid) or 0.0
    await _each(CALLS, call)
    return 1000 * ((process_cpu_s(pid) or 0.0) - before) / CALLS


async def _costs(service: QueueServiceClient, pid: int) -> dict[str, float]:
    """The calls that look through the account's messages: a receive, a visibility
    renewal (what a host does to the messages it holds) and a delete. A send does not."""
    queue = service.get_queue_client(f"costs-{uuid.uuid4().hex[:12]}")
    await queue.create_queue()
    try:
        await asyncio.gather(*(queue.send_message(_BODY) for _ in range(CALLS)))
        received: list[QueueMessage] = []

        async def receive(_: int) -> None:
            received.extend([m async for m in queue.receive_messages(max_messages=1, visibility_timeout=60)])

        async def renew(n: int) -> None:
            received[n] = await queue.update_message(received[n], visibility_timeout=60)

        costs = {"receive": await _cpu_ms_per_call(pid, receive)}
        costs["renew"] = await _cpu_ms_per_call(pid, renew)
        costs["delete"] = await _cpu_ms_per_call(pid, lambda n: queue.delete_message(received[n]))
        return costs
    finally:
        await queue.delete_queue()


async def _upsert_ms(table: TableClient, pid: int, prefix: str) -> float:
    """An instance's status write, as the host makes it: a replacing upsert of its row."""
    row = {"RowKey": "", "RuntimeStatus": "Running", "Input": _BODY}
    return await _cpu_ms_per_call(
        pid, lambda n: table.upsert_entity({**row, "PartitionKey": f"{prefix}{n}"}, mode=UpdateMode.REPLACE)
    )


async def _table_costs(connection: str, pid: int, others: int) -> tuple[float, float]:
    """The upsert's cost in a table of no other instances, and of `others`."""
    async with TableClient.from_connection_string(connection, f"costs{uuid.uuid4().hex[:12]}") as table:
        await table.create_table()
        try:
            idle = await _upsert_ms(table, pid, "idle")
            other = {"RowKey": "", "Input": _BODY}
            await _each(others, lambda n: table.create_entity({**other, "PartitionKey": f"other{n}"}), _CONCURRENCY * 2)
            return idle, await _upsert_ms(table, pid, "busy")
        finally:
            await table.delete_table()


async def measure(connection: str, pid: int, waiting: int) -> str:
    """The note: each queue call's cost with none and with `waiting` messages in the
    account, and a status write's with none and with `waiting` other instances."""
    async with QueueServiceClient.from_connection_string(connection) as service:
        idle = await _costs(service, pid)
        backlog = service.get_queue_client(f"costs-waiting-{uuid.uuid4().hex[:12]}")
        await backlog.create_queue()
        try:
            # Invisible, as the messages a host holds are.
            await _each(waiting, lambda _: backlog.send_message(_BODY, visibility_timeout=3600), _CONCURRENCY * 2)
            busy = await _costs(service, pid)
        finally:
            await backlog.delete_queue()
    upsert = await _table_costs(connection, pid, waiting)
    figures = ", ".join(f"{name} {idle[name]:.1f} -> {busy[name]:.1f} ms" for name in idle)
    return (
        f"Azurite's CPU per queue call, with 0 -> {waiting} messages waiting in the account: {figures}; "
        f"per instance status write (an upsert), with 0 -> {waiting} other instances in the table: "
        f"{upsert[0]:.1f} -> {upsert[1]:.1f} ms"
    )
