"""Real orchestration history, episode by episode, and one replay through the SDK.

Like the SDK's own `tests/test_utils/ContextBuilder.py`, but built on
`devhost.protocol` so the JSON is exactly what a host sends (docs/protocol.md B), and
with ids allocated in the order the SDK numbers tasks (B.2, D.1). A test schedules work
in the order the orchestrator does, then completes it in later episodes.
"""

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import azure.durable_functions as df
from azure.functions.decorators.function_app import FunctionBuilder

from devhost.protocol import (
    EntityRequest,
    OperationOutcome,
    OrchestratorState,
    entity_instance_id,
    events,
    orchestration_context,
    parse_orchestrator_failure,
    parse_orchestrator_state,
    response_message,
    wire_input_from_action,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
STEP = timedelta(seconds=1)


class HistoryBuilder:
    """The history of one execution; the last episode is the one `context_json()` replays."""

    def __init__(
        self,
        name: str,
        input: Any = None,
        *,
        instance_id: str = "instance-1",
        started_at: datetime = T0,
        from_sdk_client: bool = True,
    ) -> None:
        """`from_sdk_client`: the input came through `start_new`, so it is stored as a
        JSON string of JSON text (I.1); False stores it as the raw HTTP API does.
        """
        self.instance_id = instance_id
        self.execution_id = "execution-1"
        self.now = started_at
        self.stored_input = _stored(input, double_encoded=from_sdk_client)
        self._next_id = 0
        self._timers: dict[int, datetime] = {}
        self._activity_names: dict[int, str] = {}
        self._history: list[events.Event] = [
            events.orchestrator_started(started_at),
            events.execution_started(
                started_at,
                instance_id=instance_id,
                execution_id=self.execution_id,
                name=name,
                input=self.stored_input,
            ),
        ]

    # -- episodes -------------------------------------------------------------------

    def next_episode(self, *, at: Optional[datetime] = None) -> "HistoryBuilder":
        """Ends this episode; what follows is new to the next replay, at `at` (default +1 s)."""
        self._history.append(events.orchestrator_completed(self.now))
        # Earlier episodes are replayed; OrchestratorStarted stays unplayed (B.2).
        for event in self._history:
            if event["EventType"] != events.EventType.ORCHESTRATOR_STARTED:
                event["IsPlayed"] = True
        self.now = at if at is not None else self.now + STEP
        self._history.append(events.orchestrator_started(self.now))
        return self

    @property
    def history(self) -> list[events.Event]:
        """The events so far, as a host would send them."""
        return self._history

    def context_json(self) -> str:
        """The JSON a host gives the orchestrator for the current (last) episode."""
        return orchestration_context(
            instance_id=self.instance_id, history=self._history, stored_input=self.stored_input
        )

    # -- work the orchestrator scheduled (in the current episode) ---------------------

    def schedule_activity(self, name: str, input: Any = None) -> int:
        task_id = self._allocate()
        self._activity_names[task_id] = name
        self._history.append(events.task_scheduled(self.now, task_id, name, json.dumps(input)))
        return task_id

    def schedule_timer(self, fire_at: datetime) -> int:
        timer_id = self._allocate()
        self._timers[timer_id] = fire_at
        self._history.append(events.timer_created(self.now, timer_id, fire_at))
        return timer_id

    def schedule_sub_orchestration(self, name: str, input: Any = None) -> int:
        task_id = self._allocate()
        child_id = f"{self.execution_id}:{task_id}"  # DTFx's id when none is given (D)
        self._history.append(
            events.sub_orchestration_created(self.now, task_id, name, child_id, json.dumps(input))
        )
        return task_id

    def send_entity_operation(self, entity: df.EntityId, operation: str, input: Any = None) -> str:
        """A call to an entity; returns the request id its answer is raised under."""
        event_id = self._allocate()
        request = EntityRequest(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.instance_id}/{event_id}")),
            operation=operation,
            is_signal=False,
            input=wire_input_from_action(json.dumps(input)),  # serialized once more (D.3)
            parent_instance_id=self.instance_id,
            parent_execution_id=self.execution_id,
        )
        self._history.append(
            events.event_sent(
                self.now,
                event_id,
                entity_instance_id(entity.name, entity.key),
                "op",
                request.to_json(),
            )
        )
        return request.id

    # -- what happened since (in the current episode) ---------------------------------

    def complete_activity(self, task_id: int, result: Any) -> None:
        self._history.append(events.task_completed(self.now, task_id, json.dumps(result)))

    def fail_activity(self, task_id: int, reason: str, details: str = "") -> None:
        self._history.append(events.task_failed(self.now, task_id, reason, details))

    def fire_timer(self, timer_id: int) -> None:
        self._history.append(events.timer_fired(self.now, timer_id, self._timers[timer_id]))

    def complete_sub_orchestration(self, task_id: int, result: Any) -> None:
        self._history.append(
            events.sub_orchestration_completed(self.now, task_id, json.dumps(result))
        )

    def fail_sub_orchestration(self, task_id: int, reason: str, details: str = "") -> None:
        self._history.append(events.sub_orchestration_failed(self.now, task_id, reason, details))

    def raise_event(self, name: str, payload: Any, *, from_sdk_client: bool = True) -> None:
        """An external event; the SDK client posts its payload double-encoded (I.1)."""
        self._history.append(
            events.event_raised(self.now, name, _stored(payload, double_encoded=from_sdk_client))
        )

    def answer_entity_call(self, request_id: str, result: Any) -> None:
        """The entity's `ResponseMessage`, raised under the request id (D.3)."""
        outcome = OperationOutcome(is_error=False, result=json.dumps(result), duration_ms=0)
        self._history.append(events.event_raised(self.now, request_id, response_message(outcome)))

    # -- shorthands for the common shapes ---------------------------------------------

    def run_activity(self, name: str, result: Any, *, input: Any = None) -> int:
        """Schedules `name` now and completes it in the next episode."""
        task_id = self.schedule_activity(name, input)
        self.next_episode()
        self.complete_activity(task_id, result)
        return task_id

    def fail_attempt(
        self, task_id: int, reason: str, *, retry_after: timedelta, last: bool = False
    ) -> Optional[int]:
        """A failed `*_with_retry` attempt: the host's retry timer, then the next attempt.

        After the last attempt the timer still fires before the error surfaces (D.1), so
        the SDK numbers it too. Returns the next attempt's id (None when `last`).
        """
        self.fail_activity(task_id, reason, "simulated failure details")
        timer_id = self.schedule_timer(self.now + retry_after)
        self.next_episode(at=self._timers[timer_id])
        self.fire_timer(timer_id)
        if last:
            return None
        next_attempt = self.schedule_activity(self._activity_names[task_id])
        self.next_episode()
        return next_attempt

    def _allocate(self) -> int:
        task_id, self._next_id = self._next_id, self._next_id + 1
        return task_id


def _stored(value: Any, *, double_encoded: bool) -> Optional[str]:
    if value is None:
        return None
    text = json.dumps(value)
    return json.dumps(text) if double_encoded else text


def replay(orchestrator: FunctionBuilder, context_json: str) -> OrchestratorState:
    """Runs the orchestrator's SDK handle once, as the worker does; a failure sets `.error`."""
    handle = orchestrator._function.get_user_function()
    try:
        return parse_orchestrator_state(handle(context_json))
    except Exception as failure:  # The SDK reports orchestrator failures by raising (C.1).
        message, state = parse_orchestrator_failure(str(failure))
        if state is None:
            state = OrchestratorState(is_done=False, actions=[], schema_version=2)
        return replace(state, error=message)


def leaf_actions(state: OrchestratorState) -> list[dict[str, Any]]:
    """Every action, compound ones (task_all/any, retries) opened depth-first."""
    leaves: list[dict[str, Any]] = []

    def walk(actions: list[dict[str, Any]]) -> None:
        for action in actions:
            if "compoundActions" in action:
                walk(action["compoundActions"])
            else:
                leaves.append(action)

    walk(state.actions)
    return leaves


# actionType codes (docs/protocol.md C)
CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR = 0, 1, 2
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_FOR_EVENT, CALL_ENTITY, SIGNAL_ENTITY = 4, 5, 6, 7, 9


def calls(state: OrchestratorState, *types: int) -> list[tuple[str, Any]]:
    """`(function name, decoded input)` of activity and sub-orchestration calls, in order."""
    wanted = types or (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR)
    return [
        (action["functionName"], json.loads(action["input"]))
        for action in leaf_actions(state)
        if action["actionType"] in wanted
    ]


def of_type(state: OrchestratorState, action_type: int) -> list[dict[str, Any]]:
    return [action for action in leaf_actions(state) if action["actionType"] == action_type]
