"""Sending messages: what goes to one instance travels packed, timers alone.

What one commit (or one client call) sends to one instance is packed into as few queue
messages as fit, in order (an entity applies operations in the order they were sent),
so a fan-out costs a few storage calls per batch instead of one per activity. A timer
not yet due goes alone, invisible until its fire time.

Sends to one instance also board one *train*: while a queue message for the instance is
being put, what other callers send to it meanwhile waits and goes in the next message,
up to the pack's size, in the order the calls came (a group commit). A lone send goes at
once; eight clients signalling one entity cost a put per few signals, and the receiving
episode one delete per put, not one per signal. Each caller returns once its own
messages are in the queue; if a put fails, its callers and those waiting behind them get
the error (nothing later is sent ahead of what failed).
"""

from __future__ import annotations

import asyncio
from collections import deque
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
_Key = tuple[bool, str]  # (an activity's work, the instance)


class _Train:
    """Messages waiting to be put for one instance, each caller's last one carrying the
    future its caller awaits."""

    def __init__(self) -> None:
        self.waiting: deque[tuple[Message, asyncio.Future[None] | None]] = deque()
        self.task: asyncio.Task[None] | None = None

    def board(self, messages: list[Message]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for n, message in enumerate(messages):
            self.waiting.append((message, done if n == len(messages) - 1 else None))
        return done

    def next_pack(self) -> list[tuple[Message, asyncio.Future[None] | None]]:
        return [self.waiting.popleft() for _ in range(min(_PACK, len(self.waiting)))]


class Sender:
    def __init__(
        self,
        codec: MessageCodec,
        clock: Clock,
        route: Route,
        *,
        sent: Callable[[Message, int | None, str], None],
        timer_sent: Callable[[Message, Queued], None],
    ) -> None:
        """`sent` is told of each message now visible (its partition, None for the
        work-item queue, and the queue message it travels in), `timer_sent` of each timer."""
        self._codec = codec
        self._clock = clock
        self._route = route
        self._sent = sent
        self._timer_sent = timer_sent
        self.slots = asyncio.Semaphore(_SEND_CONCURRENCY)  # storage calls in flight, shared
        self._trains: dict[_Key, _Train] = {}

    async def send(self, messages: list[Message]) -> None:
        now = self._clock.now()
        groups: dict[_Key, list[Message]] = {}
        timers: list[tuple[Message, float]] = []
        for message in messages:
            if message.fire_at is not None and message.fire_at > now:
                timers.append((message, (message.fire_at - now).total_seconds()))
            else:
                groups.setdefault((message.is_activity, message.instance_id), []).append(message)
        await asyncio.gather(
            *(self._board(key, group) for key, group in groups.items()),
            *(self._send_pack([timer], delay=delay) for timer, delay in timers),
        )

    async def _board(self, key: _Key, messages: list[Message]) -> None:
        train = self._trains.get(key)
        if train is None:
            train = self._trains[key] = _Train()
        done = train.board(messages)
        if train.task is None:  # its own task: a caller that gives up must not stop the train
            train.task = asyncio.get_running_loop().create_task(self._run(key, train))
        await asyncio.shield(done)

    async def _run(self, key: _Key, train: _Train) -> None:
        pack: list[tuple[Message, asyncio.Future[None] | None]] = []
        try:
            while train.waiting:
                pack = train.next_pack()
                await self._send_pack([message for message, _ in pack])
                for _, caller in pack:
                    if caller is not None and not caller.done():
                        caller.set_result(None)
                pack = []
        except BaseException as error:  # what failed and everything behind it
            for _, caller in [*pack, *train.waiting]:
                if caller is not None and not caller.done():
                    if isinstance(error, Exception):
                        caller.set_exception(error)
                    else:  # the store is closing
                        caller.cancel()
            train.waiting.clear()
            if not isinstance(error, Exception):
                raise
        finally:
            train.task = None
            if self._trains.get(key) is train and not train.waiting:
                del self._trains[key]

    async def _send_pack(self, pack: list[Message], delay: float = 0) -> None:
        queue, partition = self._route(pack[0])
        text = await self._codec.encode(pack)
        async with self.slots:
            message_id, receipt = await send(queue, text, delay_s=delay)
        if delay > 0:
            self._timer_sent(pack[0], Queued(queue, message_id, receipt))
            return
        for message in pack:
            self._sent(message, partition, message_id)
