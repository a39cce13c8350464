"""History events as the Durable extension serializes them for out-of-process SDKs.

Field names and codes follow DTFx `History/*.cs` (docs/protocol.md B.1); the SDK reads
them by name, so one constructor per event type keeps every producer consistent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class EventType(IntEnum):
    """DTFx `EventType` codes (the SDK's `HistoryEventType`)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20
    EXECUTION_REWOUND = 21


class OrchestrationStatus(IntEnum):
    """DTFx `OrchestrationStatus`, which is also the HTTP API's `runtimeStatus` order."""

    RUNNING = 0
    COMPLETED = 1
    CONTINUED_AS_NEW = 2
    FAILED = 3
    CANCELED = 4
    TERMINATED = 5
    PENDING = 6
    SUSPENDED = 7

    @property
    def api_name(self) -> str:
        """The name the HTTP API and the Instances table use (`ContinuedAsNew`)."""
        return _pascal_case(self.name)

    @classmethod
    def from_api_name(cls, name: str) -> OrchestrationStatus:
        """Reads a status name as stored (`RuntimeStatus` column), in any case; the HTTP
        API's `runtimeStatus` filter is stricter (`http/queries.py`)."""
        for status in cls:
            if status.api_name.lower() == name.strip().lower():
                return status
        raise ValueError(name)

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        OrchestrationStatus.COMPLETED,
        OrchestrationStatus.FAILED,
        OrchestrationStatus.TERMINATED,
        OrchestrationStatus.CANCELED,
    }
)


def _pascal_case(member_name: str) -> str:
    """`TASK_SCHEDULED` → `TaskScheduled`: .NET writes its enum names this way."""
    return "".join(part.capitalize() for part in member_name.split("_"))


# Every history row's type is named or parsed, so both directions are tables, not loops.
_EVENT_TYPE_NAMES: dict[int, str] = {kind: _pascal_case(kind.name) for kind in EventType}
_EVENT_TYPES_BY_NAME: dict[str, int] = {name: int(kind) for kind, name in _EVENT_TYPE_NAMES.items()}


def event_type_name(kind: int) -> str:
    """`TaskScheduled` for 4: how the status API and the History table write types."""
    name = _EVENT_TYPE_NAMES.get(kind) if isinstance(kind, int) else None
    # Anything else goes through `EventType`, which names or rejects it (ValueError).
    return name if name is not None else _EVENT_TYPE_NAMES[EventType(kind)]


def event_type_from_name(name: str) -> int:
    kind = _EVENT_TYPES_BY_NAME.get(name)
    if kind is None:
        raise ValueError(f"Unknown history event type '{name}'.")
    return kind


# Completion events name the event that scheduled their task in one of these fields.
COMPLETION_ID_FIELDS: dict[int, str] = {
    EventType.TASK_COMPLETED: "TaskScheduledId",
    EventType.TASK_FAILED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: "TaskScheduledId",
    EventType.TIMER_FIRED: "TimerId",
}


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the form the extension sends and the SDK parses."""
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Reads the timestamps the SDK writes (`fireAt`) and this module writes."""
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    moment = datetime.fromisoformat(_trim_fraction(cleaned))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _trim_fraction(text: str) -> str:
    """`fromisoformat` in 3.11 takes at most 6 fraction digits; .NET writes 7."""
    if "." not in text:
        return text
    head, _, rest = text.partition(".")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"


def _event(event_type: EventType, timestamp: datetime, event_id: int = -1, **fields: Any) -> Event:
    return {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(timestamp),
        **fields,
    }


def orchestrator_started(timestamp: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_STARTED, timestamp)


def orchestrator_completed(timestamp: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_COMPLETED, timestamp)


def execution_started(
    timestamp: datetime,
    *,
    instance_id: str,
    execution_id: str,
    name: str,
    input: str | None,
    version: str | None = None,
    parent: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> Event:
    """`Input` is the JSON text of the orchestration input (or None); `Version` is
    always present, null for an unversioned instance (the SDK reads it as
    `context.version`)."""
    return _event(
        EventType.EXECUTION_STARTED,
        timestamp,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Name=name,
        Version=version,
        Input=input,
        Tags=tags,
        Correlation=None,
        ScheduledStartTime=None,
        Generation=0,
    )


def parent_instance(
    *, name: str, instance_id: str, execution_id: str, task_scheduled_id: int, version: str | None
) -> dict[str, Any]:
    """The `ParentInstance` of a sub-orchestration's ExecutionStarted event; `Version` is
    the parent's (DTFx `ProcessCreateSubOrchestrationInstanceDecision`)."""
    return {
        "Name": name,
        "OrchestrationInstance": {"InstanceId": instance_id, "ExecutionId": execution_id},
        "TaskScheduleId": task_scheduled_id,
        "Version": version,
    }


def execution_completed(
    timestamp: datetime,
    event_id: int,
    status: OrchestrationStatus,
    result: str | None,
    failure_details: dict[str, Any] | None = None,
) -> Event:
    return _event(
        EventType.EXECUTION_COMPLETED,
        timestamp,
        event_id,
        OrchestrationStatus=int(status),
        Result=result,
        FailureDetails=failure_details,
    )


def execution_terminated(timestamp: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_TERMINATED, timestamp, Input=reason)


def execution_suspended(timestamp: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_SUSPENDED, timestamp, Reason=reason)


def execution_rewound(timestamp: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_REWOUND, timestamp, Reason=reason)


def execution_resumed(timestamp: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_RESUMED, timestamp, Reason=reason)


def task_scheduled(timestamp: datetime, event_id: int, name: str, input: str | None) -> Event:
    """DTFx stores activity parameters as a JSON array of one item."""
    return _event(
        EventType.TASK_SCHEDULED,
        timestamp,
        event_id,
        Name=name,
        Version="",
        Input=json.dumps([input]),
    )


def task_completed(timestamp: datetime, scheduled_id: int, result: str | None) -> Event:
    return _event(EventType.TASK_COMPLETED, timestamp, TaskScheduledId=scheduled_id, Result=result)


def task_failed(timestamp: datetime, scheduled_id: int, reason: str, details: str) -> Event:
    return _event(
        EventType.TASK_FAILED,
        timestamp,
        TaskScheduledId=scheduled_id,
        Reason=reason,
        Details=details,
    )


def sub_orchestration_created(
    timestamp: datetime,
    event_id: int,
    name: str,
    instance_id: str,
    input: str | None,
    version: str | None = None,
) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        timestamp,
        event_id,
        Name=name,
        Version=version,
        InstanceId=instance_id,
        Input=input,
    )


def sub_orchestration_completed(timestamp: datetime, scheduled_id: int, result: str | None) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
        timestamp,
        TaskScheduledId=scheduled_id,
        Result=result,
    )


def sub_orchestration_failed(
    timestamp: datetime,
    scheduled_id: int,
    reason: str | None,
    details: str | None,
    failure_details: dict[str, Any] | None = None,
) -> Event:
    fields: dict[str, Any] = {"Reason": reason, "Details": details}
    if failure_details is not None:
        fields["FailureDetails"] = failure_details
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        timestamp,
        TaskScheduledId=scheduled_id,
        **fields,
    )


def timer_created(timestamp: datetime, event_id: int, fire_at: datetime) -> Event:
    return _event(EventType.TIMER_CREATED, timestamp, event_id, FireAt=format_timestamp(fire_at))


def timer_fired(timestamp: datetime, timer_id: int, fire_at: datetime) -> Event:
    return _event(EventType.TIMER_FIRED, timestamp, TimerId=timer_id, FireAt=format_timestamp(fire_at))


def event_raised(timestamp: datetime, name: str, input: str | None) -> Event:
    return _event(EventType.EVENT_RAISED, timestamp, Name=name, Input=input)


def event_sent(timestamp: datetime, event_id: int, instance_id: str, name: str, input: str) -> Event:
    return _event(EventType.EVENT_SENT, timestamp, event_id, InstanceId=instance_id, Name=name, Input=input)


def continue_as_new(timestamp: datetime, event_id: int, result: str | None) -> Event:
    return _event(
        EventType.CONTINUE_AS_NEW,
        timestamp,
        event_id,
        Result=result,
        OrchestrationStatus=int(OrchestrationStatus.CONTINUED_AS_NEW),
    )


def generic_event(timestamp: datetime, data: str) -> Event:
    return _event(EventType.GENERIC_EVENT, timestamp, Data=data)
