"""The orchestrator's JSON round trip: the context the host sends, the state it gets back.

Mirrors ext `OrchestrationContextToString` and `OutOfProcOrchestrationShim`
(docs/protocol.md B and C).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .events import Event

# Azure Storage's timer limits, sent so the SDK splits long timers (docs/protocol.md B.3).
LONG_TIMER_INTERVAL = "3.00:00:00"
MAXIMUM_SHORT_TIMER = "6.00:00:00"

# What the SDK puts between an orchestrator's error and the state it carries.
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


def context_input(stored_input: str | None) -> Any:
    """The `input` field for a stored input JSON text, as ext passes its JToken.

    A stored JSON string (how every SDK client start arrives) goes as that string; any
    other JSON goes as its text, which the SDK decodes the same way it decodes objects.
    """
    if stored_input is None:
        return None
    try:
        value = json.loads(stored_input)
    except (ValueError, RecursionError):  # the SDK then fails the instance on it, as in Azure
        return stored_input
    return value if isinstance(value, str) else stored_input


def orchestration_context(
    *,
    instance_id: str,
    history: list[Event],
    stored_input: str | None,
    parent_instance_id: str | None = None,
) -> str:
    """The JSON text given to an orchestrator function."""
    return json.dumps(
        {
            "history": history,
            "input": context_input(stored_input),
            "instanceId": instance_id,
            "parentInstanceId": parent_instance_id,
            "isReplaying": len(history) > 2 and bool(history[1].get("IsPlayed")),
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "longRunningTimerIntervalDuration": LONG_TIMER_INTERVAL,
            "maximumShortTimerDuration": MAXIMUM_SHORT_TIMER,
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        },
        separators=(",", ":"),
    )


@dataclass
class OrchestratorState:
    """What one orchestrator invocation returned (`models/OrchestratorState.py`)."""

    is_done: bool
    actions: list[dict[str, Any]]
    schema_version: int
    has_output: bool = False
    output: Any = None
    custom_status: Any = None
    error: str | None = None

    @property
    def output_json(self) -> str | None:
        """The output as the JSON text the host stores, or None when absent."""
        return json.dumps(self.output) if self.has_output else None

    @property
    def custom_status_json(self) -> str | None:
        return None if self.custom_status is None else json.dumps(self.custom_status)


def parse_orchestrator_state(text: str) -> OrchestratorState:
    """Reads the state JSON; V1 (list per yield) is flattened to the V2 shape."""
    raw = json.loads(text)
    schema = int(raw.get("schemaVersion", 0))
    actions = raw.get("actions") or []
    flat = (actions[0] if actions else []) if schema >= 1 else [action for group in actions for action in group]
    return OrchestratorState(
        is_done=bool(raw.get("isDone")),
        actions=flat,
        schema_version=schema,
        has_output="output" in raw,
        output=raw.get("output"),
        custom_status=raw.get("customStatus"),
        error=raw.get("error"),
    )


def parse_orchestrator_failure(message: str) -> tuple[str, OrchestratorState | None]:
    """Splits an orchestrator exception into its message and the state it carries.

    The SDK raises `"<error>\\n\\n$OutOfProcData$:<state JSON>"`; ext replays the
    carried actions and custom status before failing the instance (C.1).
    """
    head, marker, tail = message.partition(OUT_OF_PROC_MARKER)
    if not marker:
        return message, None
    try:
        state = parse_orchestrator_state(tail)
    except ValueError:
        return message, None
    return (state.error or head), state
