"""One episode of one entity: queued operations run in order, in batches, state kept.

Entities are instances named `@<name>@<key>` whose operations arrive as `EventRaised`
messages named "op" carrying a RequestMessage (docs/protocol.md D.3, E, H). Each
batch goes through the SDK's entity entry point; callers get a `ResponseMessage` back
as an event named by their request id. The state lives in the instance row's input,
with the ids of recently processed requests so a redelivered operation runs once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..protocol import (
    OPERATION_EVENT_NAME,
    EntityBatchResult,
    EntityRequest,
    EventType,
    OperationOutcome,
    OrchestrationStatus,
    entity_batch,
    events,
    parse_entity_result,
    response_message,
    split_entity_instance_id,
)
from ..stores.base import Checkpoint, InstanceRecord, Message, WorkItem
from . import traces

logger = logging.getLogger(__name__)

# Runs the named entity on a batch JSON; returns the result JSON or raises.
RunEntity = Callable[[str, str], str]

# The duplicate window: the requests an entity processed, each by a 16-hex-digit digest
# of its id and the minute it was processed, at most this many and none older than the
# extension's entity message reorder window (`EntityMessageReorderWindowInMinutes`, 30):
# a redelivery comes within seconds, and the window (at most about 17 KB) and a modest
# state stay in the instance row instead of a new large-payload blob at every batch.
_REMEMBERED_REQUESTS = 1000
_REMEMBERED_MINUTES = 30
_DIGEST_CHARS = 16


def request_digest(request_id: str) -> str:
    """64 bits of the request id: ids are uuid5/uuid4, so digests do not collide in a
    window of a thousand."""
    return request_id.replace("-", "")[:_DIGEST_CHARS]


@dataclass
class EntityState:
    """What the instance row's input holds for an entity (DTFx keeps `exists` and `state`
    there too)."""

    exists: bool = False
    state: str | None = None
    recent: list[tuple[str, int]] = field(default_factory=list)  # (digest, minute processed)

    def to_json(self) -> str:
        """The window is stored as `[minute, digests run together]` pairs: 16 characters a
        request, so a thousand of them and a modest state fit one table property."""
        window: list[list[Any]] = []
        for digest, minute in self.recent:
            if window and window[-1][0] == minute:
                window[-1][1] += digest
            else:
                window.append([minute, digest])
        return json.dumps({"exists": self.exists, "state": self.state, "window": window})

    @classmethod
    def of(cls, record: InstanceRecord | None) -> EntityState:
        if record is None or not record.input:
            return cls()
        raw = json.loads(record.input)
        recent = [
            (digests[n : n + _DIGEST_CHARS], int(minute))
            for minute, digests in raw.get("window", [])
            for n in range(0, len(digests), _DIGEST_CHARS)
        ]
        # Rows written before the window kept minutes hold whole request ids under
        # "recent": minute 0, so they age out with the next batch.
        recent += [(request_digest(str(old)), 0) for old in raw.get("recent", [])]
        return cls(exists=bool(raw.get("exists")), state=raw.get("state"), recent=recent)

    def remember(self, requests: list[EntityRequest], now: datetime) -> None:
        """Adds processed requests; forgets those past the window's count or age."""
        minute = _minute(now)
        kept = [entry for entry in self.recent if entry[1] > minute - _REMEMBERED_MINUTES]
        self.recent = (kept + [(request_digest(r.id), minute) for r in requests])[-_REMEMBERED_REQUESTS:]


def _minute(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


@dataclass(frozen=True)
class EntityEpisodeContext:
    now: datetime
    entity_name: str | None  # the app's spelling, None when the app has no such entity
    run_entity: RunEntity
    max_batch: int


def run_entity_episode(item: WorkItem, ctx: EntityEpisodeContext) -> Checkpoint:
    name, key = split_entity_instance_id(item.instance_id) or ("", "")
    state = EntityState.of(item.record)
    seen = {digest for digest, _ in state.recent}
    requests: list[EntityRequest] = []
    for message in item.messages:
        event = message.event
        if event["EventType"] != EventType.EVENT_RAISED or event.get("Name") != OPERATION_EVENT_NAME:
            continue
        request = EntityRequest.from_json(event["Input"])
        digest = request_digest(request.id)
        if digest in seen:
            continue
        seen.add(digest)
        requests.append(request)

    checkpoint = Checkpoint(record=item.record, consumed=list(item.messages))
    if not requests:
        return checkpoint
    outcomes: list[OperationOutcome] = []
    for start in range(0, len(requests), max(ctx.max_batch, 1)):
        batch = requests[start : start + ctx.max_batch]
        result = _run_batch(ctx, name, key, state, batch)
        state.exists, state.state = result.exists, result.state
        outcomes.extend(result.outcomes)

    shown_name = ctx.entity_name or name
    for request, outcome in zip(requests, outcomes, strict=False):
        checkpoint.traces.append(
            traces.operation_ended(
                item.instance_id,
                shown_name,
                request.operation,
                request.id,
                outcome.result,
                failed=outcome.is_error,
                operation_input=request.input,
            )
        )
        if not request.is_signal and request.parent_instance_id:
            checkpoint.outgoing.append(
                Message(
                    request.parent_instance_id,
                    events.event_raised(ctx.now, request.id, response_message(outcome)),
                    request.parent_execution_id,
                    sender=item.instance_id,
                )
            )
    state.remember(requests, ctx.now)
    previous = item.record
    checkpoint.record = InstanceRecord(
        instance_id=item.instance_id,
        name=shown_name,
        execution_id=previous.execution_id if previous else item.instance_id,
        status=OrchestrationStatus.RUNNING,
        created_time=previous.created_time if previous else ctx.now,
        last_updated_time=ctx.now,
        input=state.to_json(),
    )
    return checkpoint


def _run_batch(
    ctx: EntityEpisodeContext,
    name: str,
    key: str,
    state: EntityState,
    batch: list[EntityRequest],
) -> EntityBatchResult:
    """A batch the entity function cannot run at all fails every operation in it and
    leaves the state as it was."""
    if ctx.entity_name is None:
        return _failed_batch(state, batch, f"The entity '{name}' is not registered in this app.")
    payload = entity_batch(name=name, key=key, exists=state.exists, state=state.state, requests=batch)
    try:
        return parse_entity_result(ctx.run_entity(ctx.entity_name, payload))
    except Exception as error:
        return _failed_batch(state, batch, f"{type(error).__name__}: {error}")


def _failed_batch(state: EntityState, batch: list[EntityRequest], message: str) -> EntityBatchResult:
    logger.error("Entity operations failed: %s", message)
    return EntityBatchResult(
        exists=state.exists,
        state=state.state,
        outcomes=[OperationOutcome(is_error=True, result=json.dumps(message), duration_ms=0)] * len(batch),
    )
