"""The floor the SDK's own replay sets: the orchestrator's entry point called directly
with prepared histories, no host at all (performance.md, "The floor the SDK sets")."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from devhost.protocol import events, orchestration_context

Handle = Callable[[str], str]
_T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)


def _start(name: str, count: int) -> list[events.Event]:
    return [
        events.orchestrator_started(_T0),
        events.execution_started(
            _T0, instance_id="floor", execution_id="e", name=name, input=json.dumps(json.dumps(count))
        ),
    ]


def _context(history: list[events.Event], count: int) -> str:
    return orchestration_context(
        instance_id="floor", history=history, stored_input=json.dumps(json.dumps(count))
    )


def _timed(handle: Handle, contexts: list[str]) -> float:
    began = time.perf_counter()
    for context in contexts:
        handle(context)
    return time.perf_counter() - began


def chain(handle: Handle, count: int) -> float:
    """n + 1 episodes over a growing history: one activity result per episode."""
    history = _start("chain", count)
    contexts = [_context(history, count)]
    moment = _T0
    for step in range(count):
        moment += timedelta(milliseconds=1)
        history += [
            events.task_scheduled(moment, step, "noop", json.dumps(step)),
            events.orchestrator_completed(moment),
            events.orchestrator_started(moment),
            events.task_completed(moment, step, json.dumps(step)),
        ]
        contexts.append(_context(history, count))
    return _timed(handle, contexts)


def fan_out(handle: Handle, count: int) -> float:
    """Two episodes: one schedules every activity, one sees every result."""
    history = _start("fan_out", count)
    first = _context(history, count)
    history += [events.task_scheduled(_T0, n, "noop", json.dumps(n)) for n in range(count)]
    history += [events.orchestrator_completed(_T0), events.orchestrator_started(_T0)]
    history += [events.task_completed(_T0, n, json.dumps(n)) for n in range(count)]
    return _timed(handle, [first, _context(history, count)])


def collect_events(handle: Handle, count: int) -> float:
    """Two episodes: one that starts waiting, one with every event raised together."""
    history = _start("collect_events", count)
    first = _context(history, count)
    history += [events.orchestrator_completed(_T0), events.orchestrator_started(_T0)]
    history += [events.event_raised(_T0, "tick", json.dumps(n)) for n in range(count)]
    return _timed(handle, [first, _context(history, count)])
