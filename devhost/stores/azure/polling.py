"""Reading a queue: batches as they come, backing off while it is empty.

A poller wakes at once when this host sends to its queue. Only a message that cannot be
read is set aside (another program's, say `func start` on the same task hub: hidden for
an hour, not deleted, reported); a message whose payload was deleted with its instance
is deleted; a storage error while reading one (fetching its payload, say) propagates for
the supervisor to retry, once what the batch left is visible again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from azure.storage.queue.aio import QueueClient

from .queues import PayloadGone, UnreadableMessage, delete, set_visibility

logger = logging.getLogger(__name__)

_BATCH = 32
_FIRST_DELAY_S = 0.01
_MAX_DELAY_S = 1.0
_PUT_BACK_S = 3.0
_SET_ASIDE_S = 3600

Accept = Callable[[QueueClient, Any], Awaitable[None]]


async def poll(
    queue: QueueClient,
    wakeup: asyncio.Event,
    accept: Accept,
    room: Callable[[], Awaitable[None]],
    hub: str,
    visibility_s: float,
) -> None:
    """Hands each message received (invisible to others for `visibility_s`) to `accept`,
    waiting for `room` before each batch."""
    delay = _FIRST_DELAY_S
    while True:
        await room()
        batch = [
            message
            async for message in queue.receive_messages(
                messages_per_page=_BATCH, max_messages=_BATCH, visibility_timeout=math.ceil(visibility_s)
            )
        ]
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
        if batch:
            delay = _FIRST_DELAY_S
            continue
        wakeup.clear()
        try:
            await asyncio.wait_for(wakeup.wait(), delay)
        except TimeoutError:
            delay = min(delay * 2, _MAX_DELAY_S)


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
