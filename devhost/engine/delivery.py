"""Which of a work item's messages an orchestration episode delivers, and what a rewind
keeps of a history: the filtering DTFx does before the orchestrator sees anything.

Each event reaches the orchestrator once: messages for an execution that continued as
new are stale, and a second completion of a task, an entity response already received
or a message already in history is a duplicate (redelivery after a crash, or a second
host's send). An answer that arrives before the history of the episode that asked for it
was written (that episode sends first and writes after, and may have failed in between)
is out of order: it waits until that history is there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..protocol import COMPLETION_ID_FIELDS, Event, EventType, OrchestrationStatus, split_entity_instance_id
from ..stores.base import InstanceRecord, Message
from .replay import FAILURE_TYPES

# Messages handled by the host without running the orchestrator.
CONTROL_TYPES = frozenset(
    {
        EventType.EXECUTION_TERMINATED,
        EventType.EXECUTION_SUSPENDED,
        EventType.EXECUTION_RESUMED,
        EventType.EXECUTION_REWOUND,
    }
)


def started_record(instance_id: str, start: Event, now: datetime, previous: InstanceRecord | None) -> InstanceRecord:
    """The instance as an ExecutionStarted begins it (`previous`: the execution it
    continues, whose creation time and custom status carry over)."""
    parent = (start.get("ParentInstance") or {}).get("OrchestrationInstance") or {}
    return InstanceRecord(
        instance_id=instance_id,
        name=start["Name"],
        execution_id=start["OrchestrationInstance"]["ExecutionId"],
        status=OrchestrationStatus.RUNNING,
        created_time=previous.created_time if previous else now,
        last_updated_time=now,
        input=start.get("Input"),
        custom_status=previous.custom_status if previous else None,
        version=start.get("Version"),
        parent_instance_id=parent.get("InstanceId"),
    )


def is_entity_id(instance_id: str | None) -> bool:
    return instance_id is not None and split_entity_instance_id(instance_id) is not None


def parent_instance(history: Iterable[Event]) -> dict[str, Any] | None:
    """The `ParentInstance` of the execution's ExecutionStarted: who to tell how it ended."""
    for event in history:
        if event["EventType"] == EventType.EXECUTION_STARTED:
            parent: dict[str, Any] | None = event.get("ParentInstance")
            return parent
    return None


def of_type(messages: list[Message], kind: EventType) -> Message | None:
    return next((m for m in messages if m.event["EventType"] == kind), None)


def is_current(message: Message, record: InstanceRecord) -> bool:
    """Messages for an execution that continued as new are stale (DTFx drops them);
    starts are handled before delivery."""
    if message.event["EventType"] == EventType.EXECUTION_STARTED:
        return False
    return message.execution_id is None or message.execution_id == record.execution_id


class EarlyAnswers:
    """DTFx `OrchestrationSession.IsOutOfOrderMessage`: a task's, timer's or
    sub-orchestration's completion whose scheduling event is not in the history yet, or
    an entity's response to a request no EventSent in history carries. DTFx abandons such
    a message so it comes back after the checkpoint; delivering it now would reach an
    orchestrator that has not asked yet, and the answer would be lost.

    The history's ids are indexed once per episode, on first need: a fan-in delivers
    thousands of completions against a history of thousands of events."""

    def __init__(self, history: list[Event]) -> None:
        self._history = history
        self._event_ids: set[int] | None = None
        self._request_ids: set[str | None] | None = None

    def __call__(self, message: Message) -> bool:
        event = message.event
        field = COMPLETION_ID_FIELDS.get(event["EventType"])
        if field is not None:
            if self._event_ids is None:
                self._event_ids = {e["EventId"] for e in self._history if "EventId" in e}
            return event[field] not in self._event_ids
        if event["EventType"] != EventType.EVENT_RAISED or not is_entity_id(message.sender):
            return False
        if self._request_ids is None:
            self._request_ids = {
                _request_id(e.get("Input")) for e in self._history if e["EventType"] == EventType.EVENT_SENT
            }
        return event.get("Name") not in self._request_ids


def _request_id(sent_input: str | None) -> str | None:
    try:
        request = json.loads(sent_input or "")
    except ValueError:
        return None
    return str(request.get("id")) if isinstance(request, dict) else None


def drop_duplicates(history: list[Event], incoming: list[Message]) -> list[Message]:
    completed: set[int] = set()
    raised_names: set[str] = set()
    seen: set[str] = set()
    sent_inputs: list[str] = []
    for event in history:
        field = COMPLETION_ID_FIELDS.get(event["EventType"])
        if field is not None:
            completed.add(event[field])
        elif event["EventType"] == EventType.EVENT_RAISED:
            raised_names.add(event.get("Name") or "")
            if event.get("MessageId"):
                seen.add(event["MessageId"])
        elif event["EventType"] == EventType.EVENT_SENT and event.get("Input"):
            sent_inputs.append(event["Input"])
    # Ids of the entity requests sent, parsed only once an event could be a second
    # response to one of them: most batches (activity completions) never need them.
    requests: set[str] | None = None
    kept = []
    for message in incoming:
        event = message.event
        field = COMPLETION_ID_FIELDS.get(event["EventType"])
        if field is not None:
            if event[field] in completed:
                continue
            completed.add(event[field])
        elif event["EventType"] == EventType.EVENT_RAISED:
            name = event.get("Name") or ""
            if message.id in seen:
                continue
            if name in raised_names:
                if requests is None:
                    requests = {str(json.loads(text).get("id")) for text in sent_inputs}
                if name in requests:
                    continue
            raised_names.add(name)
        seen.add(message.id)
        kept.append(message)
    return kept


def rewound(history: list[Event]) -> tuple[list[Event], list[str]]:
    """The history without the failure and the failed tasks, so the next run of the
    orchestrator schedules them again; and the failed sub-orchestrations to rewind."""
    failed = {e["TaskScheduledId"] for e in history if e["EventType"] in FAILURE_TYPES}
    kept: list[Event] = []
    children: list[str] = []
    for event in history:
        kind = event["EventType"]
        if kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED and event["EventId"] in failed:
            children.append(event["InstanceId"])
        if kind == EventType.EXECUTION_COMPLETED or kind in FAILURE_TYPES:
            continue
        if kind == EventType.TASK_SCHEDULED and event["EventId"] in failed:
            continue
        kept.append(event)
    return kept, children
