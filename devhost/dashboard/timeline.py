"""The timeline of one orchestration execution: its history paired up into bars, from
when each piece of work began to when it ended, laid out in lanes so that parallel work
sits side by side. `timeline_svg.py` draws it.

The history is the engine's, ids included (`Management.history`): the status API's
`historyEvents` drop the ids that pair a completion with what it completes.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..engine.statuses import parse_stored
from ..protocol import (
    OPERATION_EVENT_NAME,
    EntityRequest,
    Event,
    EventType,
    OrchestrationStatus,
    parse_timestamp,
    split_entity_instance_id,
)


class BarKind(StrEnum):
    """What a bar stands for; the values are the SVG's `data-kind`."""

    ACTIVITY = "activity"
    TIMER = "timer"
    SUB_ORCHESTRATION = "sub-orchestration"
    ENTITY_CALL = "entity-call"
    EVENT_WAIT = "event-wait"

    @property
    def display(self) -> str:
        """The words a person reads in the legend and tooltips."""
        return _KIND_WORDS[self]


_KIND_WORDS = {
    BarKind.ACTIVITY: "activity",
    BarKind.TIMER: "timer",
    BarKind.SUB_ORCHESTRATION: "sub-orchestration",
    BarKind.ENTITY_CALL: "entity call",
    BarKind.EVENT_WAIT: "wait for an event",
}


class Outcome(StrEnum):
    """How a bar ended; `UNFINISHED` is work the execution ended without (a timer
    cancelled by a `task_any`, an activity still running when the instance was
    terminated), which no longer runs for this execution even if its worker goes on."""

    COMPLETED = "completed"
    FAILED = "failed"
    RUNNING = "running"
    UNFINISHED = "unfinished"


@dataclass(frozen=True)
class Bar:
    """One piece of work. `attempt` numbers the tries of a retried call (None for a call
    made once); `detail` is what the tooltip adds: a failure's reason, a timer's due time,
    the child instance or entity called."""

    kind: BarKind
    label: str
    lane: int
    start: datetime
    end: datetime
    outcome: Outcome
    attempt: int | None = None
    detail: str | None = None
    # The episodes (1 for the first, counted by OrchestratorStarted) the bar began and
    # ended in: the axis that still tells work apart when a virtual clock stood still.
    first_episode: int = 1
    last_episode: int = 1

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class Marker:
    """A moment of the execution itself: its end (`Completed`, `Failed`, `Terminated`,
    `ContinuedAsNew`: the next generation has a history of its own), a suspension, a
    resumption, a rewind."""

    label: str
    at: datetime
    detail: str | None = None
    episode: int = 1


@dataclass(frozen=True)
class Timeline:
    """Bars in start order (then history order, which for scheduled work is event-id
    order, docs/protocol.md B.2), markers in history order, and the span to draw."""

    bars: tuple[Bar, ...]
    markers: tuple[Marker, ...]
    start: datetime
    end: datetime
    # Episodes of the history, plus one while the execution runs (work still open ends
    # in the episode to come).
    episodes: int = 1

    @property
    def by_time(self) -> bool:
        """Whether time tells the work apart: not when most bars took no time at all, as
        everything does between two moves of a virtual clock (the episodes then do)."""
        if self.end <= self.start:
            return False
        instant = sum(1 for bar in self.bars if bar.end <= bar.start)
        return instant * 2 < len(self.bars) or not self.bars


def build_timeline(history: Sequence[Event], *, now: datetime) -> Timeline:
    """`now` is the host's clock (the virtual clock's time under `--virtual-clock`):
    where work still running ends."""
    return _Reader(history, now).read()


# The only events of an episode in which the orchestrator did not run (devhost handles
# suspend and resume itself, engine/orchestrations.py): a wait goes on through them.
_HOST_ONLY = frozenset({EventType.ORCHESTRATOR_COMPLETED, EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED})

# A place in the history: its time, then its index. Under a virtual clock work takes no
# time at all, so times alone cannot tell a chain (each call scheduled after the last
# one's result was read) from a fan-out (every call scheduled before any result): the
# history's order can, and it only decides between equal times.
_Point = tuple[datetime, int]


@dataclass
class _Span:
    """A bar being read: open until its completion is found."""

    kind: BarKind
    label: str
    begin: _Point
    detail: str | None = None
    # What makes a later call the same call again: kind, name and input.
    call: tuple[BarKind, str, str | None] | None = None
    finish: _Point | None = None
    outcome: Outcome = Outcome.RUNNING
    attempt: int | None = None


class _Reader:
    """One pass over the history, pairing each completion with the event it completes."""

    def __init__(self, history: Sequence[Event], now: datetime) -> None:
        self._history = history
        self._now = now
        self._spans: list[_Span] = []
        self._by_event_id: dict[int, _Span] = {}  # tasks, sub-orchestrations, timers
        self._by_request_id: dict[str, _Span] = {}  # entity calls
        # Failed calls a later identical call would be the next attempt of.
        self._failed: dict[tuple[BarKind, str, str | None], list[_Span]] = {}
        self._markers: list[Marker] = []
        self._decided: _Point | None = None  # the last episode the orchestrator ran in
        self._orchestrator_ran = False  # in the episode being read
        self._fired_timer: _Span | None = None  # the last, which may be a retry's delay
        self._ended: _Point | None = None
        self._terminated = False
        self._episodes: list[int] = []  # the episode of each history index
        self._handlers: dict[int, Callable[[Event, _Point], None]] = {
            EventType.TASK_SCHEDULED: self._task_scheduled,
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: self._sub_orchestration_created,
            EventType.TIMER_CREATED: self._timer_created,
            EventType.EVENT_SENT: self._event_sent,
            EventType.TASK_COMPLETED: self._completed,
            EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: self._completed,
            EventType.TIMER_FIRED: self._timer_fired,
            EventType.TASK_FAILED: self._failed_task,
            EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: self._failed_task,
            EventType.EVENT_RAISED: self._event_raised,
            EventType.ORCHESTRATOR_COMPLETED: self._orchestrator_completed,
            EventType.EXECUTION_COMPLETED: self._execution_completed,
            EventType.CONTINUE_AS_NEW: self._execution_completed,
            EventType.EXECUTION_TERMINATED: self._execution_terminated,
            EventType.EXECUTION_SUSPENDED: self._marker_of("Suspended", "Reason"),
            EventType.EXECUTION_RESUMED: self._marker_of("Resumed", "Reason"),
            # devhost records a rewind as `Rewound: <reason>` (engine/orchestrations.py).
            EventType.GENERIC_EVENT: self._marker_of("Rewound", "Data"),
        }

    def read(self) -> Timeline:
        start: datetime | None = None
        latest: datetime | None = None
        episode = 0
        for index, event in enumerate(self._history):
            kind, moment = event["EventType"], parse_timestamp(event["Timestamp"])
            if start is None or kind == EventType.EXECUTION_STARTED:
                start = moment
            latest = max(moment, latest or moment)
            if kind == EventType.ORCHESTRATOR_STARTED or episode == 0:
                episode += 1
            self._episodes.append(episode)
            if kind == EventType.ORCHESTRATOR_STARTED:
                self._orchestrator_ran = False
            elif kind not in _HOST_ONLY:
                self._orchestrator_ran = True
            handler = self._handlers.get(kind)
            if handler is not None:
                handler(event, (moment, index))
        start = start or self._now
        # A `now` behind the history (the caller read another clock) ends nothing early.
        end = self._ended or (max(self._now, latest or start), len(self._history))
        # Work still open ends in the episode to come.
        self._episodes.append(episode + (0 if self._ended else 1))
        self._add_pending_wait()
        for span in self._spans:
            if span.finish is None:
                span.finish = end
                span.outcome = Outcome.RUNNING if self._ended is None else Outcome.UNFINISHED
        return Timeline(
            bars=_laid_out(self._spans, self._episodes),
            markers=tuple(self._markers),
            start=start,
            end=end[0],
            episodes=max(self._episodes[-1], 1),
        )

    # --- work scheduled -----------------------------------------------------------------

    def _open(self, span: _Span, event_id: int | None = None) -> _Span:
        """A call identical to one that failed is its next attempt: DTFx's retry
        interceptor schedules the same call again after its timer (docs/protocol.md D.1),
        and so does a retry loop in the orchestrator's own code. A timer that fired
        between the failure and the new attempt was the delay before it."""
        earlier = self._failed.get(span.call) if span.call is not None else None
        if earlier:
            previous = earlier.pop(0)
            previous.attempt = previous.attempt or 1
            span.attempt = previous.attempt + 1
            delay = self._fired_timer
            if delay is not None and previous.finish is not None and delay.begin > previous.finish:
                delay.label = "retry delay"
        self._spans.append(span)
        if event_id is not None:
            self._by_event_id[event_id] = span
        return span

    def _task_scheduled(self, event: Event, at: _Point) -> None:
        name = str(event.get("Name"))
        call = (BarKind.ACTIVITY, name, event.get("Input"))
        self._open(_Span(BarKind.ACTIVITY, name, at, call=call), event["EventId"])

    def _sub_orchestration_created(self, event: Event, at: _Point) -> None:
        name = str(event.get("Name"))
        call = (BarKind.SUB_ORCHESTRATION, name, event.get("Input"))
        detail = f"instance {event.get('InstanceId')}"
        self._open(_Span(BarKind.SUB_ORCHESTRATION, name, at, detail, call), event["EventId"])

    def _timer_created(self, event: Event, at: _Point) -> None:
        detail = f"due at {event.get('FireAt')}"
        self._open(_Span(BarKind.TIMER, "timer", at, detail), event["EventId"])

    def _event_sent(self, event: Event, at: _Point) -> None:
        """Entity calls only: a signal expects no answer, so it has no duration to draw
        (docs/protocol.md D.3)."""
        entity = split_entity_instance_id(str(event.get("InstanceId")))
        if entity is None or event.get("Name") != OPERATION_EVENT_NAME:
            return
        try:
            request = EntityRequest.from_json(str(event.get("Input")))
        except (ValueError, KeyError, TypeError):
            return
        if request.is_signal:
            return
        label = f"{entity[0]}@{entity[1]}: {request.operation}"
        self._by_request_id[request.id] = self._open(
            _Span(BarKind.ENTITY_CALL, label, at, f"entity {event.get('InstanceId')}")
        )

    # --- work done ----------------------------------------------------------------------

    def _close(self, span: _Span | None, at: _Point, outcome: Outcome, detail: str | None = None) -> None:
        if span is None or span.finish is not None:
            return  # a completion of nothing this history scheduled (cut by a rewind)
        span.finish, span.outcome = at, outcome
        if detail is not None:  # a failure's reason, after which child or entity failed
            span.detail = detail if span.detail is None else f"{span.detail}\n{detail}"
        if outcome == Outcome.FAILED and span.call is not None:
            self._failed.setdefault(span.call, []).append(span)

    def _completed(self, event: Event, at: _Point) -> None:
        self._close(self._by_event_id.get(event.get("TaskScheduledId", -1)), at, Outcome.COMPLETED)

    def _timer_fired(self, event: Event, at: _Point) -> None:
        timer = self._by_event_id.get(event.get("TimerId", -1))
        self._close(timer, at, Outcome.COMPLETED)
        self._fired_timer = timer

    def _failed_task(self, event: Event, at: _Point) -> None:
        span = self._by_event_id.get(event.get("TaskScheduledId", -1))
        self._close(span, at, Outcome.FAILED, event.get("Reason"))

    def _event_raised(self, event: Event, at: _Point) -> None:
        """An entity's answer (named by the request id), else an event the orchestration
        waited for. History does not record when a wait began: its start is the end of
        the episode before the event arrived, when the orchestrator's last decision was
        committed (an event buffered before anyone waited for it still shows as a wait
        up to its arrival)."""
        name = str(event.get("Name"))
        call = self._by_request_id.get(name)
        if call is not None:
            failure = _entity_failure(event.get("Input"))
            self._close(call, at, Outcome.FAILED if failure else Outcome.COMPLETED, failure)
            return
        span = self._open(_Span(BarKind.EVENT_WAIT, name, self._decided or at))
        self._close(span, at, Outcome.COMPLETED)

    def _add_pending_wait(self) -> None:
        """A running (or terminated) execution whose last decision left nothing open was
        waiting for an event, whose name history does not know until it arrives."""
        if self._decided is None or (self._ended is not None and not self._terminated):
            return
        if any(span.finish is None for span in self._spans):
            return
        span = self._open(_Span(BarKind.EVENT_WAIT, "external event", self._decided))
        span.detail = "not yet arrived" if self._ended is None else "never arrived"

    # --- the execution ------------------------------------------------------------------

    def _orchestrator_completed(self, event: Event, at: _Point) -> None:
        if self._ended is None and self._orchestrator_ran:
            self._decided = at

    def _execution_completed(self, event: Event, at: _Point) -> None:
        if self._ended is not None:
            return  # a termination is followed by ExecutionCompleted (Terminated)
        status = OrchestrationStatus(event.get("OrchestrationStatus", OrchestrationStatus.COMPLETED))
        failure = event.get("FailureDetails") or {}
        self._end(Marker(status.api_name, at[0], failure.get("ErrorMessage"), self._episodes[at[1]]), at)

    def _execution_terminated(self, event: Event, at: _Point) -> None:
        self._terminated = True
        self._end(Marker(OrchestrationStatus.TERMINATED.api_name, at[0], event.get("Input"), self._episodes[at[1]]), at)

    def _end(self, marker: Marker, at: _Point) -> None:
        self._markers.append(marker)
        self._ended = at

    def _marker_of(self, label: str, field_name: str) -> Callable[[Event, _Point], None]:
        def handle(event: Event, at: _Point) -> None:
            self._markers.append(Marker(label, at[0], event.get(field_name), self._episodes[at[1]]))

        return handle


def _entity_failure(text: Any) -> str | None:
    """The error message of a failed call's `ResponseMessage` (`result` is the message
    as JSON text, protocol/entities.py), None for a result."""
    try:
        response = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(response, dict) or "exceptionType" not in response:
        return None
    return str(parse_stored(response.get("result")) or "the operation failed")


def _laid_out(spans: list[_Span], episodes: list[int]) -> tuple[Bar, ...]:
    """Greedy interval partitioning, in start order: each bar takes the lowest lane free
    at its start (a lane whose last bar ended before it began), else a new one; this
    uses as few lanes as the most work running at once. `episodes` maps each history
    index (and one past the end: work still open) to its episode."""
    ordered = sorted(spans, key=lambda span: span.begin)
    free: list[int] = []
    busy: list[tuple[_Point, int]] = []
    bars: list[Bar] = []
    for span in ordered:
        assert span.finish is not None
        while busy and busy[0][0] < span.begin:
            heapq.heappush(free, heapq.heappop(busy)[1])
        lane = heapq.heappop(free) if free else len(busy)
        heapq.heappush(busy, (span.finish, lane))
        bars.append(
            Bar(
                kind=span.kind,
                label=span.label,
                lane=lane,
                start=span.begin[0],
                end=max(span.finish[0], span.begin[0]),
                outcome=span.outcome,
                attempt=span.attempt,
                detail=span.detail,
                first_episode=episodes[span.begin[1]],
                last_episode=max(episodes[span.finish[1]], episodes[span.begin[1]]),
            )
        )
    return tuple(bars)
