"""One episode of one orchestration instance: messages in, a checkpoint out.

An episode appends `OrchestratorStarted`, the delivered events, the work the actions
schedule and `OrchestratorCompleted` to history, as DTFx does (docs/protocol.md B.2,
D). Control messages (terminate, suspend, resume, rewind) are handled here without
running user code, like the real host. Everything is a pure function of the work item
and the time, so an episode re-run after a crash produces the same checkpoint.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..protocol import (
    Event,
    EventType,
    OrchestrationStatus,
    OrchestratorState,
    events,
    orchestration_context,
    parse_orchestrator_failure,
    parse_orchestrator_state,
)
from ..stores.base import Checkpoint, EndedExecution, InstanceRecord, Message, WorkItem
from . import traces
from .actions import KnownFunctions
from .delivery import (
    CONTROL_TYPES,
    EarlyAnswers,
    drop_duplicates,
    is_current,
    of_type,
    parent_instance,
    rewound,
    started_record,
)
from .replay import Replay, ReplayResult
from .versioning import MISMATCH_OUTPUT, FailureStrategy, Versioning, mismatch_failure_details

logger = logging.getLogger(__name__)

# Runs the named orchestrator on a context JSON and returns the state JSON; raises what
# the SDK raised.
RunOrchestrator = Callable[[str, str], str]

# Executions started inline by continue-as-new in one work item (DTFx runs the next one
# at once); past this, the next starts from a message.
_EXECUTIONS_PER_WORK_ITEM = 100


@dataclass(frozen=True)
class EpisodeContext:
    now: datetime
    functions: KnownFunctions
    run_orchestrator: RunOrchestrator
    versioning: Versioning = field(default_factory=Versioning)


def run_orchestration_episode(item: WorkItem, ctx: EpisodeContext) -> Checkpoint:
    return _Episode(item, ctx).run()


class _Episode:
    def __init__(self, item: WorkItem, ctx: EpisodeContext) -> None:
        self.item = item
        self.ctx = ctx
        self.now = ctx.now
        # Every event this episode stamps gets the same time: formatted once, not per event.
        self._timestamp = events.format_timestamp(ctx.now)
        self.record = item.record
        self.history = item.history
        self.new_events: list[Event] = []
        self.checkpoint = Checkpoint(record=item.record, consumed=list(item.messages))
        self._executions_left = _EXECUTIONS_PER_WORK_ITEM

    def run(self) -> Checkpoint:
        checkpoint = self._run()
        if checkpoint.record is not None and checkpoint.record.status.is_terminal and checkpoint.deferred:
            # DTFx discards messages for finished instances: nothing held back waits for
            # an instance that ended (an answer that came early, a suspended one's events).
            checkpoint.consumed.extend(checkpoint.deferred)
            checkpoint.deferred = []
        return checkpoint

    def _run(self) -> Checkpoint:
        started = self._accept_start()
        if self.record is None:
            if self.item.messages:
                logger.warning(
                    "Dropped %d message(s) for unknown instance '%s'.",
                    len(self.item.messages), self.item.instance_id,
                )  # fmt: skip
            return self.checkpoint
        incoming = drop_duplicates(self.history, [m for m in self.item.messages if is_current(m, self.record)])
        is_early = EarlyAnswers(self.history)
        early = [m for m in incoming if is_early(m)]
        if early:
            self._defer(early)
            incoming = [m for m in incoming if m not in early]
        if self.record.status.is_terminal and started is None:
            rewind = of_type(incoming, EventType.EXECUTION_REWOUND)
            if rewind is None or self.record.status != OrchestrationStatus.FAILED:
                return self.checkpoint  # DTFx discards messages for finished instances.
            self._rewind(rewind)
        if not self.ctx.versioning.accepts(self.record.version):
            return self._version_mismatch(incoming)
        terminate = of_type(incoming, EventType.EXECUTION_TERMINATED)
        if terminate is not None:
            return self._terminate(terminate)
        if started is None and not self.history and not self.record.status.is_terminal:
            # The execution's ExecutionStarted is still on its way (a start, or a continue-
            # as-new): what came first waits for it instead of running ahead of it.
            self._defer(incoming)
            return self._finish_episode()
        deliver = self._apply_suspension(incoming)
        if self.record.status == OrchestrationStatus.SUSPENDED:
            return self._finish_episode()
        if deliver or started is not None or self.new_events:
            self._execute(deliver)
        return self._finish_episode()

    # --- starting --------------------------------------------------------------------

    def _accept_start(self) -> Event | None:
        """Takes the ExecutionStarted message that (re)starts this instance, if any;
        duplicates of an accepted start are dropped."""
        accepted: Event | None = None
        for message in self.item.messages:
            if message.event["EventType"] != EventType.EXECUTION_STARTED or accepted:
                continue
            start = message.event
            execution = start["OrchestrationInstance"]["ExecutionId"]
            record = self.record
            fresh = record is None or (not self.history and record.execution_id == execution)
            restart = record is not None and record.status.is_terminal and (record.execution_id != execution)
            if fresh or restart:
                accepted = self._stamp(start)
                self._begin_execution(accepted, replace=restart)
            elif record is not None and record.execution_id != execution:
                self._reject_start(start, record)
        return accepted

    def _begin_execution(self, start: Event, *, replace: bool) -> None:
        self.record = started_record(self.item.instance_id, start, self.now, None if replace else self.record)
        if replace:
            self.history = []
            self.checkpoint.replace_history = True
        self.new_events = [events.orchestrator_started(self.now), start]

    def _reject_start(self, start: Event, record: InstanceRecord) -> None:
        """A sub-orchestration whose id a live instance holds fails in its parent."""
        parent = start.get("ParentInstance")
        if not parent:
            return
        reason = (
            f"An orchestration with instance ID '{record.instance_id}' already exists "
            f"with status {record.status.api_name}."
        )
        instance = parent["OrchestrationInstance"]
        self._send(
            instance["InstanceId"],
            events.sub_orchestration_failed(self.now, parent["TaskScheduleId"], reason, reason),
            instance["ExecutionId"],
        )

    # --- control messages ----------------------------------------------------------------

    def _apply_suspension(self, incoming: list[Message]) -> list[Message]:
        """Suspend and resume toggle the status; while suspended, other messages stay
        undelivered (DTFx holds a suspended instance's new events until it resumes)."""
        assert self.record is not None
        suspended = self.record.status == OrchestrationStatus.SUSPENDED
        deliver: list[Message] = []
        for message in incoming:
            kind = message.event["EventType"]
            if kind in (EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED):
                wants_suspend = kind == EventType.EXECUTION_SUSPENDED
                if wants_suspend != suspended:
                    suspended = wants_suspend
                    self._record_control(self._stamp(message.event))
            elif kind not in CONTROL_TYPES:
                deliver.append(message)
        if suspended:
            self._defer(deliver)
            self.record = self.record.copy(status=OrchestrationStatus.SUSPENDED)
            return []
        if self.record.status == OrchestrationStatus.SUSPENDED:
            self.record = self.record.copy(status=OrchestrationStatus.RUNNING)
        return deliver

    def _defer(self, messages: list[Message]) -> None:
        """Hands messages back undelivered; the store offers them again with the next
        message, or once a commit changed the history."""
        held = {m.id for m in messages}
        self.checkpoint.consumed = [m for m in self.checkpoint.consumed if m.id not in held]
        self.checkpoint.deferred.extend(messages)

    def _record_control(self, event: Event) -> None:
        if not self.new_events:
            self.new_events.append(events.orchestrator_started(self.now))
        self.new_events.append(event)

    def _terminate(self, message: Message) -> Checkpoint:
        assert self.record is not None
        reason = message.event.get("Input")
        self._record_control(self._stamp(message.event))
        self.new_events.append(events.execution_completed(self.now, -1, OrchestrationStatus.TERMINATED, reason))
        self.record = self.record.copy(status=OrchestrationStatus.TERMINATED, output=reason, completed_time=self.now)
        self._trace(traces.execution_terminated(self.record.instance_id, self.record.name, reason))
        self._notify_parent(failed=f"The orchestration was terminated: {reason or ''}".strip())
        return self._finish_episode()

    def _rewind(self, message: Message) -> None:
        """Failed work becomes pending again (`rewound`); failed sub-orchestrations are
        rewound too and report back when they finish."""
        assert self.record is not None
        self.history, children = rewound(self.history)
        for child in children:
            self._send(child, message.event)
        self.checkpoint.replace_history = True
        reason = message.event.get("Reason") or ""
        self._record_control(events.generic_event(self.now, f"Rewound: {reason}"))
        self.record = self.record.copy(status=OrchestrationStatus.RUNNING, output=None, completed_time=None)

    # --- running the orchestrator ----------------------------------------------------

    def _deliver(self, messages: list[Message]) -> None:
        """Appends the delivered messages' events to this episode's history."""
        if not self.new_events:
            self.new_events.append(events.orchestrator_started(self.now))
        for message in messages:
            event = self._stamp(message.event)
            if event["EventType"] == EventType.EVENT_RAISED:
                event["MessageId"] = message.id
            self.new_events.append(event)

    def _execute(self, deliver: list[Message]) -> None:
        self._deliver(deliver)
        record = self.record
        assert record is not None
        history = self.history + self.new_events
        state, failure = self._invoke(record, history)
        replay = Replay(
            instance_id=record.instance_id,
            execution_id=record.execution_id,
            parent_instance_id=record.parent_instance_id,
            version=record.version,
            history=history,
            functions=self.ctx.functions,
            versioning=self.ctx.versioning,
        ).run(state.actions if state is not None else [])
        self.new_events.extend(replay.new_events)
        self.checkpoint.outgoing.extend(replay.messages)
        changes: dict[str, Any] = {"status": OrchestrationStatus.RUNNING}
        if state is not None and state.custom_status is not None:
            changes["custom_status"] = state.custom_status_json
        self.record = record.copy(**changes)

        if replay.error is not None:
            self._fail(replay, replay.error)
        elif replay.finished and failure is not None:
            self._fail(replay, failure)
        elif replay.finished and state is not None and state.is_done:
            if replay.continued_as_new:
                self._continue_as_new(replay, history, boundary=len(self.history))
            else:
                self._complete(replay, state)

    def _invoke(self, record: InstanceRecord, history: list[Event]) -> tuple[OrchestratorState | None, str | None]:
        context = orchestration_context(
            instance_id=record.instance_id,
            history=history,
            stored_input=record.input,
            parent_instance_id=record.parent_instance_id,
        )
        try:
            return parse_orchestrator_state(self.ctx.run_orchestrator(record.name, context)), None
        except Exception as error:
            message, state = parse_orchestrator_failure(str(error))
            return state, message or type(error).__name__

    def _complete(self, replay: ReplayResult, state: OrchestratorState) -> None:
        assert self.record is not None
        output = state.output_json
        self.new_events.append(
            events.execution_completed(self.now, replay.next_event_id, OrchestrationStatus.COMPLETED, output)
        )
        self.record = self.record.copy(status=OrchestrationStatus.COMPLETED, output=output, completed_time=self.now)
        self._trace(
            traces.execution_completed(self.record.instance_id, self.record.name, output, continued_as_new=False)
        )
        self._notify_parent(result=output)

    def _fail(self, replay: ReplayResult, error: str) -> None:
        """ext: `Orchestrator function '<name>' failed: <error>` (docs/protocol.md C.1)."""
        assert self.record is not None
        reason = f"Orchestrator function '{self.record.name}' failed: {error}"
        details = f"Message: {error}, StackTrace: "
        self.new_events.append(
            events.execution_completed(
                self.now,
                replay.next_event_id,
                OrchestrationStatus.FAILED,
                reason,
                {"ErrorType": "OrchestrationFailureException", "ErrorMessage": reason},
            )
        )
        self.record = self.record.copy(status=OrchestrationStatus.FAILED, output=reason, completed_time=self.now)
        self._trace(traces.execution_failed(self.record.instance_id, self.record.name, reason))
        self._notify_parent(failed=reason, details=details)

    def _version_mismatch(self, incoming: list[Message]) -> Checkpoint:
        """DTFx checks every work item's version before running user code: `Reject`
        abandons it untouched (its messages wait for a host that may run it), `Fail`
        fails the instance with `VersionMismatch` without invoking the orchestrator."""
        assert self.record is not None
        versioning = self.ctx.versioning
        trace = (logging.WARNING, versioning.describe_mismatch(self.record.instance_id, self.record.version))
        if versioning.failure is not FailureStrategy.FAIL:
            held = Checkpoint(record=self.item.record, deferred=list(self.item.messages))
            held.traces.append(trace)
            return held
        self._deliver(incoming)
        details = mismatch_failure_details()
        self.new_events.append(
            events.execution_completed(self.now, len(self.history), OrchestrationStatus.FAILED, None, details)
        )
        self.record = self.record.copy(
            status=OrchestrationStatus.FAILED, output=MISMATCH_OUTPUT, completed_time=self.now
        )
        self._trace(trace)
        self._trace(traces.execution_failed(self.record.instance_id, self.record.name, MISMATCH_OUTPUT))
        self._notify_parent(failed=None, failure_details=details)
        return self._finish_episode()

    def _continue_as_new(self, replay: ReplayResult, history: list[Event], boundary: int) -> None:
        """Starts the next execution as DTFx does, in this same work item: fresh history,
        the new input, custom status kept, and the events of this batch that arrived after
        the decision carried over in their order (D.2)."""
        assert self.record is not None
        self.checkpoint.ended.append(EndedExecution(self.record.execution_id, self.history + self.new_events))
        execution = uuid.uuid5(uuid.NAMESPACE_OID, f"{self.record.execution_id}:next").hex
        payload = replay.continue_as_new_input
        stored_input = None if payload is None else json.dumps(payload)
        self._trace(
            traces.execution_completed(self.record.instance_id, self.record.name, stored_input, continued_as_new=True)
        )
        start = events.execution_started(
            self.now,
            instance_id=self.record.instance_id,
            execution_id=execution,
            name=self.record.name,
            input=stored_input,
            version=self.record.version,  # DTFx: `NewVersion ?? runtimeState.Version`
            parent=parent_instance(history),
        )
        cut = max(replay.finished_at or 0, boundary - 1)
        carried = [e for e in history[cut + 1 :] if e["EventType"] == EventType.EVENT_RAISED]
        self.record = self.record.copy(execution_id=execution, input=stored_input, output=None, completed_time=None)
        self.checkpoint.replace_history = True
        self.history = []
        self._executions_left -= 1
        if self._executions_left > 0:
            self.new_events = [events.orchestrator_started(self.now), start, *carried]
            self._execute([])
            return
        # An orchestrator that keeps continuing as new without waiting for anything: go on
        # in a later work item, so this one ends and the instance stays observable.
        self.new_events = []
        for event in (start, *carried):
            self._send(self.record.instance_id, event, execution)

    # --- helpers -------------------------------------------------------------------------

    def _finish_episode(self) -> Checkpoint:
        if self.new_events:
            self.new_events.append(events.orchestrator_completed(self.now))
            for event in self.new_events:
                if event["EventType"] != EventType.ORCHESTRATOR_STARTED:
                    event["IsPlayed"] = True
        if self.record is not None and (self.new_events or self.checkpoint.replace_history):
            self.record = self.record.copy(last_updated_time=self.now)
        self.checkpoint.record = self.record
        self.checkpoint.new_events = self.new_events
        if self.checkpoint.replace_history:
            self.checkpoint.new_events = self.history + self.new_events
        return self.checkpoint

    def _notify_parent(
        self,
        *,
        result: str | None = None,
        failed: str | None = None,
        details: str = "",
        failure_details: dict[str, Any] | None = None,
    ) -> None:
        """Tells a parent how this sub-orchestration ended. `failure_details` alone (no
        reason) is how DTFx reports a version mismatch: Reason and Details null."""
        parent = parent_instance(itertools.chain(self.history, self.new_events))
        if not parent:
            return
        instance = parent["OrchestrationInstance"]
        task_id = parent["TaskScheduleId"]
        if failure_details is not None:
            event = events.sub_orchestration_failed(self.now, task_id, None, None, failure_details)
        elif failed is None:
            event = events.sub_orchestration_completed(self.now, task_id, result)
        else:
            event = events.sub_orchestration_failed(self.now, task_id, failed, details or failed)
        self._send(instance["InstanceId"], event, instance["ExecutionId"])

    def _trace(self, trace: traces.Trace) -> None:
        self.checkpoint.traces.append(trace)

    def _send(self, instance_id: str, event: Event, execution_id: str | None = None) -> None:
        self.checkpoint.outgoing.append(Message(instance_id, event, execution_id))

    def _stamp(self, event: Event) -> Event:
        return {**event, "Timestamp": self._timestamp, "IsPlayed": False}
