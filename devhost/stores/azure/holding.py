"""The queue messages this host holds, and the messages it expects to see consumed.

A received queue message is held (invisible to other hosts) while it waits for, or is
inside, an episode or an activity run: `renew` keeps it invisible, and `hand_back` makes
everything held visible again at once when the host stops, so a restart or another host
goes on at once. Held messages are found by the id of any `Message` they carry, which is
how a redelivered copy is recognised.

`unsettled` is what `wait_idle` waits on: messages this host sent and will consume
itself (or, for an activity, whose result it will receive, wherever it ran).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..base import Message
from .queues import Received

_RENEW_EVERY_S = 2.0


class Holding:
    def __init__(self, slots: asyncio.Semaphore, shortest_visibility_s: float) -> None:
        self._slots = slots  # shared with sending: storage calls in flight
        # Looked at often enough that a renewal due at half a visibility comes in time.
        self._tick_s = min(_RENEW_EVERY_S, shortest_visibility_s / 4)
        self._by_message: dict[str, Received] = {}
        self.unsettled: dict[str, str] = {}  # message id: its instance

    def get(self, message_id: str) -> Received | None:
        return self._by_message.get(message_id)

    def hold(self, received: Received) -> None:
        for message in received.messages:
            self._by_message[message.id] = received

    def unhold(self, received: Received, *, settled: bool) -> None:
        """Lets go of a queue message; unless `settled`, its messages still count as work
        to come (they go back to the queue and will be received again)."""
        for message in received.messages:
            self._by_message.pop(message.id, None)
            if settled:
                self.unsettled.pop(message.id, None)

    def held(self) -> list[Received]:
        """Each queue message held, once."""
        return list({id(r): r for r in self._by_message.values()}.values())

    def count(self) -> int:
        """Messages held (an upper bound of the queue messages)."""
        return len(self._by_message)

    def expect(self, message: Message) -> None:
        self.unsettled[message.id] = message.instance_id

    def settle(self, message_ids: set[str] | list[str]) -> None:
        for message_id in message_ids:
            self.unsettled.pop(message_id, None)

    def forget_instances(self, gone: Callable[[str], bool]) -> None:
        """Stops expecting messages of instances another host owns now."""
        for message_id in [m for m, instance_id in self.unsettled.items() if gone(instance_id)]:
            del self.unsettled[message_id]

    async def renew(self) -> None:
        """Keeps invisible what this host still holds (a loop, run supervised)."""
        loop = asyncio.get_running_loop()

        async def renew(received: Received) -> None:
            async with self._slots:
                await received.renew(loop.time())

        while True:
            await asyncio.sleep(self._tick_s)
            due = [r for r in self.held() if r.renewal_due(loop.time())]
            outcomes = await asyncio.gather(*(renew(received) for received in due), return_exceptions=True)
            failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failed is not None:
                raise failed  # the rest were renewed; the supervisor retries soon

    async def hand_back(self) -> None:
        """Makes every held message visible again now."""
        await asyncio.gather(*(r.release() for r in self.held()), return_exceptions=True)
        self._by_message.clear()
