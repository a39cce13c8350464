"""Replays an orchestrator's actions against its history, as the Durable extension does.

ext's `OutOfProcOrchestrationShim` walks the SDK's cumulative action list on a DTFx
context, awaiting each action before invoking the next; DTFx feeds that context the
history in order, runs continuations as each event lands, and numbers every scheduled
task, timer, sub-orchestration and sent event from one counter (docs/protocol.md B.2,
D). This module is a small deterministic model of both: generators stand in for the
shim's async methods and futures for DTFx tasks. Whatever the model schedules that the
history does not hold yet is the episode's new work; anything it schedules differently
from the history is non-determinism, which fails the instance as DTFx does.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from ..protocol import (
    COMPLETION_ID_FIELDS,
    OPERATION_EVENT_NAME,
    EntityRequest,
    Event,
    EventType,
    events,
    parse_timestamp,
    split_entity_instance_id,
    wire_input_from_action,
)
from ..protocol.keys import storage_key_problem
from ..stores.base import Message
from .actions import HTTP_ACTIVITY, ActionType, KnownFunctions, ReplayFailure, RetryPolicy, next_http_poll
from .versioning import Versioning

# Versioning as host.json leaves it: immutable, so one serves every replay.
_NO_VERSIONING = Versioning()


class _Future:
    """A DTFx task: done once, failed or not, with the event payload as its value."""

    __slots__ = ("callbacks", "done", "failed", "value")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self.value: Any = None
        self.callbacks: list[Callable[[], None]] = []


def _completed(failed: bool = False, value: Any = None) -> _Future:
    future = _Future()
    future.done, future.failed, future.value = True, failed, value
    return future


_Coroutine = Generator[_Future, None, _Future | None]


@dataclass
class ReplayResult:
    """What the actions did beyond what history already records."""

    finished: bool = False
    error: str | None = None
    new_events: list[Event] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    continue_as_new_input: str | None = None
    continued_as_new: bool = False
    # Index in history of the event during which the shim finished (None: before any).
    finished_at: int | None = None
    # The id DTFx gives the next event it records (ExecutionCompleted, ContinueAsNew).
    next_event_id: int = 0


class Replay:
    """One replay of one episode. Use once: `Replay(...).run(actions)`."""

    def __init__(
        self,
        *,
        instance_id: str,
        execution_id: str,
        parent_instance_id: str | None,
        history: list[Event],
        functions: KnownFunctions,
        version: str | None = None,
        versioning: Versioning = _NO_VERSIONING,
    ) -> None:
        self._instance_id = instance_id
        self._execution_id = execution_id
        self._parent_instance_id = parent_instance_id
        self._version = version
        self._versioning = versioning
        self._history = history
        self._functions = functions
        self._scheduled: dict[int, Event] = {
            event["EventId"]: event
            for event in history
            if event["EventType"] in _SCHEDULING_TYPES and event["EventId"] >= 0
        }
        self._matched: set[int] = set()
        self._tasks: dict[int, _Future] = {}
        self._next_id = 0
        # The replay's clock: the latest OrchestratorStarted's time, parsed only when an
        # action needs it. Only work scheduled anew is stamped with it, so in a replay most
        # of those times are never read, and parsing each was a good share of its time.
        self._clock_text: str = history[0]["Timestamp"]
        self._clock: datetime | None = None
        self._ready: deque[Callable[[], None]] = deque()
        self._waiters: dict[str, list[_Future]] = {}
        self._buffered: dict[str, deque[Any]] = {}
        self._result = ReplayResult()

    @property
    def _now(self) -> datetime:
        if self._clock is None:
            self._clock = parse_timestamp(self._clock_text)
        return self._clock

    # --- driving ---------------------------------------------------------------------

    def run(self, actions: list[dict[str, Any]]) -> ReplayResult:
        main: _Future | None = None
        result = self._result
        for index, event in enumerate(self._history):
            kind = event["EventType"]
            if kind == EventType.ORCHESTRATOR_STARTED:
                self._clock_text, self._clock = event["Timestamp"], None
            elif kind == EventType.EXECUTION_STARTED:
                main = self._spawn(self._process_actions(actions))
            elif kind == EventType.EVENT_RAISED:
                self._raise_event(event.get("Name") or "", event.get("Input"))
            elif kind in COMPLETION_ID_FIELDS:
                self._complete(event)
            self._drain()
            if main is not None and main.done and result.finished_at is None:
                result.finished_at = index
                if main.failed and isinstance(main.value, ReplayFailure):
                    break
        result.next_event_id = self._next_id
        if main is not None and main.done:
            result.finished = True
            if main.failed and isinstance(main.value, ReplayFailure):
                result.error = str(main.value)
                return result
        unmatched = sorted(set(self._scheduled) - self._matched)
        if unmatched:
            result.error = self._non_determinism(self._scheduled[unmatched[0]])
        return result

    def _spawn(self, coroutine: _Coroutine) -> _Future:
        """Runs a coroutine until it awaits something pending, like a .NET async call."""
        outcome = _Future()

        def step() -> None:
            while True:
                try:
                    awaited = next(coroutine)
                except StopIteration as stop:
                    mirrored = stop.value
                    if mirrored is None:
                        self._resolve(outcome, False, None)
                    else:
                        self._resolve(outcome, mirrored.failed, mirrored.value)
                    return
                except ReplayFailure as failure:
                    self._resolve(outcome, True, failure)
                    return
                if not awaited.done:
                    awaited.callbacks.append(step)
                    return

        step()
        return outcome

    def _resolve(self, future: _Future, failed: bool, value: Any) -> None:
        if future.done:
            return
        future.done, future.failed, future.value = True, failed, value
        self._ready.extend(future.callbacks)
        future.callbacks = []

    def _drain(self) -> None:
        while self._ready:
            self._ready.popleft()()

    # --- the shim (ext OutOfProcOrchestrationShim.ProcessAsyncActionsV2) ------------------

    def _process_actions(self, actions: list[dict[str, Any]]) -> _Coroutine:
        for action in actions:
            # Failures of awaited tasks are the SDK's business; only invoking can fail here.
            yield self._invoke(action)
        return None

    def _invoke(self, action: dict[str, Any]) -> _Future:
        kind = action.get("actionType")
        if kind == ActionType.CALL_ACTIVITY:
            return self._schedule_task(action["functionName"], action.get("input"))
        if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
            name, payload = action["functionName"], action.get("input")
            self._functions.check("activity", name)
            return self._spawn(self._with_retry(lambda: self._schedule_task(name, payload), action))
        if kind == ActionType.CALL_SUB_ORCHESTRATOR:
            return self._create_sub_orchestration(action)
        if kind == ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY:
            self._check_sub_orchestration(action)
            return self._spawn(self._with_retry(lambda: self._create_sub_orchestration(action), action))
        if kind == ActionType.CONTINUE_AS_NEW:
            self._result.continued_as_new = True
            self._result.continue_as_new_input = action.get("input")
            return _completed()
        if kind == ActionType.CREATE_TIMER:
            timer = self._create_timer(parse_timestamp(action["fireAt"]))
            return _completed(failed=True) if action.get("isCanceled") else timer
        if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            return self._wait_for_event(action["externalEventName"])
        if kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY):
            return self._send_entity_operation(action, is_signal=kind == ActionType.SIGNAL_ENTITY)
        if kind == ActionType.CALL_HTTP:
            return self._spawn(self._call_http(action["httpRequest"]))
        if kind in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
            children = [self._invoke(child) for child in action.get("compoundActions") or []]
            return self._when(children, every=kind == ActionType.WHEN_ALL)
        raise ReplayFailure(f"Received an unexpected action type from the out-of-proc function: '{kind}'.")

    def _when(self, children: list[_Future], *, every: bool) -> _Future:
        """`Task.WhenAll` waits for every child even after a failure; `WhenAny` for one."""
        combined = _Future()
        pending = [child for child in children if not child.done]
        if not every and len(pending) < len(children):
            self._resolve(combined, False, next(c for c in children if c.done))
            return combined
        left = [len(pending)]  # a countdown: rescanning the children would be quadratic

        def settle(child: _Future) -> None:
            if not every:
                self._resolve(combined, False, child)
                return
            left[0] -= 1
            if left[0] == 0:
                self._resolve(combined, any(c.failed for c in children), None)

        for child in pending:
            child.callbacks.append(lambda child=child: settle(child))  # type: ignore[misc]
        if not pending:
            self._resolve(combined, any(c.failed for c in children), None)
        return combined

    def _with_retry(self, attempt: Callable[[], _Future], action: dict[str, Any]) -> _Coroutine:
        """DTFx `RetryInterceptor`: a durable timer between attempts, and one more after the
        last failure, which the SDK waits for before surfacing the error (D.1)."""
        policy = RetryPolicy.of(action)
        started = self._now
        outcome: _Future | None = None
        for count in range(policy.attempts):
            outcome = attempt()
            yield outcome
            if not outcome.failed:
                return outcome
            if policy.timeout is not None and self._now >= started + policy.timeout:
                break
            last = count + 1 >= policy.attempts
            yield self._create_timer(self._now if last else self._now + policy.delay(count))
        return outcome

    def _call_http(self, request: dict[str, Any]) -> _Coroutine:
        """ext `CallHttpAsync`: polls a 202's `Location` only if the request asks to."""
        outcome = self._schedule_task(HTTP_ACTIVITY, request)
        yield outcome
        while not outcome.failed and (poll := next_http_poll(request, outcome.value)) is not None:
            delay, follow_up = poll
            yield self._create_timer(self._now + delay)
            outcome = self._schedule_task(HTTP_ACTIVITY, follow_up)
            yield outcome
        return outcome

    # --- the DTFx context -----------------------------------------------------------------

    def _allocate(self, kind: EventType, name: str | None) -> tuple[int, Event | None]:
        """Takes the next event id; returns the history event that already holds it."""
        event_id = self._next_id
        self._next_id += 1
        existing = self._scheduled.get(event_id)
        if existing is None:
            return event_id, None
        if existing["EventType"] != kind or (name is not None and (existing.get("Name") or "").lower() != name.lower()):
            raise ReplayFailure(self._non_determinism(existing))
        self._matched.add(event_id)
        return event_id, existing

    def _task(self, event_id: int) -> _Future:
        future = _Future()
        self._tasks[event_id] = future
        return future

    def _schedule_task(self, name: str, payload: Any) -> _Future:
        if name != HTTP_ACTIVITY:
            self._functions.check("activity", name)
        event_id, existing = self._allocate(EventType.TASK_SCHEDULED, name)
        if existing is None:
            scheduled = events.task_scheduled(self._now, event_id, name, payload)
            self._emit(scheduled, Message(self._instance_id, scheduled, self._execution_id))
        return self._task(event_id)

    def _create_timer(self, fire_at: datetime) -> _Future:
        event_id, existing = self._allocate(EventType.TIMER_CREATED, None)
        if existing is None:
            self._emit(
                events.timer_created(self._now, event_id, fire_at),
                Message(
                    self._instance_id,
                    events.timer_fired(fire_at, event_id, fire_at),
                    self._execution_id,
                    fire_at=fire_at,
                ),
            )
        return self._task(event_id)

    def _check_sub_orchestration(self, action: dict[str, Any]) -> None:
        self._functions.check("orchestrator", action["functionName"])
        child = action.get("instanceId")
        if child is not None and (
            child.lower() == self._instance_id.lower() or (self._parent_instance_id or "").lower() == child.lower()
        ):
            raise ReplayFailure(
                "The instance ID of a sub-orchestration must be different than the "
                "instance ID of a parent orchestration."
            )
        if child is not None and child.startswith("@"):
            raise ReplayFailure("Orchestration instance ids must not start with @")

    def _create_sub_orchestration(self, action: dict[str, Any]) -> _Future:
        self._check_sub_orchestration(action)
        name = action["functionName"]
        event_id, existing = self._allocate(EventType.SUB_ORCHESTRATION_INSTANCE_CREATED, name)
        if existing is None:
            child = action.get("instanceId") or f"{self._execution_id}:{event_id}"
            if (problem := storage_key_problem(child)) is not None:  # new work only
                raise ReplayFailure(problem)
            stored_input = None if action.get("input") is None else json.dumps(action["input"])
            # Deterministic, so a re-run of this episode after a crash starts the same execution.
            child_execution = uuid.uuid5(uuid.NAMESPACE_OID, f"{self._execution_id}:{event_id}").hex
            # Without `version`, the child gets this host's defaultVersion, not the parent's.
            version = self._versioning.version_for(action.get("version"))
            start = events.execution_started(
                self._now,
                instance_id=child,
                execution_id=child_execution,
                name=name,
                input=stored_input,
                version=version,
                parent=events.parent_instance(
                    name=self._orchestration_name,
                    instance_id=self._instance_id,
                    execution_id=self._execution_id,
                    task_scheduled_id=event_id,
                    version=self._version,
                ),
            )
            self._emit(
                events.sub_orchestration_created(self._now, event_id, name, child, stored_input, version),
                Message(child, start, child_execution),
            )
        return self._task(event_id)

    def _send_entity_operation(self, action: dict[str, Any], *, is_signal: bool) -> _Future:
        target = action["instanceId"]
        entity = split_entity_instance_id(target)
        if entity is None:
            raise ReplayFailure(f"'{target}' is not an entity instance id.")
        self._functions.check("entity", entity[0])
        event_id, existing = self._allocate(EventType.EVENT_SENT, OPERATION_EVENT_NAME)
        if existing is not None:
            guid = str(json.loads(existing["Input"])["id"])  # the one history holds
        else:
            if (problem := storage_key_problem(target)) is not None:  # new work only
                raise ReplayFailure(problem)
            guid = self._request_id(event_id, target, action["operation"], action.get("input"))
            request = EntityRequest(
                id=guid,
                operation=action["operation"],
                is_signal=is_signal,
                input=wire_input_from_action(action.get("input")),
                parent_instance_id=self._instance_id,
                parent_execution_id=self._execution_id,
            ).to_json()
            self._emit(
                events.event_sent(self._now, event_id, target, OPERATION_EVENT_NAME, request),
                Message(target, events.event_raised(self._now, OPERATION_EVENT_NAME, request)),
            )
        if is_signal:
            return _completed()
        return self._wait_for_event(guid)

    def _request_id(self, event_id: int, target: str, operation: str, payload: str | None) -> str:
        """The entity request id, named after what a re-run of this episode shares with
        the first run (instance, execution, the EventSent's id, and the request itself),
        not after its time: an episode that runs again after a crash or a lost commit
        sends the same request, and the entity's duplicate check drops the repeat; a
        re-run that took another branch sends a different request under a different id."""
        name = json.dumps([self._instance_id, self._execution_id, event_id, target, operation, payload])
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    def _wait_for_event(self, name: str) -> _Future:
        """ext `WaitForExternalEvent`: waiters stack up per name (case-insensitive);
        events that arrived first are buffered in order."""
        key = name.lower()
        future = _Future()
        self._waiters.setdefault(key, []).append(future)
        buffered = self._buffered.get(key)
        if buffered:
            payload = buffered.popleft()
            if not buffered:
                del self._buffered[key]
            self._raise_event(name, payload)
        return future

    def _raise_event(self, name: str, payload: Any) -> None:
        key = name.lower()
        stack = self._waiters.get(key)
        if stack:
            waiter = stack.pop()
            if not stack:
                del self._waiters[key]
            self._resolve(waiter, False, payload)
        else:
            self._buffered.setdefault(key, deque()).append(payload)

    def _complete(self, event: Event) -> None:
        kind = event["EventType"]
        future = self._tasks.get(event.get(COMPLETION_ID_FIELDS[kind], -1))
        if future is None:
            return  # DTFx logs and ignores completions of tasks it does not know.
        failed = kind in FAILURE_TYPES
        value = event.get("Result") if not failed else event.get("Reason")
        self._resolve(future, failed, value)

    def _emit(self, event: Event, message: Message) -> None:
        self._result.new_events.append(event)
        self._result.messages.append(message)

    @cached_property
    def _orchestration_name(self) -> str:
        """The parent name every new sub-orchestration records; history does not change
        during a replay, so it is looked up once rather than per child."""
        started = next((e for e in self._history if e["EventType"] == EventType.EXECUTION_STARTED), None)
        return str(started.get("Name")) if started else ""

    def _non_determinism(self, event: Event) -> str:
        kind = EventType(event["EventType"]).name.lower().replace("_", " ")
        return (
            "Non-Deterministic workflow detected: A previous execution of this orchestration "
            f"recorded a '{kind}' event with sequence ID {event['EventId']} and name "
            f"'{event.get('Name') or ''}', but the current replay execution scheduled "
            "something else at that point. Was a change made to the orchestrator code after "
            "this instance had already started running?"
        )


_SCHEDULING_TYPES = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.TIMER_CREATED,
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        EventType.EVENT_SENT,
    }
)
# Completions that fail their task; a rewind also drops them from history.
FAILURE_TYPES = frozenset({EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED})
