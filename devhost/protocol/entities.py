"""Entity batches and the request/response messages around them (docs/protocol.md D.3, E)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The `EventRaised` name DTFx uses for every operation sent to an entity.
OPERATION_EVENT_NAME = "op"


def entity_instance_id(name: str, key: str) -> str:
    """The scheduler id `@<lower name>@<key>` that entity instances live under."""
    return f"@{name.lower()}@{key}"


def split_entity_instance_id(instance_id: str) -> tuple[str, str] | None:
    """`(name, key)` for an entity instance id, None for an orchestration id."""
    if not instance_id.startswith("@"):
        return None
    name, separator, key = instance_id[1:].partition("@")
    return (name, key) if separator else None


@dataclass(frozen=True)
class EntityRequest:
    """A `RequestMessage` as ext writes it; `input` is already in its wire form."""

    id: str
    operation: str
    is_signal: bool
    input: str | None
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None

    def to_json(self) -> str:
        body: dict[str, Any] = {"op": self.operation, "signal": self.is_signal, "id": self.id}
        if self.input is not None:
            body["input"] = self.input
        if self.parent_instance_id is not None:
            body["parent"] = self.parent_instance_id
            body["parentExecution"] = self.parent_execution_id
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> EntityRequest:
        body = json.loads(text)
        return cls(
            id=str(body["id"]),
            operation=str(body["op"]),
            is_signal=bool(body.get("signal")),
            input=body.get("input"),
            parent_instance_id=body.get("parent"),
            parent_execution_id=body.get("parentExecution"),
        )


def wire_input_from_action(action_input: str | None) -> str | None:
    """ext serializes an orchestrator's operation input once more (`"3"` → `"\\"3\\""`)."""
    return None if action_input is None else json.dumps(action_input)


def entity_batch(*, name: str, key: str, exists: bool, state: str | None, requests: list[EntityRequest]) -> str:
    """The JSON text given to an entity function for one batch of operations."""
    return json.dumps(
        {
            "self": {"name": name, "key": key},
            "exists": exists,
            "state": state,
            "batch": [
                {"name": request.operation, "input": request.input, "isSignal": request.is_signal}
                for request in requests
            ],
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class OperationOutcome:
    """One `results[i]`: `result` is JSON text (the message's JSON string when an error)."""

    is_error: bool
    result: str | None
    duration_ms: int


@dataclass(frozen=True)
class EntityBatchResult:
    exists: bool
    state: str | None
    outcomes: list[OperationOutcome]


def parse_entity_result(text: str) -> EntityBatchResult:
    raw = json.loads(text)
    return EntityBatchResult(
        exists=bool(raw.get("entityExists")),
        state=raw.get("entityState"),
        outcomes=[
            OperationOutcome(
                is_error=bool(item.get("isError")),
                result=item.get("result"),
                duration_ms=int(item.get("duration") or 0),
            )
            for item in raw.get("results", [])
        ],
    )


def response_message(outcome: OperationOutcome) -> str:
    """The `EventRaised.Input` that answers a call (`ResponseMessage`)."""
    body: dict[str, Any] = {"result": outcome.result}
    if outcome.is_error:
        body["exceptionType"] = "Error"
    return json.dumps(body, separators=(",", ":"))
