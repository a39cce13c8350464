"""Control and work-item queue messages: `Message`s as JSON, through a blob when large.

One queue message carries the messages one commit sends to one instance (the results of
a batch of activities, the activities an episode scheduled), so a fan-out costs a few
storage calls per batch instead of four per activity; timers travel alone, each with its
own visibility. A received message stays invisible for its queue's visibility timeout
(host.json `controlQueueVisibilityTimeout`, `workItemQueueVisibilityTimeout`: 5 minutes,
as in DTFx); while this host still holds it (waiting for, or inside, an episode or an
activity) it is renewed once half of that has passed, so a host that dies lets its
messages reappear for another host (or itself, restarted) when it lapses. Every
`Message` has its own id, so a redelivered copy is recognised.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from ...config import QUEUE_VISIBILITY_LIMIT_S
from ...protocol import format_timestamp, parse_timestamp
from ..base import Message
from .names import escape_key
from .payloads import MESSAGE_LIMIT_CHARS, LargePayloads

# A minute short of the queues' cap; longer timers are split by the SDK (6 days at most).
MAX_VISIBILITY_S = QUEUE_VISIBILITY_LIMIT_S - 60


class UnreadableMessage(Exception):
    """A queue message not in devhost's format (another program's on the same hub)."""


class PayloadGone(Exception):
    """A message whose large payload was deleted: its instance was purged meanwhile."""


@dataclass
class Received:
    """A queue message this host took and has not deleted or released yet, with the
    `Message`s it carries; it is deleted once all of them are consumed.

    Every queue operation on it holds `lock`: each one changes the pop receipt the next
    one needs, so a renewal and a delete must not overlap.
    """

    messages: list[Message]
    queue: QueueClient
    queue_message_id: str
    pop_receipt: str
    visibility_s: float  # how long each receipt or renewal keeps it invisible
    renewed_at: float = field(default=0.0)
    done: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    remaining: set[str] = field(default_factory=set)
    results: list[Message] = field(default_factory=list)  # of activities done so far

    def __post_init__(self) -> None:
        self.remaining = {message.id for message in self.messages}

    @property
    def instance_id(self) -> str:
        return self.messages[0].instance_id

    def renewal_due(self, now: float) -> bool:
        """Half its visibility has passed: renewed now, it cannot lapse while held."""
        return now - self.renewed_at > self.visibility_s / 2

    async def renew(self, now: float) -> None:
        async with self.lock:
            if self.done:
                return
            receipt = await set_visibility(self.queue, self.queue_message_id, self.pop_receipt, self.visibility_s)
            if receipt is not None:
                self.pop_receipt, self.renewed_at = receipt, now

    async def release(self) -> None:
        """Visible again at once, for this or another host to take."""
        async with self.lock:
            if not self.done:
                self.done = True
                await set_visibility(self.queue, self.queue_message_id, self.pop_receipt, 0)

    async def delete(self) -> None:
        async with self.lock:
            if not self.done:
                self.done = True
                await delete(self.queue, self.queue_message_id, self.pop_receipt)


def _message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "instance": message.instance_id,
        "execution": message.execution_id,
        "fireAt": None if message.fire_at is None else format_timestamp(message.fire_at),
        "event": message.event,
        **({"settles": message.settles} if message.settles else {}),
        **({"sender": message.sender} if message.sender else {}),
    }


def _message(body: dict[str, Any]) -> Message:
    fire_at: datetime | None = parse_timestamp(body["fireAt"]) if body.get("fireAt") else None
    return Message(
        instance_id=body["instance"],
        event=body["event"],
        execution_id=body.get("execution"),
        fire_at=fire_at,
        id=body["id"],
        settles=body.get("settles"),
        sender=body.get("sender"),
    )


class MessageCodec:
    def __init__(self, payloads: LargePayloads) -> None:
        self._payloads = payloads

    async def encode(self, messages: list[Message]) -> str:
        """One queue message for `messages` (all to one instance)."""
        body = json.dumps({"messages": [_message_json(m) for m in messages]}, separators=(",", ":"))
        if len(body) <= MESSAGE_LIMIT_CHARS:
            return body
        first = messages[0]
        blob = f"{escape_key(first.instance_id)}/message-{first.id}.json.gz"
        await self._payloads.put(blob, body)
        return json.dumps({"instance": first.instance_id, "blob": blob})

    async def decode(self, text: str) -> list[Message]:
        """Raises UnreadableMessage or PayloadGone for what cannot be read, and storage's
        own errors (fetching the payload) for what may be read on a later try."""
        try:
            body: dict[str, Any] = json.loads(text)
            blob = body.get("blob")
        except (ValueError, AttributeError, RecursionError):
            raise UnreadableMessage() from None
        if blob:
            try:
                text = await self._payloads.get(blob)
            except ResourceNotFoundError:
                raise PayloadGone(blob) from None
            except (gzip.BadGzipFile, zlib.error, EOFError, UnicodeDecodeError):
                raise UnreadableMessage() from None  # a blob that is not one of ours
        try:
            if blob:
                body = json.loads(text)
            messages = [_message(item) for item in body["messages"]]
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
            raise UnreadableMessage() from None
        if not messages:
            raise UnreadableMessage()
        return messages


async def receive(queue: QueueClient, count: int, visibility_s: float) -> list[QueueMessage]:
    """Up to `count` visible messages, invisible to others for `visibility_s`, in one Get
    Messages call (as DTFx's and the queue trigger's receives are). Iterating
    `receive_messages` itself asks again until a call comes back empty or `count`
    arrived: two calls for nearly every receive, the first's messages waiting for the
    second, and on Azurite each call costs a sweep of every message it holds."""
    pages = queue.receive_messages(
        messages_per_page=count, max_messages=count, visibility_timeout=math.ceil(visibility_s)
    ).by_page()
    async for page in pages:
        return [message async for message in page]
    return []  # the first call found none


async def send(queue: QueueClient, text: str, *, delay_s: float = 0) -> tuple[str, str]:
    """Enqueues `text`, invisible for `delay_s`; returns (message id, pop receipt)."""
    sent = await queue.send_message(
        text,
        visibility_timeout=min(max(math.ceil(delay_s), 0), MAX_VISIBILITY_S) or None,
        time_to_live=-1,
    )
    return sent.id, str(sent.pop_receipt)  # a new message always has one


def _gone(error: HttpResponseError) -> bool:
    """Deleted already, or its visibility lapsed and another receive holds it now: either
    way not ours any more (a copy that comes back is dropped as a duplicate)."""
    return isinstance(error, ResourceNotFoundError) or getattr(error, "error_code", None) == "PopReceiptMismatch"


async def set_visibility(queue: QueueClient, message_id: str, pop_receipt: str, seconds: float) -> str | None:
    """New visibility for a message we hold; its new pop receipt, or None if it is gone."""
    try:
        updated = await queue.update_message(
            message_id,
            pop_receipt=pop_receipt,
            visibility_timeout=min(math.ceil(seconds), MAX_VISIBILITY_S),
        )
    except HttpResponseError as error:
        if _gone(error):
            return None
        raise
    return str(updated.pop_receipt)


async def delete(queue: QueueClient, message_id: str, pop_receipt: str) -> None:
    try:
        await queue.delete_message(message_id, pop_receipt=pop_receipt)
    except HttpResponseError as error:
        if not _gone(error):
            raise
