"""What an episode that failed inside the host (a devhost defect, not the app's error)
leaves behind: the work it was given is consumed, so it is not redelivered forever, and
whoever waits on it hears of the failure instead of waiting forever.

An orchestration ends Failed with its completion event in history and its parent told,
as any failed orchestration; an entity keeps its state, and each operation a caller is
waiting for answers with an error.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

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
from ..stores.base import Checkpoint, Message, WorkItem
from .delivery import of_type, parent_instance


def host_failure(item: WorkItem, error: Exception, now: datetime) -> Checkpoint:
    reason = f"devhost internal error: {type(error).__name__}: {error}"
    checkpoint = Checkpoint(record=item.record, consumed=list(item.messages))
    if split_entity_instance_id(item.instance_id) is not None:
        checkpoint.outgoing = [_error_reply(request, reason, now) for request in _waiting_calls(item)]
        return checkpoint
    record = item.record
    if record is None or record.status.is_terminal:
        return checkpoint
    checkpoint.record = record.copy(
        status=OrchestrationStatus.FAILED, output=reason, last_updated_time=now, completed_time=now
    )
    details = {"ErrorType": type(error).__name__, "ErrorMessage": reason}
    # On a first episode the ExecutionStarted is still one of the messages.
    arriving = None if item.history else of_type(item.messages, EventType.EXECUTION_STARTED)
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


def _error_reply(request: EntityRequest, reason: str, now: datetime) -> Message:
    outcome = OperationOutcome(is_error=True, result=json.dumps(reason), duration_ms=0)
    parent: Optional[str] = request.parent_instance_id
    assert parent is not None
    reply = events.event_raised(now, request.id, response_message(outcome))
    return Message(parent, reply, request.parent_execution_id)
