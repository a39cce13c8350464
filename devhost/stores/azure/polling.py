"""Reading a queue: batches as they come, backing off while it is empty.

A poller wakes at once when this host sends to its queue, unless a receive already
brought what it sent: on Azurite every receive costs milliseconds of its one core, and a
wake per send would make two receives of most messages. The backoff is for what other
programs send (another host's results, a message come round again): it starts at DTFx's
50 ms (TaskHubQueue's minimum polling delay; sooner would mostly find nothing, at the
price of a receive), only grows on polls nothing woke, and a full batch is followed at
once by the next.

Only a message that cannot be read is set aside (another program's, say `func start` on
the same task hub: hidden for an hour, not deleted, reported); a message whose payload
was deleted with its instance is deleted; a storage error while reading one (fetching
its payload, say) propagates for the supervisor to retry, once what the batch left is
visible again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from azure.storage.queue.aio import QueueClient

from .queues import PayloadGone, UnreadableMessage, delete, receive, set_visibility

logger = logging.getLogger(__name__)

_BATCH = 32
_FIRST_DELAY_S = 0.05
_MAX_DELAY_S = 1.0
_PUT_BACK_S = 3.0
_SET_ASIDE_S = 3600

Accept = Callable[[QueueClient, Any], Awaitable[None]]


class Wakeup:
    """The messages this host sent to one queue that no receive has brought yet, each
    with the number of receives begun before it was sent. A receive begun after a send
    that did not bring its message will not bring it (another host took it): so a wake is
    due while such a message is outstanding, and not for one a receive in flight brought."""

    def __init__(self) -> None:
        self._due: dict[str, int] = {}  # queue message id -> receives begun when it was sent
        self._receives = 0
        self._event = asyncio.Event()

    def sent(self, message_id: str) -> None:
        self._due[message_id] = self._receives
        self._event.set()

    def receiving(self) -> int:
        """A receive begins; its number, for `received`."""
        self._receives += 1
        return self._receives

    def received(self, number: int, message_ids: Iterable[str]) -> None:
        for message_id in message_ids:
            self._due.pop(message_id, None)
        for message_id in [m for m, before in self._due.items() if before < number]:
            del self._due[message_id]  # receive `number` began after it was sent
        if not self._due:
            self._event.clear()

    async def wait(self, timeout: float) -> bool:
        """Whether a send woke it within `timeout`."""
        if self._event.is_set():
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


async def poll(
    queue: QueueClient,
    wakeup: Wakeup,
    accept: Accept,
    room: Callable[[], Awaitable[None]],
    hub: str,
    visibility_s: float,
) -> None:
    """Hands each message received (invisible to others for `visibility_s`) to `accept`,
    waiting for `room` before each batch."""
    delay = _FIRST_DELAY_S
    woken = True
    while True:
        await room()
        number = wakeup.receiving()
        batch = await receive(queue, _BATCH, visibility_s)
        wakeup.received(number, (message.id for message in batch))
        for index, message in enumerate(batch):
            try:
                await accept(queue, message)
            except UnreadableMessage:
                await _set_aside(queue, message, hub)
            except PayloadGone:  # its instance was purged: nothing will read it
                await delete(queue, message.id, str(message.pop_receipt))
            except Exception:
                await _put_back(queue, batch[index:])
                raise
        if len(batch) == _BATCH:
            delay = _FIRST_DELAY_S
            continue  # more may be waiting
        if not woken:
            delay = _FIRST_DELAY_S if batch else min(delay * 2, _MAX_DELAY_S)
        woken = await wakeup.wait(delay)


async def _put_back(queue: QueueClient, unread: list[Any]) -> None:
    """Makes received messages visible again now rather than when their visibility
    lapses; if storage cannot even do that, they reappear by themselves."""
    visible = (set_visibility(queue, raw.id, raw.pop_receipt, 0) for raw in unread)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*visible, return_exceptions=True), _PUT_BACK_S)


async def _set_aside(queue: QueueClient, raw: Any, hub: str) -> None:
    logger.warning(
        "A message in queue %s is not in devhost's format; leaving it alone. Is another "
        "host (func start?) using task hub '%s'? Give each its own hub (--hub).",
        queue.queue_name, hub, exc_info=logger.isEnabledFor(logging.DEBUG),
    )  # fmt: skip
    await set_visibility(queue, raw.id, raw.pop_receipt, _SET_ASIDE_S)
