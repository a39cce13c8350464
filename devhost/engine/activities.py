"""Activity work: messages that schedule activities in, TaskCompleted/TaskFailed events out.

App activities go through the invoker; `BuiltIn::HttpActivity` is the extension's own
(`call_http`). A failure is reported as the extension reports it: `Reason`
`Activity function '<name>' failed: <type>: <message>`, `Details` the serialized error.
"""

from __future__ import annotations

import json
from typing import Any

from ..clock import Clock
from ..executions import describe_failure
from ..invoker import Invoker
from ..loader import FunctionIndex, FunctionInfo
from ..protocol import Event, events
from ..stores.base import Message
from .actions import HTTP_ACTIVITY
from .http_activity import HttpActivityError, run_http_activity


class ActivityRunner:
    def __init__(self, index: FunctionIndex, invoker: Invoker, clock: Clock) -> None:
        self._index = index
        self._invoker = invoker
        self._clock = clock

    async def run(self, batch: list[Message]) -> list[Event]:
        """One result event per work message, in the same order."""
        results: list[Event | None] = [None] * len(batch)
        app_work: list[tuple[int, FunctionInfo, str | None]] = []
        for n, work in enumerate(batch):
            name = str(work.event["Name"])
            payload = json.loads(work.event.get("Input") or "[null]")[0]
            info = self._index.activity(name)
            if name == HTTP_ACTIVITY:
                results[n] = await self._http(work.event["EventId"], payload)
            elif info is None:
                reason = f"The activity function '{name}' is not registered in this app."
                results[n] = events.task_failed(self._clock.now(), work.event["EventId"], reason, reason)
            else:
                app_work.append((n, info, payload))
        outcomes = await self._invoker.run_activities([(info, raw) for _, info, raw in app_work])
        for (n, info, _), outcome in zip(app_work, outcomes, strict=False):
            task_id = batch[n].event["EventId"]
            if outcome.failure is None:
                results[n] = events.task_completed(self._clock.now(), task_id, outcome.result)
            else:
                results[n] = events.task_failed(
                    self._clock.now(),
                    task_id,
                    f"Activity function '{info.name}' failed: {outcome.failure.summary}",
                    describe_failure(outcome.failure),
                )
        return [result for result in results if result is not None]

    async def _http(self, task_id: int, request: dict[str, Any]) -> Event:
        try:
            response = await run_http_activity(request)
        except HttpActivityError as error:
            return events.task_failed(self._clock.now(), task_id, str(error), str(error))
        return events.task_completed(self._clock.now(), task_id, response)
