"""Control and work-item queue messages: a `Message` as JSON, through a blob when large.

A received message stays invisible for VISIBILITY_S; while this host still holds it
(waiting for, or inside, an episode or an activity) the visibility is renewed, so a host
that dies lets its messages reappear for another host (or itself, restarted) within
seconds. Every message carries its own id, so a redelivered copy is recognised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from ...protocol import format_timestamp, parse_timestamp
from ..base import Message
from .names import escape_key
from .payloads import MESSAGE_LIMIT_CHARS, LargePayloads

VISIBILITY_S = 10
RENEW_AFTER_S = 4
# Queues cap visibility at 7 days; longer timers are split by the SDK (6 days at most).
MAX_VISIBILITY_S = 7 * 24 * 3600 - 60


@dataclass
class Received:
    """A message this host took from a queue and has not deleted or released yet."""

    message: Message
    queue: QueueClient
    queue_message_id: str
    pop_receipt: str
    blob: Optional[str]
    renewed_at: float = field(default=0.0)


class MessageCodec:
    def __init__(self, payloads: LargePayloads) -> None:
        self._payloads = payloads

    async def encode(self, message: Message) -> str:
        body = json.dumps(
            {
                "id": message.id,
                "instance": message.instance_id,
                "execution": message.execution_id,
                "fireAt": None if message.fire_at is None else format_timestamp(message.fire_at),
                "event": message.event,
            },
            separators=(",", ":"),
        )
        if len(body) <= MESSAGE_LIMIT_CHARS:
            return body
        blob = f"{escape_key(message.instance_id)}/message-{message.id}.json.gz"
        await self._payloads.put(blob, body)
        return json.dumps({"id": message.id, "instance": message.instance_id, "blob": blob})

    async def decode(self, text: str) -> tuple[Message, Optional[str]]:
        body: dict[str, Any] = json.loads(text)
        blob = body.get("blob")
        if blob:
            body = json.loads(await self._payloads.get(blob))
        fire_at: Optional[datetime] = parse_timestamp(body["fireAt"]) if body.get("fireAt") else None
        message = Message(
            instance_id=body["instance"],
            event=body["event"],
            execution_id=body.get("execution"),
            fire_at=fire_at,
            id=body["id"],
        )
        return message, blob


async def send(queue: QueueClient, text: str, *, delay_s: float = 0) -> tuple[str, str]:
    """Enqueues `text`, invisible for `delay_s`; returns (message id, pop receipt)."""
    sent = await queue.send_message(
        text,
        visibility_timeout=min(max(int(delay_s + 0.999), 0), MAX_VISIBILITY_S) or None,
        time_to_live=-1,
    )
    return sent.id, sent.pop_receipt


async def set_visibility(queue: QueueClient, message_id: str, pop_receipt: str, seconds: float) -> Optional[str]:
    """New visibility for a message we hold; its new pop receipt, or None if it is gone."""
    try:
        updated = await queue.update_message(
            message_id, pop_receipt=pop_receipt, visibility_timeout=min(int(seconds), MAX_VISIBILITY_S)
        )
    except ResourceNotFoundError:
        return None
    return str(updated.pop_receipt)


async def delete(queue: QueueClient, message_id: str, pop_receipt: str) -> None:
    try:
        await queue.delete_message(message_id, pop_receipt=pop_receipt)
    except ResourceNotFoundError:
        pass  # deleted already, or its visibility lapsed and another receive owns it now
