"""One queue message through the trigger: what the function is given, as the Functions
host sends it to the worker, and what becomes of the message (WebJobs `QueueProcessor`).

The host binds a Python queue trigger as a string (`dataType` binary or stream: bytes):
a body that is not UTF-8 fails the binding, and so the call. Its binding data (WebJobs
`QueueTriggerBinding.CreateBindingData`) is `QueueTrigger`, `DequeueCount`,
`ExpirationTime`, `Id`, `InsertionTime`, `NextVisibleTime`, `PopReceipt`; then, for a
string that is a JSON object, its top-level properties, arrays aside, over those (host
`Utility.ApplyBindingData`: a payload's `id` is what `func.QueueMessage.id` shows). All of
it goes to the worker as trigger metadata (host `ScriptInvocationContextExtensions`):
strings as strings, numbers and times as JSON (`DequeueCount` `"5"`, times
`"\\"2024-05-01T10:00:00+00:00\\""`), objects as compact JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.functions import meta

from ..bindings.queue_storage import encode_body, send_creating
from ..invoker import Triggered

logger = logging.getLogger(__name__)

REASON = "New queue message detected on '{queue}'."
# DateTimeOffset.MaxValue, as Json.NET writes it: what the host reports for a time a
# message lacks (a call by hand).
_NEVER = "9999-12-31T23:59:59.9999999+00:00"

# WebJobs `QueueListener`: a message is taken for 10 minutes and, while its function
# runs, made invisible again every 5 (half of that), sooner after a failed renewal
# (`LinearSpeedupStrategy`, down to 1 minute).
VISIBILITY_S = 600
RENEW_EVERY_S = VISIBILITY_S / 2
# The shortest renewal interval after failures, as a share of the regular one (1 of 5 minutes).
_FASTEST_RENEWAL = 1 / 5


class QueueBindingError(Exception):
    """The host cannot bind the message to the function's parameter."""


@dataclass(frozen=True)
class MessageFacts:
    """What storage says of a message (None where a call by hand has nothing)."""

    id: str | None
    pop_receipt: str | None
    dequeue_count: int
    inserted_on: datetime | None
    expires_on: datetime | None
    next_visible_on: datetime | None


def message_triggered(queue: str, parameter: str, body: bytes, binary: bool, facts: MessageFacts) -> Triggered:
    """The call a message makes: see the module docstring."""
    reason = REASON.format(queue=queue)
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError as error:
        text = None
        if not binary:
            bad = "".join(f"[{byte:02X}]" for byte in error.object[error.start : error.end])
            return Triggered(
                meta.Datum(body, "bytes"),
                reason,
                unbound=QueueBindingError(
                    f"Exception binding parameter '{parameter}'. Unable to translate bytes {bad} at index "
                    f"{error.start} from specified code page to Unicode."
                ),
                details=_details(facts),
            )
        logger.warning(
            "Queue message's body cannot be converted to string because it contains non-UTF8 bytes, message id=%s",
            facts.id,
        )
    values: dict[str, Any] = {} if text is None else {"QueueTrigger": text}
    values.update(
        DequeueCount=facts.dequeue_count,
        ExpirationTime=_time(facts.expires_on, _NEVER),
        Id=facts.id,
        InsertionTime=_time(facts.inserted_on or datetime.now(UTC), _NEVER),
        NextVisibleTime=_time(facts.next_visible_on, _NEVER),
        PopReceipt=facts.pop_receipt,
    )
    if not binary and text is not None:
        values = _with_payload(values, text)
    values = {key: value for key, value in values.items() if value is not None}
    datum = meta.Datum(body, "bytes") if binary else meta.Datum(text, "string")
    return Triggered(datum, reason, metadata=_metadata(values), data=values, details=_details(facts))


def _details(facts: MessageFacts) -> dict[str, str]:
    """WebJobs `QueueTriggerExecutor.PopulateTriggerDetails` (none for a call by hand)."""
    if facts.id is None:
        return {}
    inserted = "" if facts.inserted_on is None else _milliseconds(facts.inserted_on)
    return {"MessageId": facts.id, "DequeueCount": str(facts.dequeue_count), "InsertedOn": inserted}


def _milliseconds(moment: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ss.fffK` (WebJobs storage `Constants.DateTimeFormatString`)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def _with_payload(values: dict[str, Any], text: str) -> dict[str, Any]:
    """Host `Utility.ApplyBindingData`: a JSON object's top-level properties (not arrays,
    not nulls; objects as they are, the rest as .NET strings) replace the values of
    same-named data, names compared ignoring case."""
    trimmed = text.strip()
    if not (trimmed.startswith("{") and trimmed.endswith("}")):
        return values
    try:
        parsed = json.loads(trimmed)
    except ValueError:
        return values
    if not isinstance(parsed, dict):
        return values
    merged = dict(values)
    spelled = {key.lower(): key for key in merged}
    for name, value in parsed.items():
        if isinstance(value, list) or value is None:
            continue
        # A .NET dictionary ignoring case keeps the spelling of a key it already holds.
        key = spelled.setdefault(name.lower(), name)
        merged[key] = value if isinstance(value, dict) else _dotnet_string(value)
    return merged


def _dotnet_string(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else json.dumps(value)


def _metadata(values: Mapping[str, Any]) -> dict[str, meta.Datum]:
    return {key: _rpc(value) for key, value in values.items()}


def _rpc(value: Any) -> meta.Datum:
    """The host's `ToRpc`: strings as `string`; numbers, times and objects as JSON."""
    if isinstance(value, _JsonTime):
        return meta.Datum(json.dumps(str(value)), "json")
    if isinstance(value, str):
        return meta.Datum(value, "string")
    return meta.Datum(json.dumps(value, separators=(",", ":")), "json")


class _JsonTime(str):
    """A DateTimeOffset's text: sent to the worker as a JSON string, not a string."""


def _time(moment: datetime | None, missing: str) -> _JsonTime:
    """Json.NET's DateTimeOffset: seconds, up to seven trimmed fraction digits, offset."""
    if moment is None:
        return _JsonTime(missing)
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return _JsonTime(moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "+00:00")


def by_hand_triggered(queue: str, parameter: str, text: str, binary: bool) -> Triggered:
    """WebJobs `QueueTriggerBinding.BindAsync(string)`: a message made of the text, no
    id, pop receipt or times (`QueuesModelFactory.QueueMessage(null, null, text, 0)`),
    inserted now."""
    facts = MessageFacts(None, None, 0, None, None, None)
    return message_triggered(queue, parameter, text.encode("utf-8"), binary, facts)


@dataclass(eq=False)
class HeldMessage:
    """A message this host received and has not deleted or released yet. Each storage
    call changes the pop receipt the next one needs, so they take turns (`lock`). The
    queue and blob triggers hold their messages as the host does (`VISIBILITY_S`,
    renewed every `RENEW_EVERY_S`)."""

    queue: Any
    facts: MessageFacts
    text: str  # as storage keeps it
    pop_receipt: str
    done: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def keep_invisible(self) -> None:
        """Renews the message's invisibility while its function runs (cancelled after).
        A renewal under way finishes even then (shielded): its new pop receipt is the
        one the delete or release that follows needs."""
        from azure.core.exceptions import AzureError

        interval = RENEW_EVERY_S
        while True:
            await asyncio.sleep(interval)
            try:
                if not await asyncio.shield(self._set_visibility(VISIBILITY_S)):
                    return  # gone: deleted, or taken by another receive
                interval = RENEW_EVERY_S
            except (TimeoutError, AzureError, OSError):  # try again sooner
                interval = max(interval / 2, RENEW_EVERY_S * _FASTEST_RENEWAL)

    async def delete(self) -> None:
        from ..stores.azure.queues import delete

        async with self.lock:
            if not self.done:
                self.done = True
                await delete(self.queue, self.facts.id or "", self.pop_receipt)

    async def release(self, seconds: float) -> None:
        """Visible again after `seconds` (whole seconds, as the .NET SDK sends them)."""
        async with self.lock:
            if not self.done:
                self.done = True
                await self._set_visibility_locked(int(seconds))

    async def _set_visibility(self, seconds: int) -> bool:
        async with self.lock:
            return not self.done and await self._set_visibility_locked(seconds)

    async def _set_visibility_locked(self, seconds: int) -> bool:
        from ..stores.azure.queues import set_visibility

        receipt = await set_visibility(self.queue, self.facts.id or "", self.pop_receipt, seconds)
        if receipt is not None:
            self.pop_receipt = receipt
        return receipt is not None

    async def poison(self, poison_queue: Any, max_dequeue_count: int, body: bytes | None, encoding: str) -> None:
        """WebJobs `QueueProcessor.HandlePoisonMessageAsync`: copied to the poison queue
        (created if missing), then deleted, with the host's warning. `body` None: the
        text as it is (a message that could not be decoded)."""
        logger.warning(
            "Message has reached MaxDequeueCount of %s. Moving message to queue '%s'.",
            max_dequeue_count,
            poison_queue.queue_name,
        )
        await send_creating(poison_queue, self.text if body is None else encode_body(body, encoding))
        await self.delete()
