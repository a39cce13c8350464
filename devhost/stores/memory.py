"""The in-process store: dictionaries and queues, for fast tests and `--storage memory`.

It keeps the same contract as the Azure store (one work item per instance at a time,
timers held back until released, held messages of suspended instances) so the engine
cannot tell them apart; it just forgets everything when the process ends.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
from datetime import datetime

from ..clock import Clock
from ..protocol import Event
from ..supervision import Supervisor
from .base import (
    Checkpoint,
    InstanceQuery,
    InstanceRecord,
    Message,
    Store,
    WorkItem,
    decode_continuation,
    discarded,
    encode_continuation,
    ensure_replaceable,
    take_share,
)
from .ready import ReadyInstances

# A page of a query ends after this instance id.
_TOKEN_FIELDS = frozenset({"after"})


class MemoryStore(Store):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock
        self._records: dict[str, InstanceRecord] = {}
        # The records' ids in order, kept as they come and go: a page of a query starts
        # where its token says instead of sorting the hub on every call.
        self._ids: list[str] = []
        self._histories: dict[str, list[Event]] = {}
        self._instances: ReadyInstances[Message] = ReadyInstances(self._update_idle)
        self._activities: asyncio.Queue[Message] = asyncio.Queue()
        self._running_activities = 0
        self._timers: list[tuple[datetime, int, Message]] = []
        self._sequence = itertools.count()

    async def open(self, loops: Supervisor) -> None:
        return None

    async def close(self) -> None:
        return None

    # --- orchestration and entity work ---------------------------------------------

    async def next_work_item(self) -> WorkItem:
        instance_id, messages = await self._instances.take()
        return WorkItem(
            instance_id=instance_id,
            messages=messages,
            record=self._records.get(instance_id),
            history=self._histories.get(instance_id, []),
        )

    async def commit(self, item: WorkItem, checkpoint: Checkpoint) -> None:
        instance_id = item.instance_id
        if self._instances.forgotten(instance_id):
            checkpoint = discarded(item)
        for message in checkpoint.outgoing:
            self._route(message)
        if checkpoint.record is not None:
            self._put(checkpoint.record)
        if checkpoint.replace_history:
            self._histories[instance_id] = list(checkpoint.new_events)
        elif checkpoint.new_events:
            self._histories.setdefault(instance_id, []).extend(checkpoint.new_events)
        self._instances.hold(instance_id, checkpoint.deferred)
        self._instances.unlock(instance_id, history_changed=checkpoint.changes_history)

    def more(self, item: WorkItem) -> list[Message]:
        arrived = self._instances.more(item.instance_id)
        item.messages.extend(arrived)
        return arrived

    async def abandon(self, item: WorkItem) -> None:
        gone = self._instances.forgotten(item.instance_id)
        self._instances.unlock(item.instance_id, give_back=[] if gone else item.messages)

    # --- activity work ---------------------------------------------------------------

    async def next_activities(self, *, workers: int, most: int) -> list[Message]:
        batch = await take_share(self._activities, workers=workers, most=most)
        self._running_activities += len(batch)
        return batch

    async def complete_activity(self, work: Message, result: Message) -> None:
        self._route(result)
        self._running_activities -= 1
        self._update_idle()

    async def abandon_activity(self, work: Message) -> None:
        self._running_activities -= 1
        self._activities.put_nowait(work)

    # --- messages and timers -----------------------------------------------------------

    async def send(self, messages: list[Message]) -> None:
        for message in messages:
            self._route(message)
        self._update_idle()

    def _route(self, message: Message) -> None:
        if message.fire_at is not None and message.fire_at > self._clock.now():
            heapq.heappush(self._timers, (message.fire_at, next(self._sequence), message))
            self.timers_changed.set()
        elif message.is_activity:
            self._activities.put_nowait(message)
        else:
            self._instances.add(message.instance_id, message)
        self._idle.clear()

    def next_timer_due(self) -> datetime | None:
        return self._timers[0][0] if self._timers else None

    async def release_timers(self, now: datetime) -> list[Message]:
        due: list[Message] = []
        while self._timers and self._timers[0][0] <= now:
            due.append(heapq.heappop(self._timers)[2])
        # Routed only once all are out: `_route` holds back again a timer still due in
        # the clock's future (`now` ahead of the clock), which must not be popped twice.
        released = [message for message in due if message.instance_id in self._records]
        for message in released:  # a purged instance's timer is dropped
            self._route(message)
        self._update_idle()
        return released

    def _is_idle(self) -> bool:
        return not self._instances.busy and self._activities.empty() and self._running_activities == 0

    # --- instance management -----------------------------------------------------------

    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        ensure_replaceable(self._records.get(record.instance_id))
        self._put(record)
        self._histories[record.instance_id] = []
        self._instances.forget(record.instance_id)
        self._route(start)

    def _put(self, record: InstanceRecord) -> None:
        if record.instance_id not in self._records:
            bisect.insort(self._ids, record.instance_id)
        self._records[record.instance_id] = record

    async def get_record(self, instance_id: str) -> InstanceRecord | None:
        return self._records.get(instance_id)

    async def get_history(self, instance_id: str) -> list[Event]:
        return list(self._histories.get(instance_id, []))

    async def query(
        self, query: InstanceQuery, *, top: int | None = None, continuation: str | None = None
    ) -> tuple[list[InstanceRecord], str | None]:
        after = decode_continuation(continuation, _TOKEN_FIELDS).get("after") if continuation else None
        ids = self._ids
        start = bisect.bisect_right(ids, after) if after is not None else 0
        if query.instance_id_prefix:
            start = max(start, bisect.bisect_left(ids, query.instance_id_prefix))
        page: list[InstanceRecord] = []
        for index in range(start, len(ids)):
            instance_id = ids[index]
            if query.instance_id_prefix and not instance_id.startswith(query.instance_id_prefix):
                break  # past the ids with the prefix
            record = self._records[instance_id]
            if not query.matches(record):
                continue
            if top is not None and len(page) == top:
                return page, encode_continuation({"after": page[-1].instance_id})
            page.append(record)
        return page, None

    async def purge(self, instance_id: str) -> bool:
        existed = self._records.pop(instance_id, None) is not None
        if existed:
            del self._ids[bisect.bisect_left(self._ids, instance_id)]
        self._histories.pop(instance_id, None)
        self._instances.forget(instance_id)
        return existed
