"""What this host reads: the control queues of the partitions it leases, and the
work-item queue every host shares; and how much it takes ahead of its workers.

A control message goes to the instance it is for (`ReadyInstances`), held (holding.py)
until an episode consumes it. The activities a work-item message carries (up to 16, see
sending.py) wait in `activities` one by one, so the workers share them as they share
any other burst: packed together, they would run one after another in one worker.
A timer seen before its time (a virtual clock behind, a visibility capped at 7 days) is
hidden again until due and handed to the timer book. An activity's result settles the
work message it answers, wherever that ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from azure.storage.queue.aio import QueueClient

from ...clock import Clock
from ...supervision import Supervisor
from ..base import Message
from ..ready import ReadyInstances
from .holding import Holding
from .hub import Hub
from .polling import Wakeup, poll
from .queues import Received, set_visibility
from .timers import Queued, TimerBook

_ACTIVITY_BUFFER = 256  # activities taken from the queue ahead of the workers


class Receiver:
    def __init__(
        self,
        hub: Hub,
        clock: Clock,
        holding: Holding,
        instances: ReadyInstances[Received],
        timers: TimerBook,
        *,
        busy: Callable[[], None],
        control_buffer: int,
        visibility_s: tuple[float, float],
    ) -> None:
        """`busy` is called whenever work arrives (the store's idle check); at most
        `control_buffer` control queue messages are held at once, over all partitions;
        received control and work-item messages stay invisible for `visibility_s`."""
        self._hub = hub
        self._clock = clock
        self._holding = holding
        self._instances = instances
        self._timers = timers
        self._busy = busy
        self._control_buffer = control_buffer
        self._control_visibility_s, self._work_item_visibility_s = visibility_s
        self.activities: asyncio.Queue[Message] = asyncio.Queue()
        self._wakeups = {p: Wakeup() for p in range(len(hub.control))}
        self._activity_wakeup = Wakeup()
        self._activity_taken = asyncio.Event()
        self._released = asyncio.Event()

    def start(self, loops: Supervisor) -> None:
        loops.spawn("work-items", self._poll_work_items)

    def poll_partition(self, loops: Supervisor, partition: int) -> None:
        loops.spawn(self._poller(partition), lambda: self._poll_control(partition))

    def stop_partition(self, loops: Supervisor, partition: int) -> None:
        loops.cancel(self._poller(partition))

    @staticmethod
    def _poller(partition: int) -> str:
        return f"control-{partition:02d}"

    def wake(self, partition: int | None, message_id: str) -> None:
        """This host just sent queue message `message_id` to that queue (None: the
        work-item queue): read it now."""
        (self._activity_wakeup if partition is None else self._wakeups[partition]).sent(message_id)

    def activities_taken(self) -> None:
        self._activity_taken.set()

    def released(self) -> None:
        """A held control message was deleted: there may be room to take more."""
        self._released.set()

    # --- reading -----------------------------------------------------------------------

    async def _poll_control(self, partition: int) -> None:
        async def room() -> None:
            """DTFx's ControlQueueBufferThreshold (ext's `controlQueueBufferThreshold`,
            256 by default): past this many control messages held by the host, over all
            its partitions (`PendingOrchestratorMessages`), the rest waits in the queues.
            A message held past half its visibility is renewed, so holding more than
            the workers can start soon costs storage calls for nothing."""
            while self._held_control() >= self._control_buffer:
                self._released.clear()
                await self._released.wait()

        queue = self._hub.control[partition]
        await poll(queue, self._wakeups[partition], self._accept_control, room, self._hub.name,
                   self._visibility_of(queue))  # fmt: skip

    def _held_control(self) -> int:
        """Control messages waiting for or in an episode; not those handed back (a
        suspended instance's), which wait for a message that must still be read."""
        if self._holding.count() < self._control_buffer:
            return 0  # the count below cannot reach the threshold: spare the scan
        deferred = {id(r) for r in self._instances.held_items()}
        return sum(1 for r in self._holding.held() if r.queue is not self._hub.work_items and id(r) not in deferred)

    async def _poll_work_items(self) -> None:
        hub = self._hub
        await poll(hub.work_items, self._activity_wakeup, self._accept_activity, self._room_for_activities, hub.name,
                   self._visibility_of(hub.work_items))  # fmt: skip

    async def _room_for_activities(self) -> None:
        """Takes more activity work only when little is waiting here: what this host
        cannot start soon stays in the queue for the other hosts (and needs no renewal)."""
        while self.activities.qsize() >= _ACTIVITY_BUFFER:
            self._activity_taken.clear()
            await self._activity_taken.wait()

    async def _received(self, queue: QueueClient, raw: Any) -> Received | None:
        """The queue message, unless this host already holds it (its visibility lapsed
        and it came round again: keep the new pop receipt)."""
        messages = await self._hub.codec.decode(raw.content)
        known = self._holding.get(messages[0].id)
        if known is not None:
            async with known.lock:
                known.queue_message_id, known.pop_receipt = raw.id, raw.pop_receipt
                known.renewed_at = asyncio.get_running_loop().time()
            return None
        return Received(
            messages, queue, raw.id, raw.pop_receipt, self._visibility_of(queue), asyncio.get_running_loop().time()
        )

    def _visibility_of(self, queue: QueueClient) -> float:
        """How long what this host receives from `queue` stays invisible to others."""
        return self._work_item_visibility_s if queue is self._hub.work_items else self._control_visibility_s

    async def _accept_control(self, queue: QueueClient, raw: Any) -> None:
        received = await self._received(queue, raw)
        if received is None:
            return
        first = received.messages[0]
        now = self._clock.now()
        if first.fire_at is not None and first.fire_at > now:
            receipt = await set_visibility(queue, raw.id, raw.pop_receipt, (first.fire_at - now).total_seconds())
            if receipt is not None:
                self._timers.track(first, Queued(queue, raw.id, receipt))
            return
        self._holding.settle([m.settles for m in received.messages if m.settles is not None])
        self._holding.hold(received)
        self._busy()
        self._instances.add(received.instance_id, received)

    async def _accept_activity(self, queue: QueueClient, raw: Any) -> None:
        received = await self._received(queue, raw)
        if received is None:
            return
        self._holding.hold(received)
        for message in received.messages:
            self.activities.put_nowait(message)
        self._busy()
