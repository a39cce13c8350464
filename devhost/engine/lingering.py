"""Batching of what arrives for an instance: before replaying it, keep collecting while
more keeps coming, so a stream of arrivals becomes one replay instead of many. One
policy for every store; the stores only say when something arrived and hand over what
did.

Two cases make an episode wait:

- *Results due*: the instance scheduled more activities than results reached it. The
  count is exact, so the wait ends as soon as the last one is in.
- *A stream*: external events, entity responses, timers and sub-orchestration outcomes
  have no count to expect, but when they come in a stream (several in the work item, or
  the instance's previous episode of such arrivals ended moments ago) more are likely.
  The first arrival of a quiet instance is replayed at once; only the ones on its heels
  wait.

Either wait lasts while arrivals keep coming within a quiet gap of `_QUIET_S` or half the
instance's last episode, whichever is longer (at least the store's
`arrival_granularity`), for at most `_FACTOR` times that episode, at least `_FLOOR_S` and
never more than `_CAP_S`. So a reaction is delayed by at most the quiet gap once arrivals
stop, and the time spent waiting stays proportional to the replay it saves: the SDK
replays the whole history every episode, so an orchestration that waits for 500 events
one by one would otherwise replay a growing history hundreds of times.

What is kept per instance (results due, last episode's cost, when its last stream
ended) is released when the instance ends, and bounded for entities and instances this
host stops seeing (another host took their partition).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ..caches import LruCache
from ..protocol import EventType
from ..stores.base import Checkpoint, Message, Store, WorkItem

_QUIET_S = 0.01
_FACTOR = 10.0
_FLOOR_S = 0.05
_CAP_S = 5.0
_REMEMBERED = 10_000

_RESULTS = frozenset({EventType.TASK_COMPLETED, EventType.TASK_FAILED})
# What may come in a stream with nothing to count it by.
_STREAMED = frozenset(
    {
        EventType.EVENT_RAISED,
        EventType.TIMER_FIRED,
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
    }
)


def _count(messages: Iterable[Message], kinds: frozenset[EventType]) -> int:
    return sum(1 for message in messages if message.event["EventType"] in kinds)


class Lingering:
    def __init__(self) -> None:
        self._due: LruCache[str, int] = LruCache(most=_REMEMBERED)  # results still to come
        self._cost: LruCache[str, float] = LruCache(most=_REMEMBERED)  # last episode, seconds
        self._streamed: LruCache[str, float] = LruCache(most=_REMEMBERED)  # loop time its last stream ended

    async def gather(self, store: Store, item: WorkItem) -> None:
        """Adds what arrives for `item` while the policy says to wait."""
        instance_id = item.instance_id
        last = self._cost.get(instance_id)
        if last is None:
            return
        loop = asyncio.get_running_loop()
        due = (self._due.get(instance_id) or 0) - _count(item.messages, _RESULTS)
        span = min(max(last * _FACTOR, _FLOOR_S), _CAP_S)
        streamed = _count(item.messages, _STREAMED)
        ended = self._streamed.get(instance_id)
        streaming = streamed > 1 or (streamed == 1 and ended is not None and loop.time() - ended < span)
        if due <= 0 and not streaming:
            return
        quiet = max(_QUIET_S, last / 2, store.arrival_granularity)
        deadline = loop.time() + span
        progress = loop.time()
        while True:
            wait = min(deadline, progress + quiet) - loop.time()
            if wait <= 0 or not await store.next_arrival(wait):
                return
            arrived = store.more(item)
            if arrived:
                progress = loop.time()
                due -= _count(arrived, _RESULTS)
                if due <= 0 and not streaming:
                    return

    def committed(self, item: WorkItem, checkpoint: Checkpoint, seconds: float) -> None:
        """Notes what an episode consumed and scheduled; forgets an instance that ended."""
        instance_id = item.instance_id
        record = checkpoint.record
        if record is None or record.status.is_terminal:
            for kept in (self._due, self._cost, self._streamed):
                kept.pop(instance_id)
            return
        due = max(0, (self._due.get(instance_id) or 0) - _count(item.messages, _RESULTS))
        due += sum(1 for m in checkpoint.outgoing if m.is_activity and m.instance_id == instance_id)
        if due:
            self._due[instance_id] = due
        else:
            self._due.pop(instance_id)
        self._cost[instance_id] = seconds
        if _count(item.messages, _STREAMED):
            self._streamed[instance_id] = asyncio.get_running_loop().time()
