"""How the status API describes instances and entities: ext's `StatusResponsePayload`,
its entity listing items, and the history as `DurableClient` shapes it.

Stored input, output and custom status are JSON texts and go out parsed (a raw string,
such as a terminate reason, stays a string), as ext `DurableClient.ParseToJToken` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..protocol import (
    COMPLETION_ID_FIELDS,
    Event,
    EventType,
    OrchestrationStatus,
    event_type_name,
    split_entity_instance_id,
)
from ..stores.base import InstanceRecord
from .entities import EntityState

__all__ = ["EntityStatus", "InstanceStatus"]

# How the status API shapes `historyEvents` (ext `DurableClient`).
_EPISODE_MARKERS = frozenset({EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED})
_SCHEDULING = frozenset({EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED})
_RESULT_TYPES = frozenset(
    {EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, EventType.EXECUTION_COMPLETED}
)
_NEVER_SHOWN = frozenset({"EventId", "IsPlayed", "MessageId", "TaskScheduledId"})
_HIDDEN_FIELDS: dict[int, frozenset[str]] = {
    EventType.EXECUTION_STARTED: frozenset({"OrchestrationInstance", "ParentInstance", "Version", "Tags"}),
    EventType.TIMER_FIRED: frozenset({"TimerId"}),
}


def parse_stored(text: str | None) -> Any:
    """Stored input/output/custom status are JSON texts; a raw reason stays a string."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def api_time(moment: datetime | None) -> str | None:
    """The status API's `yyyy-MM-ddTHH:mm:ssZ`."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _round_trip_time(moment: datetime) -> str:
    """A UTC time as Newtonsoft writes a DateTime: fraction digits only as far as needed."""
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


@dataclass(frozen=True)
class InstanceStatus:
    """One instance as the status API describes it."""

    name: str
    instance_id: str
    runtime_status: str
    input: Any
    custom_status: Any
    output: Any
    created_time: str | None
    last_updated_time: str | None
    history: list[dict[str, Any]] | None = None
    version: str | None = None

    @property
    def is_terminal(self) -> bool:
        return OrchestrationStatus.from_api_name(self.runtime_status).is_terminal

    def to_json(self, *, show_input: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "instanceId": self.instance_id}
        if self.version is not None:  # ext `StatusResponsePayload`: only when there is one
            body["version"] = self.version
        body |= {
            "runtimeStatus": self.runtime_status,
            "input": self.input if show_input else None,
            "customStatus": self.custom_status,
            "output": self.output,
            "createdTime": self.created_time,
            "lastUpdatedTime": self.last_updated_time,
        }
        if self.history is not None:
            body["historyEvents"] = self.history
        return body

    @classmethod
    def of(cls, record: InstanceRecord, history: list[dict[str, Any]] | None = None) -> InstanceStatus:
        return cls(
            name=record.name,
            instance_id=record.instance_id,
            runtime_status=record.status.api_name,
            input=parse_stored(record.input),
            custom_status=parse_stored(record.custom_status),
            output=parse_stored(record.output),
            created_time=api_time(record.created_time),
            last_updated_time=api_time(record.last_updated_time),
            history=history,
            version=record.version,
        )


@dataclass(frozen=True)
class EntityStatus:
    name: str
    key: str
    exists: bool
    state: Any
    last_operation_time: str | None

    def to_json(self, *, fetch_state: bool = True) -> dict[str, Any]:
        """ext's `EntityStateResponse` items: `state` always there, null unless fetched."""
        return {
            "entityId": {"name": self.name, "key": self.key},
            "lastOperationTime": self.last_operation_time,
            "state": self.state if fetch_state else None,
        }


def entity_status(record: InstanceRecord) -> EntityStatus | None:
    parts = split_entity_instance_id(record.instance_id)
    if parts is None:
        return None
    state = EntityState.of(record)
    return EntityStatus(
        name=parts[0],
        key=parts[1],
        exists=state.exists,
        state=parse_stored(state.state),
        last_operation_time=_round_trip_time(record.last_updated_time),
    )


def history_events(raw: list[Event], *, show_output: bool, show_input: bool = True) -> list[dict[str, Any]]:
    """History as ext `DurableClient.GetDurableOrchestrationStatusAsync` shows it: types
    by name, episode markers and the scheduling rows of finished tasks left out,
    completions annotated with the function, time and input they were scheduled with,
    results only on request; no ids, no replay flags."""
    scheduled = {e["EventId"]: e for e in raw if e["EventType"] in _SCHEDULING}
    finished = {e[field] for e in raw if (field := COMPLETION_ID_FIELDS.get(e["EventType"])) and field != "TimerId"}
    shown: list[dict[str, Any]] = []
    for event in raw:
        kind = event["EventType"]
        if kind in _EPISODE_MARKERS or (kind in _SCHEDULING and event["EventId"] in finished):
            continue
        row: dict[str, Any] = {}
        for field, value in event.items():
            if field in _NEVER_SHOWN or field in _HIDDEN_FIELDS.get(kind, ()):
                continue
            if field == "Input" and not show_input:
                continue
            if field == "Result" and kind in _RESULT_TYPES:
                if show_output:
                    row["Result"] = parse_stored(value)
                continue
            if field == "EventType":
                value = event_type_name(kind)
            elif field == "Name" and kind == EventType.EXECUTION_STARTED:
                field = "FunctionName"
            elif field == "OrchestrationStatus" and kind == EventType.EXECUTION_COMPLETED:
                value = OrchestrationStatus(value).api_name
            row[field] = value
        source = scheduled.get(event.get("TaskScheduledId", -1))
        if source is not None:
            row["FunctionName"] = source.get("Name")
            row["ScheduledTime"] = source.get("Timestamp")
            if show_input:
                row["Input"] = source.get("Input")
        shown.append(row)
    return shown
