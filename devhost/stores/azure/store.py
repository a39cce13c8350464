"""The Azure Storage store: Azurite locally, a real storage account unchanged.

Control queues are read by the partitions this host leases; their messages wait in
memory, grouped by instance, until an episode takes them, and are deleted only after the
episode's checkpoint is written (outgoing messages first, then history and instance row,
then the deletes, as DTFx does). The work-item queue is shared by every host. Timers are
queue messages that stay invisible until due; with a virtual clock this host makes them
visible itself when the clock reaches them. A crash at any step leaves messages that
reappear within seconds, and the receivers drop what they have already seen.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
)
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from ...clock import Clock
from ...errors import Conflict, StartupError
from ...ids import new_hex
from ...protocol import COMPLETION_ID_FIELDS, EventType
from ..base import (
    LIVE_STATUSES,
    Checkpoint,
    ConflictError,
    InstanceQuery,
    InstanceRecord,
    Message,
    Store,
    WorkItem,
)
from .leases import PartitionLeases
from .names import HubNames, escape_key, partition_of, validate_hub
from .payloads import LargePayloads
from .queues import RENEW_AFTER_S, VISIBILITY_S, MessageCodec, Received, delete, send, set_visibility
from .tables import HistoryState, HubTables

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT_S = 20.0
_RENEW_EVERY_S = 2.0
_POLL_MAX_S = 1.0
_SEND_CONCURRENCY = 32
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.2,
    "connection_timeout": 5,
}


@dataclass
class _Token:
    received: list[Received]
    history: HistoryState


@dataclass(order=True)
class _Timer:
    fire_at: datetime
    sequence: int
    queue: QueueClient = field(compare=False)
    message_id: str = field(compare=False)
    pop_receipt: str = field(compare=False)
    message: Message = field(compare=False)


class AzureStore(Store):
    def __init__(
        self,
        *,
        connection: str,
        hub: str,
        clock: Clock,
        partitions: int = 4,
        owner: Optional[str] = None,
    ) -> None:
        super().__init__()
        validate_hub(hub)
        self._connection = connection
        self._names = HubNames(hub, partitions)
        self._clock = clock
        self._owner = owner or new_hex()
        self._services: list[Any] = []
        self._control: list[QueueClient] = []
        self._codec: MessageCodec
        self._tables: HubTables
        self._leases: PartitionLeases
        # messages this host holds, by Message.id: pending, deferred, in an episode or an activity
        self._holding: dict[str, Received] = {}
        self._pending: dict[str, list[Received]] = {}
        self._held: dict[str, list[Received]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._locked: set[str] = set()
        self._activity_buffer: asyncio.Queue[Received] = asyncio.Queue()
        self._running_activities = 0
        self._in_flight: dict[str, int] = {}
        self._arrived = asyncio.Event()
        self._timers: list[_Timer] = []
        self._sequence = itertools.count()
        self._unsettled: set[str] = set()
        self._idle = asyncio.Event()
        self._pollers: dict[int, asyncio.Task[None]] = {}
        self._wakeups: dict[int, asyncio.Event] = {}
        self._activity_wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._send_slots = asyncio.Semaphore(_SEND_CONCURRENCY)

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        try:
            tables = TableServiceClient.from_connection_string(self._connection, **_CLIENT_OPTIONS)
            queues = QueueServiceClient.from_connection_string(self._connection, **_CLIENT_OPTIONS)
            blobs = BlobServiceClient.from_connection_string(self._connection, **_CLIENT_OPTIONS)
        except ValueError as error:
            raise StartupError(f"The storage connection string is not valid: {error}") from None
        self._services = [tables, queues, blobs]
        try:
            await asyncio.wait_for(self._create(tables, queues, blobs), _STARTUP_TIMEOUT_S)
        except (ServiceRequestError, asyncio.TimeoutError, OSError) as error:
            await self.close()
            endpoint = getattr(tables, "url", "the storage account")
            raise StartupError(
                f"Cannot reach Azure Storage at {endpoint} ({type(error).__name__}): is Azurite "
                "running? Start it with `make azurite`, or pass --connection."
            ) from None
        except HttpResponseError as error:
            await self.close()
            reason = (error.message or str(error)).splitlines()[0]
            raise StartupError(f"Azure Storage refused the task hub's resources: {reason}") from None
        self._idle.set()
        spawn = asyncio.get_running_loop().create_task
        self._tasks = [
            spawn(self._poll_work_items(), name="work-items"),
            spawn(self._renew(), name="renew-visibility"),
        ]
        await self._leases.start()

    async def _create(
        self, tables: TableServiceClient, queues: QueueServiceClient, blobs: BlobServiceClient
    ) -> None:
        names = self._names
        for table in (names.instances_table, names.history_table):
            try:
                await tables.create_table(table)
            except ResourceExistsError:
                pass
        queue_names = [names.control_queue(p) for p in range(names.partitions)] + [names.work_item_queue]
        for name in queue_names:
            try:
                await queues.create_queue(name)
            except ResourceExistsError:
                pass
        for container in (names.large_messages_container, names.leases_container):
            try:
                await blobs.create_container(container)
            except ResourceExistsError:
                pass
        payloads = LargePayloads(blobs.get_container_client(names.large_messages_container))
        self._codec = MessageCodec(payloads)
        self._payloads = payloads
        self._tables = HubTables(
            tables.get_table_client(names.instances_table),
            tables.get_table_client(names.history_table),
            payloads,
            names.hub,
        )
        self._control = [queues.get_queue_client(names.control_queue(p)) for p in range(names.partitions)]
        self._work_items = queues.get_queue_client(names.work_item_queue)
        self._wakeups = {p: asyncio.Event() for p in range(names.partitions)}
        self._leases = PartitionLeases(
            blobs.get_container_client(names.leases_container),
            names.partitions,
            self._owner,
            acquired=self._partition_acquired,
            lost=self._partition_lost,
        )

    async def close(self) -> None:
        for task in [*self._tasks, *self._pollers.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._pollers.values(), return_exceptions=True)
        self._tasks, self._pollers = [], {}
        if hasattr(self, "_leases"):
            # Hand what we hold back at once, so a restart (or another host) goes on now.
            await asyncio.gather(
                *(set_visibility(r.queue, r.queue_message_id, r.pop_receipt, 0) for r in self._holding.values()),
                return_exceptions=True,
            )
            self._holding.clear()
            await self._leases.stop()
        for service in self._services:
            await service.close()
        self._services = []

    # --- partitions and polling --------------------------------------------------------

    def _partition_acquired(self, partition: int) -> None:
        self._pollers[partition] = asyncio.get_running_loop().create_task(
            self._poll_control(partition), name=f"control-{partition:02d}"
        )

    def _partition_lost(self, partition: int) -> None:
        poller = self._pollers.pop(partition, None)
        if poller is not None:
            poller.cancel()
        for instance_id in list(self._pending):
            if partition_of(instance_id, self._names.partitions) == partition:
                for received in self._pending.pop(instance_id):
                    self._holding.pop(received.message.id, None)
        self._update_idle()

    async def _poll_control(self, partition: int) -> None:
        queue, wakeup = self._control[partition], self._wakeups[partition]
        await self._poll(queue, wakeup, self._accept_control)

    async def _poll_work_items(self) -> None:
        await self._poll(self._work_items, self._activity_wakeup, self._accept_activity)

    async def _poll(self, queue: QueueClient, wakeup: asyncio.Event, accept: Any) -> None:
        """Receives in batches; backs off while the queue is empty, and wakes at once when
        this host sends to it."""
        delay = 0.01
        while True:
            try:
                batch = [
                    message
                    async for message in queue.receive_messages(
                        messages_per_page=32, max_messages=32, visibility_timeout=VISIBILITY_S
                    )
                ]
                for message in batch:
                    await accept(queue, message)
            except (HttpResponseError, ServiceRequestError):
                logger.warning("Reading queue %s failed; retrying.", queue.queue_name, exc_info=True)
                batch = []
            if batch:
                delay = 0.01
                continue
            wakeup.clear()
            try:
                await asyncio.wait_for(wakeup.wait(), delay)
            except asyncio.TimeoutError:
                delay = min(delay * 2, _POLL_MAX_S)

    async def _received(self, queue: QueueClient, raw: Any) -> Optional[Received]:
        """The message, unless this host already holds it (its visibility lapsed and it
        came round again: keep the new pop receipt)."""
        message, blob = await self._codec.decode(raw.content)
        known = self._holding.get(message.id)
        if known is not None:
            known.queue_message_id, known.pop_receipt = raw.id, raw.pop_receipt
            known.renewed_at = asyncio.get_running_loop().time()
            return None
        return Received(message, queue, raw.id, raw.pop_receipt, blob, asyncio.get_running_loop().time())

    async def _accept_control(self, queue: QueueClient, raw: Any) -> None:
        received = await self._received(queue, raw)
        if received is None:
            return
        message = received.message
        now = self._clock.now()
        if message.fire_at is not None and message.fire_at > now:
            # A timer seen before its time (a virtual clock behind, a capped visibility).
            receipt = await set_visibility(
                queue, raw.id, raw.pop_receipt, (message.fire_at - now).total_seconds()
            )
            if receipt is not None:
                self._track_timer(queue, raw.id, receipt, message)
            return
        if message.event["EventType"] in COMPLETION_ID_FIELDS and message.event["EventType"] != EventType.TIMER_FIRED:
            count = self._in_flight.get(message.instance_id, 0)
            if count:
                self._in_flight[message.instance_id] = count - 1
        self._holding[message.id] = received
        instance_id = message.instance_id
        pending = self._pending.setdefault(instance_id, [])
        held = self._held.pop(instance_id, None)
        if held:
            pending[:0] = held
        pending.append(received)
        self._mark_ready(instance_id)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def _accept_activity(self, queue: QueueClient, raw: Any) -> None:
        received = await self._received(queue, raw)
        if received is None:
            return
        self._holding[received.message.id] = received
        self._activity_buffer.put_nowait(received)
        self._idle.clear()

    def _mark_ready(self, instance_id: str) -> None:
        self._idle.clear()
        if instance_id not in self._locked and instance_id not in self._queued:
            self._queued.add(instance_id)
            self._ready.put_nowait(instance_id)

    async def _renew(self) -> None:
        """Keeps invisible what this host still holds."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_RENEW_EVERY_S)
            due = [r for r in self._holding.values() if loop.time() - r.renewed_at > RENEW_AFTER_S]
            for received in due:
                receipt = await set_visibility(
                    received.queue, received.queue_message_id, received.pop_receipt, VISIBILITY_S
                )
                if receipt is not None:
                    received.pop_receipt, received.renewed_at = receipt, loop.time()

    # --- orchestration and entity work ---------------------------------------------

    async def next_work_item(self) -> WorkItem:
        while True:
            instance_id = await self._ready.get()
            self._queued.discard(instance_id)
            received = self._pending.pop(instance_id, [])
            if not received:
                continue
            self._locked.add(instance_id)
            try:
                record, _ = await self._tables.get_record(instance_id)
                history = await self._tables.load_history(
                    instance_id, record.execution_id if record else None
                )
            except (HttpResponseError, ServiceRequestError):
                logger.warning("Loading '%s' failed; will retry.", instance_id, exc_info=True)
                self._pending[instance_id] = received + self._pending.get(instance_id, [])
                self._locked.discard(instance_id)
                await asyncio.sleep(0.5)
                self._mark_ready(instance_id)
                continue
            return WorkItem(
                instance_id=instance_id,
                messages=[r.message for r in received],
                record=record,
                history=history.events,
                token=_Token(received, history),
            )

    async def linger(self, item: WorkItem, *, timeout: float, quiet: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        progress = loop.time()
        while self._in_flight.get(item.instance_id):
            wait = min(deadline, progress + quiet) - loop.time()
            if wait <= 0:
                break
            try:
                await asyncio.wait_for(self._arrived.wait(), wait)
            except asyncio.TimeoutError:
                break
            if self._pending.get(item.instance_id):
                progress = loop.time()
        more = self._pending.pop(item.instance_id, [])
        item.messages.extend(r.message for r in more)
        item.token.received.extend(more)

    async def commit(self, item: WorkItem, checkpoint: Checkpoint) -> None:
        token: _Token = item.token
        instance_id = item.instance_id
        await self._send_all(checkpoint.outgoing)
        record = checkpoint.record
        if record is not None and (
            checkpoint.new_events or checkpoint.replace_history or token.history.stale
        ):
            await self._tables.commit_history(
                instance_id,
                token.history,
                checkpoint.new_events,
                replace=checkpoint.replace_history,
                execution_id=record.execution_id,
                now=self._clock.now(),
            )
        if record is not None and record != item.record:
            await self._tables.put_record(record)
        consumed = {m.id for m in checkpoint.consumed}
        deferred = {m.id for m in checkpoint.deferred}
        done = [r for r in token.received if r.message.id in consumed]
        await asyncio.gather(*(self._forget(r) for r in done))
        held = [r for r in token.received if r.message.id in deferred]
        if held:
            # Nothing happens to them until the instance resumes: they do not keep us busy.
            self._unsettled.difference_update(r.message.id for r in held)
            self._held.setdefault(instance_id, []).extend(held)
        self._unlock(instance_id)

    async def abandon(self, item: WorkItem) -> None:
        token: _Token = item.token
        for received in token.received:
            self._holding.pop(received.message.id, None)
        await asyncio.gather(
            *(set_visibility(r.queue, r.queue_message_id, r.pop_receipt, 0) for r in token.received),
            return_exceptions=True,
        )
        self._unlock(item.instance_id)

    def _unlock(self, instance_id: str) -> None:
        self._locked.discard(instance_id)
        if self._pending.get(instance_id):
            self._mark_ready(instance_id)
        self._update_idle()

    async def _forget(self, received: Received) -> None:
        """Deletes a consumed message (and its large payload)."""
        self._holding.pop(received.message.id, None)
        self._unsettled.discard(received.message.id)
        await delete(received.queue, received.queue_message_id, received.pop_receipt)

    # --- activity work ---------------------------------------------------------------

    async def next_activities(self, *, workers: int, most: int) -> list[Message]:
        first = await self._activity_buffer.get()
        batch = [first]
        share = min(most, -(-(self._activity_buffer.qsize() + 1) // max(workers, 1)))
        while len(batch) < share and not self._activity_buffer.empty():
            batch.append(self._activity_buffer.get_nowait())
        self._running_activities += len(batch)
        return [received.message for received in batch]

    async def complete_activity(self, work: Message, result: Message) -> None:
        await self._send_all([result])
        received = self._holding.get(work.id)
        if received is not None:
            await self._forget(received)
        self._running_activities -= 1
        self._update_idle()

    async def abandon_activity(self, work: Message) -> None:
        received = self._holding.pop(work.id, None)
        if received is not None:
            await set_visibility(received.queue, received.queue_message_id, received.pop_receipt, 0)
        self._running_activities -= 1
        self._update_idle()

    # --- messages and timers -----------------------------------------------------------

    async def send(self, messages: list[Message]) -> None:
        await self._send_all(messages)

    async def _send_all(self, messages: list[Message]) -> None:
        """Messages to one instance go out in order (an entity applies operations in the
        order they were sent); activity work and different instances go out together."""
        ordered: dict[str, list[Message]] = {}
        independent: list[Message] = []
        for message in messages:
            if message.is_activity:
                independent.append(message)
            else:
                ordered.setdefault(message.instance_id, []).append(message)

        async def in_order(group: list[Message]) -> None:
            for message in group:
                await self._send_one(message)

        await asyncio.gather(
            *(self._send_one(message) for message in independent),
            *(in_order(group) for group in ordered.values()),
        )

    async def _send_one(self, message: Message) -> None:
        if message.is_activity:
            queue, partition = self._work_items, None
        else:
            partition = partition_of(message.instance_id, self._names.partitions)
            queue = self._control[partition]
        delay = 0.0
        if message.fire_at is not None:
            delay = (message.fire_at - self._clock.now()).total_seconds()
        text = await self._codec.encode(message)
        async with self._send_slots:
            message_id, receipt = await send(queue, text, delay_s=max(delay, 0))
        if delay > 0:
            self._track_timer(queue, message_id, receipt, message)
            return
        self._settling(message, partition)

    def _settling(self, message: Message, partition: Optional[int]) -> None:
        """Counts a message this host will consume itself, and wakes its reader."""
        if message.is_activity:
            self._in_flight[message.instance_id] = self._in_flight.get(message.instance_id, 0) + 1
            self._unsettled.add(message.id)
            self._activity_wakeup.set()
        elif partition is not None and partition in self._leases.owned:
            self._unsettled.add(message.id)
            self._wakeups[partition].set()
        self._idle.clear()

    def _track_timer(self, queue: QueueClient, message_id: str, receipt: str, message: Message) -> None:
        assert message.fire_at is not None
        heapq.heappush(
            self._timers, _Timer(message.fire_at, next(self._sequence), queue, message_id, receipt, message)
        )
        self.timers_changed.set()

    def next_timer_due(self) -> Optional[datetime]:
        return self._timers[0].fire_at if self._timers else None

    async def release_timers(self, now: datetime) -> int:
        due: list[_Timer] = []
        while self._timers and self._timers[0].fire_at <= now:
            due.append(heapq.heappop(self._timers))
        receipts = await asyncio.gather(
            *(set_visibility(t.queue, t.message_id, t.pop_receipt, 0) for t in due)
        )
        released = 0
        for timer, receipt in zip(due, receipts):
            if receipt is None:
                continue  # it surfaced by itself and was taken already
            released += 1
            partition = partition_of(timer.message.instance_id, self._names.partitions)
            self._settling(timer.message, partition)
        self._update_idle()
        return released

    async def wait_idle(self) -> None:
        while not self._is_idle():
            self._idle.clear()
            await self._idle.wait()

    def _is_idle(self) -> bool:
        return (
            not self._unsettled
            and not self._queued
            and not self._locked
            and self._activity_buffer.empty()
            and self._running_activities == 0
            and not any(self._pending.values())
        )

    def _update_idle(self) -> None:
        if self._is_idle():
            self._idle.set()

    # --- instance management -----------------------------------------------------------

    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        existing, etag = await self._tables.get_record(record.instance_id)
        if existing is not None and existing.status in LIVE_STATUSES:
            raise Conflict(
                f"An Orchestration instance with the status {existing.status.api_name} "
                "already exists."
            )
        try:
            await self._tables.put_record(record, etag=etag, create=existing is None)
        except ConflictError:
            raise Conflict(f"Instance '{record.instance_id}' was started concurrently.") from None
        await self._send_all([start])

    async def get_record(self, instance_id: str) -> Optional[InstanceRecord]:
        record, _ = await self._tables.get_record(instance_id)
        return record

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        record = await self.get_record(instance_id)
        if record is None:
            return []
        return (await self._tables.load_history(instance_id, record.execution_id)).events

    async def query(
        self, query: InstanceQuery, *, top: Optional[int] = None, continuation: Optional[str] = None
    ) -> tuple[list[InstanceRecord], Optional[str]]:
        return await self._tables.query_records(query, top=top, continuation=continuation)

    async def purge(self, instance_id: str) -> bool:
        existed = await self._tables.delete_record(instance_id)
        await self._tables.delete_history(instance_id)
        await self._payloads.delete_under(f"{escape_key(instance_id)}/")
        return existed
