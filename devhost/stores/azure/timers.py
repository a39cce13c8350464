"""Timers on the Azure store: queue messages invisible until due, and what a virtual
clock needs on top of them.

With the system clock a timer's message surfaces by itself. With a virtual clock this
host makes it visible when the clock reaches it, so it remembers the timers it sent
(`TimerBook`). A virtual clock on a persistent hub also outlives the host: its time is
kept in a blob beside the partition leases (`VirtualTime`), so a restart goes on from
the same moment instead of going back to the real time, and the timers an earlier run
created are found in the histories of the instances still running
(`timers_in_history`), so they fire once the clock passes them. A timer found that way
is released as a new message; if its original surfaces too, the orchestration drops it
as a duplicate (its TimerId is in history).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient
from azure.storage.queue.aio import QueueClient

from ...protocol import EventType, OrchestrationStatus, events, format_timestamp, parse_timestamp
from ..base import InstanceQuery, Message
from .tables import HubTables

_VIRTUAL_TIME_BLOB = "virtual-clock.json"
_WAITING = frozenset({OrchestrationStatus.RUNNING, OrchestrationStatus.SUSPENDED})


@dataclass(frozen=True)
class Queued:
    """The invisible queue message that carries a timer."""

    queue: QueueClient
    message_id: str
    pop_receipt: str


@dataclass(order=True)
class PendingTimer:
    fire_at: datetime
    sequence: int
    message: Message = field(compare=False)
    queued: Queued | None = field(compare=False, default=None)  # None: found in history


class TimerBook:
    """The timers this host will release itself, earliest first."""

    def __init__(self, changed: asyncio.Event) -> None:
        self._heap: list[PendingTimer] = []
        self._sequence = itertools.count()
        self._changed = changed  # wakes a timer loop that sleeps until the earliest

    def track(self, message: Message, queued: Queued | None = None) -> None:
        assert message.fire_at is not None
        heapq.heappush(self._heap, PendingTimer(message.fire_at, next(self._sequence), message, queued))
        self._changed.set()

    def next_due(self) -> datetime | None:
        return self._heap[0].fire_at if self._heap else None

    def take_due(self, now: datetime) -> list[PendingTimer]:
        due: list[PendingTimer] = []
        while self._heap and self._heap[0].fire_at <= now:
            due.append(heapq.heappop(self._heap))
        return due


class VirtualTime:
    """A hub's virtual clock reading, kept across restarts."""

    def __init__(self, container: ContainerClient) -> None:
        self._blob = container.get_blob_client(_VIRTUAL_TIME_BLOB)

    async def load(self) -> datetime | None:
        try:
            stored = await (await self._blob.download_blob()).readall()
        except ResourceNotFoundError:
            return None
        return parse_timestamp(json.loads(stored)["now"])

    async def save(self, now: datetime) -> None:
        await self._blob.upload_blob(json.dumps({"now": format_timestamp(now)}), overwrite=True)


async def timers_in_history(tables: HubTables) -> list[Message]:
    """The TimerFired messages still due to the orchestrations that are waiting."""
    due: list[Message] = []
    continuation: str | None = None
    query = InstanceQuery(statuses=_WAITING, entities=False)
    while True:
        records, continuation = await tables.query_records(query, top=500, continuation=continuation)
        for listed in records:
            # The checkpoint's own record: the row may lag it (written after the sentinel).
            record, history = await tables.load(listed.instance_id)
            if record is None or record.status not in _WAITING:
                continue
            created = {
                e["EventId"]: parse_timestamp(e["FireAt"])
                for e in history.events
                if e["EventType"] == EventType.TIMER_CREATED
            }
            for fired in (e for e in history.events if e["EventType"] == EventType.TIMER_FIRED):
                created.pop(fired["TimerId"], None)
            due += [
                Message(
                    record.instance_id,
                    events.timer_fired(fire_at, timer_id, fire_at),
                    record.execution_id,
                    fire_at=fire_at,
                )
                for timer_id, fire_at in created.items()
            ]
        if continuation is None:
            return due
