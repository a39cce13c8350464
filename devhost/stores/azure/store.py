"""The Azure Storage store: Azurite locally, a real storage account unchanged.

Control queues are read by the partitions this host leases; their messages wait in
memory, grouped by instance, until an episode takes them, and are deleted only after the
episode's checkpoint is written (outgoing messages first, then history and instance row,
then the deletes, as DTFx does). The work-item queue is shared by every host. A crash at
any step leaves messages that reappear within seconds, and the receivers drop what they
have already seen.

This file is the `Store` contract over the pieces: opening the hub (hub.py), what this
host reads (receiving.py, polling.py), held messages and their renewal (holding.py), sending (sending.py),
timers and the virtual clock (timers.py), tables (tables.py), leases (leases.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.storage.queue.aio import QueueClient

from ...caches import LruCache
from ...clock import Clock, VirtualClock
from ...config import DEFAULT_VISIBILITY_S
from ...connections import StorageConnection
from ...ids import new_hex
from ...protocol import split_entity_instance_id
from ...supervision import Supervisor
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
from ..ready import ReadyInstances
from .holding import Holding
from .hub import Hub, open_hub
from .leases import PartitionLeases
from .names import HubNames, escape_key, partition_of, validate_hub
from .queues import Received, set_visibility
from .receiving import Receiver
from .sending import Sender
from .tables import HistoryState
from .timers import PendingTimer, Queued, TimerBook, VirtualTime, timers_in_history

logger = logging.getLogger(__name__)

# History events kept in memory across all cached instances.
_CACHED_EVENTS = 200_000
_SHUTDOWN_S = 3.0


@dataclass
class _Token:
    received: list[Received]
    history: HistoryState
    write_row: bool  # the instance row may lag the checkpoint (read after a restart)


class AzureStore(Store):
    unavailable_errors = (ServiceRequestError, ServiceResponseError, HttpResponseError, OSError)
    # Results reach this host a queue poll at a time, not one by one.
    arrival_granularity = 0.1

    def __init__(
        self,
        *,
        connection: StorageConnection,
        hub: str,
        clock: Clock,
        partitions: int = 4,
        control_queue_buffer: int = 256,
        visibility_s: tuple[float, float] = (DEFAULT_VISIBILITY_S, DEFAULT_VISIBILITY_S),
        owner: str | None = None,
    ) -> None:
        """`visibility_s`: how long received control and work-item messages stay
        invisible to other hosts (renewed while this host holds them)."""
        super().__init__()
        validate_hub(hub)
        self._connection = connection
        self._names = HubNames(hub, partitions)
        self._control_queue_buffer = control_queue_buffer
        self._visibility_s = visibility_s
        self._clock = clock
        self._owner = owner or new_hex()
        self._hub: Hub | None = None
        self._loops: Supervisor
        self._leases: PartitionLeases
        self._sender: Sender
        self._holding: Holding
        self._receiver: Receiver
        self._instances: ReadyInstances[Received] = ReadyInstances(self._update_idle)
        self._running_activities = 0
        # Each orchestration's checkpoint as this host last committed it, what the next
        # episode starts from without reading storage; bounded by the events held. Only
        # the partition's owner writes, so it stays right; if not, the conditional commit
        # fails, the entry is dropped and the next episode reads the tables again.
        self._checkpoints: LruCache[str, tuple[InstanceRecord, HistoryState]] = LruCache(
            most=_CACHED_EVENTS, weigh=lambda cached: 1 + len(cached[1].events)
        )
        self._timers = TimerBook(self.timers_changed)
        self._virtual_time: VirtualTime | None = None

    def is_rejection(self, error: Exception) -> bool:
        # 400 (a key, property or value the service cannot hold) and 413 (too large);
        # not 401/403 or 404, which are about the account or hub, not this payload.
        return isinstance(error, HttpResponseError) and error.status_code in (400, 413)

    @property
    def hub(self) -> Hub:
        assert self._hub is not None, "the store is not open"
        return self._hub

    # --- lifecycle -------------------------------------------------------------------

    async def open(self, loops: Supervisor) -> None:
        self._loops = loops
        self._hub = hub = await open_hub(self._connection, self._names)
        self._sender = Sender(hub.codec, self._clock, self._route, sent=self._settling, timer_sent=self._timer_sent)
        self._holding = Holding(self._sender.slots, min(self._visibility_s))
        self._receiver = Receiver(
            hub,
            self._clock,
            self._holding,
            self._instances,
            self._timers,
            busy=self._idle.clear,
            control_buffer=self._control_queue_buffer,
            visibility_s=self._visibility_s,
        )
        if isinstance(self._clock, VirtualClock):
            try:
                await self._resume_virtual_time(hub)
            except BaseException:
                await hub.close()
                self._hub = None
                raise
        self._leases = PartitionLeases(
            hub.leases, self._names.partitions, self._owner,
            acquired=self._partition_acquired, lost=self._partition_lost,
        )  # fmt: skip
        self._receiver.start(loops)
        # Renewals must come round within the messages' visibility (and the leases').
        loops.spawn("renew-visibility", self._holding.renew, max_backoff=1.0)
        await self._leases.start(loops)

    async def _resume_virtual_time(self, hub: Hub) -> None:
        """A virtual clock goes on from this hub's last virtual time, and the timers an
        earlier run created fire once it passes them (see timers.py)."""
        assert isinstance(self._clock, VirtualClock)
        self._virtual_time = VirtualTime(hub.leases)
        saved = await self._virtual_time.load()
        if saved is not None:
            self._clock.set(saved)
        for timer in await timers_in_history(hub.tables):
            self._timers.track(timer)

    async def clock_moved(self, now: datetime) -> None:
        if self._virtual_time is not None:
            await self._virtual_time.save(now)

    async def close(self) -> None:
        """Called once the loops stopped: hands back what this host held and its leases
        at once, so a restart (or another host) goes on now instead of when they lapse."""
        if self._hub is None:
            return
        try:
            await asyncio.wait_for(self._hand_back(), _SHUTDOWN_S)
        except (TimeoutError, *self.unavailable_errors):
            logger.warning("Storage did not answer at shutdown; held work reappears shortly.")
        await self._hub.close()
        self._hub = None

    async def _hand_back(self) -> None:
        await self._holding.hand_back()
        await self._leases.stop()

    # --- partitions -------------------------------------------------------------------

    def _partition_acquired(self, partition: int) -> None:
        self._receiver.poll_partition(self._loops, partition)

    def commits_here(self, instance_id: str) -> bool:
        return partition_of(instance_id, self._names.partitions) in self._leases.owned

    def _partition_lost(self, partition: int) -> None:
        """Another host owns it now: forget its messages (they reappear for the new owner
        when their visibility lapses), its cached histories and what it was to consume."""
        self._receiver.stop_partition(self._loops, partition)

        def mine(instance_id: str) -> bool:
            return partition_of(instance_id, self._names.partitions) == partition

        for received in self._instances.drop(lambda instance_id: not mine(instance_id)):
            received.done = True  # no more renewals, no deletes
            self._holding.unhold(received, settled=True)
        for instance_id in [i for i in self._checkpoints if mine(i)]:
            self._checkpoints.pop(instance_id)
        self._holding.forget_instances(mine)
        self._update_idle()

    # --- orchestration and entity work ---------------------------------------------

    async def next_work_item(self) -> WorkItem:
        instance_id, received = await self._instances.take()
        cached = self._checkpoints.get(instance_id)
        record: InstanceRecord | None
        try:
            if cached is not None:
                record, history = cached
            elif split_entity_instance_id(instance_id) is not None:
                # Entities keep no history; the row's ETag makes their commit conditional.
                record, row_etag = await self.hub.tables.get_record(instance_id)
                history = HistoryState([], etag=row_etag)
            else:
                record, history = await self.hub.tables.load(instance_id)
        except BaseException:
            self._instances.unlock(instance_id, give_back=received)
            raise  # the supervisor retries the worker
        return WorkItem(
            instance_id=instance_id,
            messages=_unconsumed(received),
            record=record,
            history=history.events,
            token=_Token(received, history, write_row=cached is None),
        )

    def more(self, item: WorkItem) -> list[Message]:
        arrived = self._instances.more(item.instance_id)
        item.token.received.extend(arrived)
        messages = _unconsumed(arrived)
        item.messages.extend(messages)
        return messages

    async def commit(self, item: WorkItem, checkpoint: Checkpoint) -> None:
        token: _Token = item.token
        instance_id = item.instance_id
        if self._instances.forgotten(instance_id):
            checkpoint = discarded(item)
        await self._sender.send(checkpoint.outgoing)
        if self._instances.forgotten(instance_id):  # purged while the messages went out
            checkpoint = discarded(item)
        await self._write(item, checkpoint)
        consumed = {m.id for m in checkpoint.consumed}
        self._holding.settle(consumed)  # also those of a queue message still partly held
        done: list[Received] = []
        for received in token.received:
            received.remaining -= consumed
            if received.remaining:
                # Handed back (a suspended instance, a start still on its way, an early
                # answer): they wait for the next arrival or history change, and keep
                # `wait_idle` waiting for nobody meanwhile.
                self._holding.settle(received.remaining)
                self._instances.hold(instance_id, [received])
            else:
                done.append(received)
        await asyncio.gather(*(self._forget(r) for r in done))
        self._instances.unlock(instance_id, history_changed=checkpoint.changes_history)

    async def _write(self, item: WorkItem, checkpoint: Checkpoint) -> None:
        """The checkpoint's row and history, conditional on what the episode read."""
        token: _Token = item.token
        record = checkpoint.record
        if record is None:
            return
        changed = checkpoint.new_events or checkpoint.replace_history or record != item.record
        tables = self.hub.tables
        if split_entity_instance_id(item.instance_id) is not None:
            if changed:  # only if the row is as this episode read it (else ConflictError)
                await tables.put_record(
                    record, etag=token.history.etag, create=item.record is None, stored=item.record,
                    drop_replaced=True,  # the row is an entity's only reader of its state
                )  # fmt: skip
            return
        if not (changed or token.write_row):
            return
        self._checkpoints.pop(item.instance_id)
        committed = await tables.commit_checkpoint(
            item.instance_id,
            token.history,
            checkpoint.new_events,
            replace=checkpoint.replace_history,
            record=record,
            previous=item.record,
            now=self._clock.now(),
        )
        if not record.status.is_terminal:
            self._checkpoints[item.instance_id] = (record, committed)

    async def abandon(self, item: WorkItem) -> None:
        token: _Token = item.token
        self._instances.forgotten(item.instance_id)  # released messages of a purged one are dropped later
        for received in token.received:
            self._holding.unhold(received, settled=False)
        await asyncio.gather(*(r.release() for r in token.received), return_exceptions=True)
        self._instances.unlock(item.instance_id)

    async def _forget(self, received: Received) -> None:
        """Deletes a queue message whose messages were all consumed."""
        self._holding.unhold(received, settled=True)
        self._receiver.released()
        await received.delete()

    # --- activity work ---------------------------------------------------------------

    async def next_activities(self, *, workers: int, most: int) -> list[Message]:
        """A fair share of the activities received; one whose queue message was released
        meanwhile (a fellow activity's result could not be sent) is left out: it comes
        round again with that message."""
        while True:
            batch = await take_share(self._receiver.activities, workers=workers, most=most)
            self._receiver.activities_taken()
            work = [message for message in batch if self._holding.get(message.id) is not None]
            if work:
                self._running_activities += len(work)
                return work
            self._update_idle()

    async def complete_activity(self, work: Message, result: Message) -> None:
        """Results of one queue message's activities go back together, in one message,
        once the last of them is done; then that work message is deleted."""
        received = self._holding.get(work.id)
        if received is None:  # released meanwhile: it will run again; report this one anyway
            await self._sender.send([result])
        else:
            received.results.append(result)
            received.remaining.discard(work.id)
            if not received.remaining:
                await self._sender.send(received.results)
                await self._forget(received)
        self._running_activities -= 1
        self._update_idle()

    async def abandon_activity(self, work: Message) -> None:
        received = self._holding.get(work.id)
        if received is not None:
            self._holding.unhold(received, settled=False)
            received.results.clear()
            await received.release()
        self._running_activities -= 1
        self._update_idle()

    # --- messages and timers -----------------------------------------------------------

    async def send(self, messages: list[Message]) -> None:
        await self._sender.send(messages)

    def _route(self, message: Message) -> tuple[QueueClient, int | None]:
        if message.is_activity:
            return self.hub.work_items, None
        partition = partition_of(message.instance_id, self._names.partitions)
        return self.hub.control[partition], partition

    def _settling(self, message: Message, partition: int | None, queue_message_id: str) -> None:
        """Counts a message this host will consume itself, and wakes its reader."""
        if message.is_activity or (partition is not None and partition in self._leases.owned):
            self._holding.expect(message)
            self._receiver.wake(partition, queue_message_id)
        self._idle.clear()

    def _timer_sent(self, message: Message, queued: Queued) -> None:
        self._timers.track(message, queued)

    def next_timer_due(self) -> datetime | None:
        return self._timers.next_due()

    async def release_timers(self, now: datetime) -> list[Message]:
        """A timer whose release storage fails goes back in the book, to be released by
        the next try (the timer loop's, or the next advance)."""
        due = self._timers.take_due(now)
        outcomes = await asyncio.gather(*(self._release(timer) for timer in due), return_exceptions=True)
        failed = [(timer, o) for timer, o in zip(due, outcomes, strict=False) if isinstance(o, BaseException)]
        for timer, _ in failed:
            self._timers.track(timer.message, timer.queued)
        self._update_idle()
        if failed:
            raise failed[0][1]
        return [timer.message for timer, released in zip(due, outcomes, strict=False) if released is True]

    async def _release(self, timer: PendingTimer) -> bool:
        """Makes one timer deliverable; False if it surfaced by itself and was taken."""
        queued = timer.queued
        if queued is None:  # found in history: it goes out as a new message
            await self._sender.send([timer.message])
            return True
        if await set_visibility(queued.queue, queued.message_id, queued.pop_receipt, 0) is None:
            return False
        partition = partition_of(timer.message.instance_id, self._names.partitions)
        self._settling(timer.message, partition, queued.message_id)
        return True

    def _is_idle(self) -> bool:
        return (
            not self._holding.unsettled
            and not self._instances.busy
            and self._receiver.activities.empty()
            and self._running_activities == 0
        )

    # --- instance management -----------------------------------------------------------

    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        """The start message goes first, then the Pending row, as DTFx's
        `CreateTaskOrchestrationAsync` does: once the message is out the instance runs,
        whatever happens to this host or the row write next (its first episode writes
        the row anyway); if the message cannot be sent, nothing was written and the
        same start can simply be retried. No Pending row is written before its message."""
        tables = self.hub.tables
        existing, etag = await tables.get_record(record.instance_id)
        ensure_replaceable(existing)
        if existing is not None:  # replacing a finished one: its late episode must not write
            self._instances.note_purged(record.instance_id)
            self._checkpoints.pop(record.instance_id)
        elif self.commits_here(record.instance_id) and tables.fits_in_row(record):
            # A new instance has no history: its first episode here need not read the
            # tables to learn that (the sentinel's insert is conditional all the same).
            # Not with values the row write below still has to put in blobs.
            self._checkpoints[record.instance_id] = (record, HistoryState(events=[]))
        try:
            await self._sender.send([start])
        except BaseException:
            self._checkpoints.pop(record.instance_id)
            raise
        # A conflict: the row changed since it was read, as the first episode wrote it
        # already, or a concurrent start of the same id did (whose start message is then
        # dropped as a duplicate start). DTFx's `SetNewExecutionAsync` ignores this too.
        with contextlib.suppress(ConflictError):
            await tables.put_record(record, etag=etag, create=existing is None, stored=existing)

    async def get_record(self, instance_id: str) -> InstanceRecord | None:
        record, _ = await self.hub.tables.get_record(instance_id)
        return record

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        return (await self.hub.tables.load(instance_id))[1].events

    async def query(
        self, query: InstanceQuery, *, top: int | None = None, continuation: str | None = None
    ) -> tuple[list[InstanceRecord], str | None]:
        return await self.hub.tables.query_records(query, top=top, continuation=continuation)

    async def purge(self, instance_id: str) -> bool:
        """Its queued messages stay where they are: once received they find no instance
        and are dropped, as DTFx drops them."""
        self._instances.note_purged(instance_id)
        self._checkpoints.pop(instance_id)
        tables = self.hub.tables
        existed = await tables.delete_record(instance_id)
        await tables.delete_history(instance_id)
        await self.hub.payloads.delete_under(f"{escape_key(instance_id)}/")
        return existed


def _unconsumed(received: list[Received]) -> list[Message]:
    return [m for r in received for m in r.messages if m.id in r.remaining]
