"""What an episode the host cannot complete leaves behind, so its work is not redelivered
forever and whoever waits on it hears of the failure instead of waiting forever: an
episode that failed inside the host (a devhost defect, not the app's error), or one whose
commit storage keeps refusing for a reason that will not go away (a key or payload it
cannot hold; `Rejections` counts those).

An orchestration ends Failed with its completion event in history and its parent told,
as any failed orchestration; an entity keeps its state, and each operation a caller is
waiting for answers with an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from ..caches import LruCache
from ..protocol import (
    OPERATION_EVENT_NAME,
    EntityRequest,
    EventType,
    OperationOutcome,
    OrchestrationStatus,
    events,
    response_message,
    split_entity_instance_id,
)
from ..stores.base import Checkpoint, Message, WorkItem, discarded
from .delivery import of_type, parent_instance, started_record

logger = logging.getLogger(__name__)

# Commits of one instance (or of its activities' results) storage may refuse before the
# host gives up on them; for an episode, as many again for the failure itself before its
# messages go.
MAX_REJECTIONS = 5
_REMEMBERED = 10_000


@dataclass(frozen=True)
class Failure:
    """Why the host ended a piece of work: `error_type` and `reason` as the failure
    details the SDK shows."""

    error_type: str
    reason: str


def internal_error(error: Exception) -> Failure:
    return Failure(type(error).__name__, f"devhost internal error: {type(error).__name__}: {error}")


@dataclass(frozen=True)
class Verdict:
    """What to commit instead of an episode storage keeps refusing."""

    failure: Failure
    drop: bool  # even the failure was refused: consume the messages, write nothing

    def checkpoint(self, item: WorkItem, now: datetime) -> Checkpoint:
        return discarded(item) if self.drop else host_failure(item, self.failure, now)


class Rejections:
    """Counts refused commits per key (an instance id, an instance's activity results);
    only refusals count (`Store.is_rejection`), not an outage: that goes away."""

    def __init__(self) -> None:
        self._counts: LruCache[str, tuple[int, Failure]] = LruCache(most=_REMEMBERED)

    def count(self, key: str, error: Exception) -> None:
        attempts = (self._counts.get(key) or (0, None))[0] + 1
        text = str(error).strip().splitlines()
        code = getattr(error, "error_code", None)  # azure-core's service error code
        code = getattr(code, "value", code)  # the Tables SDK gives it as an enum
        failure = Failure(
            type(error).__name__,
            f"storage refused to store this {attempts} times: {type(error).__name__}"
            f"{f' {code}' if code else ''}: {text[0] if text else ''}",
        )
        self._counts[key] = (attempts, failure)
        if attempts == MAX_REJECTIONS:
            logger.error("Storage keeps refusing the work of '%s' (%s); failing it.", key, failure.reason)
        elif attempts == 2 * MAX_REJECTIONS:
            logger.error("Storage refused even the failure of '%s'; its messages are dropped.", key)

    def verdict(self, key: str) -> Verdict | None:
        counted = self._counts.get(key)
        if counted is None or counted[0] < MAX_REJECTIONS:
            return None
        return Verdict(counted[1], drop=counted[0] >= 2 * MAX_REJECTIONS)

    def forget(self, key: str) -> None:
        self._counts.pop(key)


def host_failure(item: WorkItem, failure: Failure, now: datetime) -> Checkpoint:
    reason = failure.reason
    checkpoint = Checkpoint(record=item.record, consumed=list(item.messages))
    if split_entity_instance_id(item.instance_id) is not None:
        checkpoint.outgoing = [_error_reply(request, reason, now, item.instance_id) for request in _waiting_calls(item)]
        return checkpoint
    # On a first episode the ExecutionStarted is still one of the messages, and the row
    # may not be written yet (a start sends its message first): it starts the record.
    arriving = None if item.history else of_type(item.messages, EventType.EXECUTION_STARTED)
    record = item.record
    if record is None and arriving is not None:
        record = started_record(item.instance_id, arriving.event, now, None)
    if record is None or record.status.is_terminal:
        return checkpoint
    checkpoint.record = record.copy(
        status=OrchestrationStatus.FAILED, output=reason, last_updated_time=now, completed_time=now
    )
    details = {"ErrorType": failure.error_type, "ErrorMessage": reason}
    checkpoint.new_events = [
        events.orchestrator_started(now),
        *([arriving.event] if arriving is not None else []),
        events.execution_completed(now, len(item.history), OrchestrationStatus.FAILED, reason, details),
        events.orchestrator_completed(now),
    ]
    parent = parent_instance(item.history or checkpoint.new_events)
    if parent:
        instance = parent["OrchestrationInstance"]
        failed = events.sub_orchestration_failed(now, parent["TaskScheduleId"], reason, reason)
        checkpoint.outgoing.append(Message(instance["InstanceId"], failed, instance["ExecutionId"]))
    return checkpoint


def _waiting_calls(item: WorkItem) -> list[EntityRequest]:
    calls = []
    for message in item.messages:
        event = message.event
        if event["EventType"] != EventType.EVENT_RAISED or event.get("Name") != OPERATION_EVENT_NAME:
            continue
        try:
            request = EntityRequest.from_json(event["Input"])
        except (KeyError, TypeError, ValueError):
            continue  # not a request this host can answer
        if not request.is_signal and request.parent_instance_id:
            calls.append(request)
    return calls


def _error_reply(request: EntityRequest, reason: str, now: datetime, entity: str) -> Message:
    outcome = OperationOutcome(is_error=True, result=json.dumps(reason), duration_ms=0)
    parent: str | None = request.parent_instance_id
    assert parent is not None
    reply = events.event_raised(now, request.id, response_message(outcome))
    return Message(parent, reply, request.parent_execution_id, sender=entity)
