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
    ServiceResponseError,
)
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from ...clock import Clock
from ...errors import Conflict, StartupError
from ...ids import new_hex
from ...protocol import EventType, split_entity_instance_id
from ..base import (
    Checkpoint,
    ConflictError,
    InstanceQuery,
    InstanceRecord,
    Message,
    Store,
    WorkItem,
    discarded,
    ensure_replaceable,
    take_share,
)
from ...caches import LruCache
from ..ready import ReadyInstances
from .leases import PartitionLeases
from .names import HubNames, escape_key, partition_of, validate_hub
from .payloads import LargePayloads
from .queues import RENEW_AFTER_S, VISIBILITY_S, MessageCodec, Received, send, set_visibility
from .tables import HistoryState, HubTables

logger = logging.getLogger(__name__)

# History events kept in memory across all cached instances.
_CACHED_EVENTS = 200_000

_STARTUP_TIMEOUT_S = 20.0
_SHUTDOWN_S = 3.0
_RENEW_EVERY_S = 2.0
_POLL_MAX_S = 1.0
_SEND_CONCURRENCY = 32
_ACTIVITY_BUFFER = 64  # activity messages taken from the queue ahead of the workers
_POLLED_QUIET_S = 0.1
_PACK = 16  # messages to one instance carried by one queue message
_CONTROL_BUFFER = 256  # messages of one control queue held in memory at most
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.2,
    "connection_timeout": 5,
}


@dataclass
class _Token:
    received: list[Received]
    history: HistoryState
    write_row: bool  # the instance row may lag the checkpoint (read after a restart)


@dataclass(order=True)
class _Timer:
    fire_at: datetime
    sequence: int
    queue: QueueClient = field(compare=False)
    message_id: str = field(compare=False)
    pop_receipt: str = field(compare=False)
    message: Message = field(compare=False)


class AzureStore(Store):
    unavailable_errors = (ServiceRequestError, ServiceResponseError, HttpResponseError, OSError)

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
        self._instances: ReadyInstances[Received] = ReadyInstances(self._update_idle)
        self._activity_buffer: asyncio.Queue[Received] = asyncio.Queue()
        self._running_activities = 0
        self._in_flight: dict[str, int] = {}
        self._arrived = asyncio.Event()
        # Each orchestration's checkpoint as this host last committed it. Only the
        # partition's owner writes, so it stays right; if not, the conditional commit
        # fails, the entry is dropped and the next episode reads the tables again.
        # Histories as last committed, by instance: what the next episode starts from
        # without reading storage; bounded by the events they hold.
        self._undoing: dict[str, asyncio.Task[None]] = {}  # starts being undone, by instance
        self._checkpoints: LruCache[str, tuple[InstanceRecord, HistoryState]] = LruCache(
            most=_CACHED_EVENTS, weigh=lambda cached: 1 + len(cached[1].events)
        )
        self._timers: list[_Timer] = []
        self._sequence = itertools.count()
        self._unsettled: set[str] = set()
        self._pollers: dict[int, asyncio.Task[None]] = {}
        self._wakeups: dict[int, asyncio.Event] = {}
        self._activity_wakeup = asyncio.Event()
        self._activity_taken = asyncio.Event()
        self._released = asyncio.Event()
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
            try:
                await asyncio.wait_for(self._hand_back(), _SHUTDOWN_S)
            except (asyncio.TimeoutError, HttpResponseError, ServiceRequestError):
                logger.warning("Storage did not answer at shutdown; held work reappears shortly.")
        for service in self._services:
            await service.close()
        self._services = []

    async def _hand_back(self) -> None:
        """Makes held messages visible and releases the leases at once, so a restart (or
        another host) goes on now instead of when they lapse."""
        await asyncio.gather(*(r.release() for r in self._held_received()), return_exceptions=True)
        self._holding.clear()
        await self._leases.stop()

    # --- partitions and polling --------------------------------------------------------

    def _partition_acquired(self, partition: int) -> None:
        self._pollers[partition] = asyncio.get_running_loop().create_task(
            self._poll_control(partition), name=f"control-{partition:02d}"
        )

    def _partition_lost(self, partition: int) -> None:
        """Another host owns it now: forget its messages (they reappear for the new owner
        when their visibility lapses) and its cached histories."""
        poller = self._pollers.pop(partition, None)
        if poller is not None:
            poller.cancel()

        def mine(instance_id: str) -> bool:
            return partition_of(instance_id, self._names.partitions) == partition

        for received in self._instances.drop(lambda instance_id: not mine(instance_id)):
            received.done = True  # no more renewals, no deletes
            self._unhold(received, settled=True)
        for instance_id in [i for i in self._checkpoints if mine(i)]:
            self._checkpoints.pop(instance_id)
        self._update_idle()

    async def _poll_control(self, partition: int) -> None:
        queue, wakeup = self._control[partition], self._wakeups[partition]

        async def room() -> None:
            """Like the provider's ControlQueueBufferThreshold: past this many messages held
            for the partition, the rest waits in the queue (and needs no renewing)."""
            while self._held_for(partition) >= _CONTROL_BUFFER:
                self._released.clear()
                await self._released.wait()

        await self._poll(queue, wakeup, self._accept_control, room)

    def _held_for(self, partition: int) -> int:
        """Messages waiting for an episode; not those handed back (a suspended instance's),
        which wait for a message that must still be read from this very queue."""
        if len(self._holding) < _CONTROL_BUFFER:
            return 0  # the count below cannot reach the threshold: spare the scan
        deferred = {id(r) for r in self._instances.held_items()}
        return sum(
            1
            for received in self._holding.values()
            if received.queue is self._control[partition] and id(received) not in deferred
        )

    async def _poll_work_items(self) -> None:
        await self._poll(
            self._work_items, self._activity_wakeup, self._accept_activity, self._room_for_activities
        )

    async def _room_for_activities(self) -> None:
        """Takes more activity work only when little is waiting here: what this host
        cannot start soon stays in the queue for the other hosts (and needs no renewal)."""
        while self._activity_buffer.qsize() >= _ACTIVITY_BUFFER:
            self._activity_taken.clear()
            await self._activity_taken.wait()

    async def _poll(
        self, queue: QueueClient, wakeup: asyncio.Event, accept: Any, room: Any
    ) -> None:
        """Receives in batches; backs off while the queue is empty, and wakes at once when
        this host sends to it."""
        delay = 0.01
        while True:
            await room()
            try:
                batch = [
                    message
                    async for message in queue.receive_messages(
                        messages_per_page=32, max_messages=32, visibility_timeout=VISIBILITY_S
                    )
                ]
            except (HttpResponseError, ServiceRequestError):
                logger.warning("Reading queue %s failed; retrying.", queue.queue_name, exc_info=True)
                batch = []
            for message in batch:
                try:
                    await accept(queue, message)
                except (HttpResponseError, ServiceRequestError):
                    logger.warning("Taking a message from %s failed.", queue.queue_name, exc_info=True)
                except Exception:
                    await self._set_aside(queue, message)
            if batch:
                delay = 0.01
                continue
            wakeup.clear()
            try:
                await asyncio.wait_for(wakeup.wait(), delay)
            except asyncio.TimeoutError:
                delay = min(delay * 2, _POLL_MAX_S)

    async def _received(self, queue: QueueClient, raw: Any) -> Optional[Received]:
        """The queue message, unless this host already holds it (its visibility lapsed
        and it came round again: keep the new pop receipt)."""
        messages = await self._codec.decode(raw.content)
        known = self._holding.get(messages[0].id)
        if known is not None:
            async with known.lock:
                known.queue_message_id, known.pop_receipt = raw.id, raw.pop_receipt
                known.renewed_at = asyncio.get_running_loop().time()
            return None
        return Received(messages, queue, raw.id, raw.pop_receipt, asyncio.get_running_loop().time())

    async def _set_aside(self, queue: QueueClient, raw: Any) -> None:
        """A message this host cannot read (another program's, say `func start` on the
        same task hub) is left alone: hidden for an hour, not deleted, reported once."""
        logger.warning(
            "A message in queue %s is not in devhost's format; leaving it alone. Is another "
            "host (func start?) using task hub '%s'? Give each its own hub (--hub).",
            queue.queue_name, self._names.hub, exc_info=logger.isEnabledFor(logging.DEBUG),
        )  # fmt: skip
        try:
            await set_visibility(queue, raw.id, raw.pop_receipt, 3600)
        except (HttpResponseError, ServiceRequestError):
            pass

    def _hold(self, received: Received) -> None:
        for message in received.messages:
            self._holding[message.id] = received

    def _unhold(self, received: Received, *, settled: bool) -> None:
        """Lets go of a queue message; unless `settled`, its messages still count as work
        to come (they go back to the queue and will be received again)."""
        for message in received.messages:
            self._holding.pop(message.id, None)
            if settled:
                self._unsettled.discard(message.id)

    def _held_received(self) -> list[Received]:
        """Each queue message held, once (`_holding` maps every message it carries)."""
        return list({id(r): r for r in self._holding.values()}.values())

    async def _accept_control(self, queue: QueueClient, raw: Any) -> None:
        received = await self._received(queue, raw)
        if received is None:
            return
        first = received.messages[0]
        now = self._clock.now()
        if first.fire_at is not None and first.fire_at > now:
            # A timer seen before its time (a virtual clock behind, a capped visibility).
            receipt = await set_visibility(
                queue, raw.id, raw.pop_receipt, (first.fire_at - now).total_seconds()
            )
            if receipt is not None:
                self._track_timer(queue, raw.id, receipt, first)
            return
        for message in received.messages:
            if message.event["EventType"] in (EventType.TASK_COMPLETED, EventType.TASK_FAILED):
                count = self._in_flight.get(message.instance_id, 0)
                if count:
                    self._in_flight[message.instance_id] = count - 1
        self._hold(received)
        self._idle.clear()
        self._instances.add(received.instance_id, received)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def _accept_activity(self, queue: QueueClient, raw: Any) -> None:
        received = await self._received(queue, raw)
        if received is None:
            return
        self._hold(received)
        self._activity_buffer.put_nowait(received)
        self._idle.clear()

    async def _renew(self) -> None:
        """Keeps invisible what this host still holds."""
        loop = asyncio.get_running_loop()

        async def renew(received: Received) -> None:
            async with self._send_slots:
                try:
                    await received.renew(VISIBILITY_S, loop.time())
                except (HttpResponseError, ServiceRequestError):
                    logger.warning("Renewing a message failed; retrying.", exc_info=True)

        while True:
            await asyncio.sleep(_RENEW_EVERY_S)
            due = [r for r in self._held_received() if loop.time() - r.renewed_at > RENEW_AFTER_S]
            await asyncio.gather(*(renew(received) for received in due))

    # --- orchestration and entity work ---------------------------------------------

    async def next_work_item(self) -> WorkItem:
        while True:
            instance_id, received = await self._instances.take()
            cached = self._checkpoints.get(instance_id)
            try:
                if cached is not None:
                    record, history = cached
                elif split_entity_instance_id(instance_id) is not None:
                    # Entities keep no history; the row's ETag makes their commit conditional.
                    record, row_etag = await self._tables.get_record(instance_id)
                    history = HistoryState([], etag=row_etag)
                else:
                    record, history = await self._tables.load(instance_id)
            except (HttpResponseError, ServiceRequestError):
                logger.warning("Loading '%s' failed; will retry.", instance_id, exc_info=True)
                await asyncio.sleep(0.5)
                self._instances.unlock(instance_id, give_back=received)
                continue
            return WorkItem(
                instance_id=instance_id,
                messages=_unconsumed(received),
                record=record,
                history=history.events,
                token=_Token(received, history, write_row=cached is None),
            )

    async def linger(self, item: WorkItem, *, timeout: float, quiet: float) -> None:
        # Results reach this host a queue poll at a time, not one by one.
        quiet = max(quiet, _POLLED_QUIET_S)
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
            if self._instances.pending(item.instance_id):
                progress = loop.time()
        more = self._instances.more(item.instance_id)
        item.messages.extend(_unconsumed(more))
        item.token.received.extend(more)

    async def commit(self, item: WorkItem, checkpoint: Checkpoint) -> None:
        token: _Token = item.token
        instance_id = item.instance_id
        if self._instances.forgotten(instance_id):
            checkpoint = discarded(item)
        await self._send_all(checkpoint.outgoing)
        if self._instances.forgotten(instance_id):  # purged while the messages went out
            checkpoint = discarded(item)
        record = checkpoint.record
        changed = record is not None and (
            checkpoint.new_events or checkpoint.replace_history or record != item.record
        )
        if record is not None and split_entity_instance_id(instance_id) is not None:
            if changed:  # only if the row is as this episode read it (else ConflictError)
                await self._tables.put_record(
                    record, etag=token.history.etag, create=item.record is None, stored=item.record
                )
        elif record is not None and (changed or token.write_row):
            self._checkpoints.pop(instance_id)
            committed = await self._tables.commit_checkpoint(
                instance_id,
                token.history,
                checkpoint.new_events,
                replace=checkpoint.replace_history,
                record=record,
                previous=item.record,
                now=self._clock.now(),
            )
            if not record.status.is_terminal:
                self._checkpoints[instance_id] = (record, committed)
        consumed = {m.id for m in checkpoint.consumed}
        done: list[Received] = []
        for received in token.received:
            received.remaining -= consumed
            if received.remaining:
                # Handed back (a suspended instance, a start still on its way): nothing
                # happens to them until the next message arrives, so they keep nobody busy.
                self._unsettled.difference_update(received.remaining)
                self._instances.hold(instance_id, [received])
            else:
                done.append(received)
        await asyncio.gather(*(self._forget(r) for r in done))
        self._instances.unlock(instance_id)

    async def abandon(self, item: WorkItem) -> None:
        token: _Token = item.token
        self._instances.forgotten(item.instance_id)  # released messages of a purged one are dropped later
        for received in token.received:
            self._unhold(received, settled=False)
        await asyncio.gather(*(r.release() for r in token.received), return_exceptions=True)
        self._instances.unlock(item.instance_id)

    async def _forget(self, received: Received) -> None:
        """Deletes a queue message whose messages were all consumed."""
        self._unhold(received, settled=True)
        self._released.set()
        await received.delete()

    # --- activity work ---------------------------------------------------------------

    async def next_activities(self, *, workers: int, most: int) -> list[Message]:
        """Whole queue messages (their activities are completed together), a fair share."""
        batch = await take_share(self._activity_buffer, workers=workers, most=most)
        work = [message for received in batch for message in received.messages]
        self._running_activities += len(work)
        self._activity_taken.set()
        return work

    async def complete_activity(self, work: Message, result: Message) -> None:
        """Results of one queue message's activities go back together, in one message,
        once the last of them is done; then that work message is deleted."""
        received = self._holding.get(work.id)
        if received is None:  # released meanwhile: it will run again; report this one anyway
            await self._send_all([result])
        else:
            received.results.append(result)
            received.remaining.discard(work.id)
            if not received.remaining:
                await self._send_all(received.results)
                await self._forget(received)
        self._running_activities -= 1
        self._update_idle()

    async def abandon_activity(self, work: Message) -> None:
        received = self._holding.get(work.id)
        if received is not None:
            self._unhold(received, settled=False)
            received.results.clear()
            await received.release()
        self._running_activities -= 1
        self._update_idle()

    # --- messages and timers -----------------------------------------------------------

    async def send(self, messages: list[Message]) -> None:
        await self._send_all(messages)

    async def _send_all(self, messages: list[Message]) -> None:
        """Packs what goes to one instance into as few queue messages as fit (in order:
        an entity applies operations in the order they were sent); a timer not yet due
        goes alone, invisible until then."""
        now = self._clock.now()
        packs: dict[tuple[bool, str], list[list[Message]]] = {}
        timers: list[Message] = []
        for message in messages:
            if message.fire_at is not None and message.fire_at > now:
                timers.append(message)
                continue
            group = packs.setdefault((message.is_activity, message.instance_id), [[]])
            if len(group[-1]) >= _PACK:
                group.append([])
            group[-1].append(message)

        async def in_order(group: list[list[Message]]) -> None:
            for pack in group:
                await self._send_pack(pack)

        await asyncio.gather(
            *(in_order(group) for group in packs.values()),
            *(self._send_pack([timer], delay=(timer.fire_at - now).total_seconds()) for timer in timers if timer.fire_at),
        )

    async def _send_pack(self, pack: list[Message], delay: float = 0) -> None:
        first = pack[0]
        if first.is_activity:
            queue, partition = self._work_items, None
        else:
            partition = partition_of(first.instance_id, self._names.partitions)
            queue = self._control[partition]
        text = await self._codec.encode(pack)
        async with self._send_slots:
            message_id, receipt = await send(queue, text, delay_s=delay)
        if delay > 0:
            self._track_timer(queue, message_id, receipt, first)
            return
        for message in pack:
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

    def _is_idle(self) -> bool:
        return (
            not self._unsettled
            and not self._instances.busy
            and self._activity_buffer.empty()
            and self._running_activities == 0
        )

    # --- instance management -----------------------------------------------------------

    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        undoing = self._undoing.get(record.instance_id)
        if undoing is not None:  # a start of this id that failed is still being undone
            await asyncio.shield(undoing)
        existing, etag = await self._tables.get_record(record.instance_id)
        ensure_replaceable(existing)
        if existing is not None:  # replacing a finished one: its late episode must not write
            self._instances.note_purged(record.instance_id)
            self._checkpoints.pop(record.instance_id)
        try:
            # A failed row write is undone too: the row may be stored even so (its answer
            # lost on the way back), and with no message it would stay Pending for good.
            await self._tables.put_record(record, etag=etag, create=existing is None, stored=existing)
            await self._send_all([start])
        except ConflictError:
            raise Conflict(f"Instance '{record.instance_id}' was started concurrently.") from None
        except asyncio.CancelledError:
            # The request gave up on storage: undo the row in the background, so the
            # instance is not left Pending forever and a retry with the same id can start
            # it (unless the message got through after all: then the instance runs).
            undo = asyncio.get_running_loop().create_task(self._undo_start(record, existing))
            self._undoing[record.instance_id] = undo
            undo.add_done_callback(lambda _: self._undoing.pop(record.instance_id, None))
            raise
        except BaseException:
            await self._undo_start(record, existing)
            raise

    async def _undo_start(self, record: InstanceRecord, replaced: Optional[InstanceRecord]) -> None:
        try:
            if replaced is None:
                await self._tables.delete_record(record.instance_id)
            else:
                await self._tables.put_record(replaced, stored=record)
        except self.unavailable_errors:
            logger.warning(
                "The start of '%s' failed and its Pending row could not be removed; purge it "
                "or start it again once storage answers.", record.instance_id,
            )  # fmt: skip

    async def get_record(self, instance_id: str) -> Optional[InstanceRecord]:
        record, _ = await self._tables.get_record(instance_id)
        return record

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        return (await self._tables.load(instance_id))[1].events

    async def query(
        self, query: InstanceQuery, *, top: Optional[int] = None, continuation: Optional[str] = None
    ) -> tuple[list[InstanceRecord], Optional[str]]:
        return await self._tables.query_records(query, top=top, continuation=continuation)

    async def purge(self, instance_id: str) -> bool:
        """Its queued messages stay where they are: once received they find no instance
        and are dropped, as DTFx drops them."""
        self._instances.note_purged(instance_id)
        self._checkpoints.pop(instance_id)
        existed = await self._tables.delete_record(instance_id)
        await self._tables.delete_history(instance_id)
        await self._payloads.delete_under(f"{escape_key(instance_id)}/")
        return existed


def _unconsumed(received: list[Received]) -> list[Message]:
    return [m for r in received for m in r.messages if m.id in r.remaining]
