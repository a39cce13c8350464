"""Batching of results: before replaying an instance whose activities are still out,
keep collecting their results while they keep coming, so a stream of results becomes
one replay instead of many. One policy for every store; the stores only say when
something arrived and hand over what did.

The wait lasts while results are still due (the instance scheduled more activities
than results reached it) and each keeps coming within a quiet gap of `_QUIET_S` or half
the instance's last episode, whichever is longer (at least the store's
`arrival_granularity`), for at most `_FACTOR` times that episode, at least `_FLOOR_S` and
never more than `_CAP_S`. A slow activity delays the reaction by the quiet gap only.

What is kept per instance (results due, last episode's cost) is released when the
instance ends, and bounded for entities and instances this host stops seeing (another
host took their partition).
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


def _results(messages: Iterable[Message]) -> int:
    return sum(1 for message in messages if message.event["EventType"] in _RESULTS)


class Lingering:
    def __init__(self) -> None:
        self._due: LruCache[str, int] = LruCache(most=_REMEMBERED)  # results still to come
        self._cost: LruCache[str, float] = LruCache(most=_REMEMBERED)  # last episode, seconds

    async def gather(self, store: Store, item: WorkItem) -> None:
        """Adds the results that arrive for `item` while the policy says to wait."""
        instance_id = item.instance_id
        last = self._cost.get(instance_id)
        due = (self._due.get(instance_id) or 0) - _results(item.messages)
        if last is None or due <= 0:
            return
        loop = asyncio.get_running_loop()
        quiet = max(_QUIET_S, last / 2, store.arrival_granularity)
        deadline = loop.time() + min(max(last * _FACTOR, _FLOOR_S), _CAP_S)
        progress = loop.time()
        while due > 0:
            wait = min(deadline, progress + quiet) - loop.time()
            if wait <= 0 or not await store.next_arrival(wait):
                return
            arrived = store.more(item)
            if arrived:
                progress = loop.time()
                due -= _results(arrived)

    def committed(self, item: WorkItem, checkpoint: Checkpoint, seconds: float) -> None:
        """Notes what an episode consumed and scheduled; forgets an instance that ended."""
        instance_id = item.instance_id
        record = checkpoint.record
        if record is None or record.status.is_terminal:
            self._due.pop(instance_id)
            self._cost.pop(instance_id)
            return
        due = max(0, (self._due.get(instance_id) or 0) - _results(item.messages))
        due += sum(1 for m in checkpoint.outgoing if m.is_activity and m.instance_id == instance_id)
        if due:
            self._due[instance_id] = due
        else:
            self._due.pop(instance_id)
        self._cost[instance_id] = seconds
