"""Sending messages: what goes to one instance travels packed, timers alone.

What one commit (or one client call) sends to one instance is packed into as few queue
messages as fit, in order (an entity applies operations in the order they were sent),
so a fan-out costs a few storage calls per batch instead of one per activity. A timer
not yet due goes alone, invisible until its fire time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from azure.storage.queue.aio import QueueClient

from ...clock import Clock
from ..base import Message
from .queues import MessageCodec, send
from .timers import Queued

_PACK = 16  # messages to one instance carried by one queue message
_SEND_CONCURRENCY = 32

# The queue a message goes to, and its partition (None: the work-item queue).
Route = Callable[[Message], tuple[QueueClient, int | None]]


class Sender:
    def __init__(
        self,
        codec: MessageCodec,
        clock: Clock,
        route: Route,
        *,
        sent: Callable[[Message, int | None], None],
        timer_sent: Callable[[Message, Queued], None],
    ) -> None:
        """`sent` is told of each message now visible, `timer_sent` of each timer."""
        self._codec = codec
        self._clock = clock
        self._route = route
        self._sent = sent
        self._timer_sent = timer_sent
        self.slots = asyncio.Semaphore(_SEND_CONCURRENCY)  # storage calls in flight, shared

    async def send(self, messages: list[Message]) -> None:
        now = self._clock.now()
        packs: dict[tuple[bool, str], list[list[Message]]] = {}
        timers: list[tuple[Message, float]] = []
        for message in messages:
            if message.fire_at is not None and message.fire_at > now:
                timers.append((message, (message.fire_at - now).total_seconds()))
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
            *(self._send_pack([timer], delay=delay) for timer, delay in timers),
        )

    async def _send_pack(self, pack: list[Message], delay: float = 0) -> None:
        queue, partition = self._route(pack[0])
        text = await self._codec.encode(pack)
        async with self.slots:
            message_id, receipt = await send(queue, text, delay_s=delay)
        if delay > 0:
            self._timer_sent(pack[0], Queued(queue, message_id, receipt))
            return
        for message in pack:
            self._sent(message, partition)
