"""Episodes of one orchestration through the real SDK, without a host around them."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import azure.durable_functions as df

from devhost.engine.entities import EntityEpisodeContext, EntityState, run_entity_episode
from devhost.engine.orchestrations import EpisodeContext, run_orchestration_episode
from devhost.engine.actions import KnownFunctions
from devhost.protocol import OPERATION_EVENT_NAME, EntityRequest, EventType, OrchestrationStatus, events
from devhost.stores.base import Checkpoint, InstanceRecord, Message, WorkItem
from entities import Counter

T0 = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
KNOWN = KnownFunctions.of(["work"], ["fan_out", "waits", "counts"], ["Counter"])


def _fan_out(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("work", n) for n in range(100)])
    return sum(results)


def _waits(context: df.DurableOrchestrationContext):
    return (yield context.wait_for_external_event("Go"))


def _counts(context: df.DurableOrchestrationContext):
    counter = df.EntityId("Counter", "c")
    context.signal_entity(counter, "add", 1)
    return (yield context.call_entity(counter, "add", 2))


HANDLES: dict[str, Callable[[str], str]] = {
    "fan_out": df.Orchestrator.create(_fan_out),
    "waits": df.Orchestrator.create(_waits),
    "counts": df.Orchestrator.create(_counts),
}


class Instance:
    """One instance's row and history, advanced episode by episode."""

    def __init__(self, name: str) -> None:
        self.record = InstanceRecord(
            instance_id="i-1", name=name, execution_id="e-1",
            status=OrchestrationStatus.PENDING, created_time=T0, last_updated_time=T0,
        )  # fmt: skip
        self.history: list[dict[str, Any]] = []
        self.now = T0
        start = events.execution_started(T0, instance_id="i-1", execution_id="e-1", name=name, input=None)
        self.last = self.deliver([Message("i-1", start, "e-1")])

    def deliver(self, messages: list[Message]) -> Checkpoint:
        self.now += timedelta(seconds=1)
        item = WorkItem("i-1", messages, self.record, self.history)
        context = EpisodeContext(
            now=self.now, functions=KNOWN, run_orchestrator=lambda name, body: HANDLES[name](body)
        )
        checkpoint = run_orchestration_episode(item, context)
        assert checkpoint.record is not None
        self.record = checkpoint.record
        self.history = checkpoint.new_events if checkpoint.replace_history else self.history + checkpoint.new_events
        self.last = checkpoint
        return checkpoint


def _completed(task_id: int, value: Any, execution: str = "e-1") -> Message:
    return Message("i-1", events.task_completed(T0, task_id, json.dumps(value)), execution)


def _episodes(history: list[dict[str, Any]]) -> int:
    return sum(1 for e in history if e["EventType"] == EventType.ORCHESTRATOR_STARTED)


def test_completions_that_arrive_together_are_applied_in_one_episode() -> None:
    instance = Instance("fan_out")
    assert len([m for m in instance.last.outgoing if m.is_activity]) == 100
    instance.deliver([_completed(n, n) for n in range(100)])
    assert (instance.record.status, instance.record.output) == (OrchestrationStatus.COMPLETED, "4950")
    assert _episodes(instance.history) == 2


def test_a_second_completion_of_the_same_task_is_dropped() -> None:
    instance = Instance("fan_out")
    instance.deliver([_completed(0, 1000)])
    instance.deliver([_completed(0, 1000)] + [_completed(n, n) for n in range(1, 100)])
    assert instance.record.output == str(1000 + sum(range(1, 100)))


def test_messages_for_another_execution_are_dropped() -> None:
    instance = Instance("fan_out")
    checkpoint = instance.deliver([_completed(n, n, execution="old") for n in range(100)])
    assert checkpoint.new_events == [] and instance.record.status == OrchestrationStatus.RUNNING


def test_answers_ahead_of_the_history_that_asked_for_them_wait_for_it() -> None:
    """DTFx's out-of-order check: the episode that sent this work may not have written
    its history yet (it sends first). A user's event is never held back."""
    instance = Instance("waits")
    early_result = _completed(0, "early")
    entity_answer = Message(
        "i-1", events.event_raised(T0, str(uuid.uuid4()), json.dumps({"result": "1"})), "e-1", sender="@counter@c"
    )
    checkpoint = instance.deliver([early_result, entity_answer])
    assert checkpoint.deferred == [early_result, entity_answer] and checkpoint.consumed == []
    assert checkpoint.new_events == [] and instance.record.status == OrchestrationStatus.RUNNING
    user_event = Message("i-1", events.event_raised(T0, "Go", '"now"'))
    instance.deliver([user_event])
    assert (instance.record.status, instance.record.output) == (OrchestrationStatus.COMPLETED, '"now"')


def test_an_instance_that_ends_holds_nothing_back() -> None:
    """An answer that came early for an instance then terminated is dropped with the
    rest, as DTFx drops messages for finished instances: nothing waits for it forever."""
    instance = Instance("waits")
    early_result = _completed(0, "early")
    checkpoint = instance.deliver([early_result, Message("i-1", events.execution_terminated(T0, "stop"))])
    assert instance.record.status == OrchestrationStatus.TERMINATED
    assert checkpoint.deferred == [] and early_result in checkpoint.consumed


def test_suspended_instance_defers_events_until_resumed() -> None:
    instance = Instance("waits")
    raised = Message("i-1", events.event_raised(T0, "Go", '"now"'))
    checkpoint = instance.deliver([Message("i-1", events.execution_suspended(T0, "hold")), raised])
    assert instance.record.status == OrchestrationStatus.SUSPENDED
    assert checkpoint.deferred == [raised] and raised not in checkpoint.consumed
    instance.deliver([Message("i-1", events.execution_resumed(T0, "go")), raised])
    assert (instance.record.status, instance.record.output) == (OrchestrationStatus.COMPLETED, '"now"')


def test_terminate_ends_the_instance_with_the_reason() -> None:
    instance = Instance("waits")
    instance.deliver([Message("i-1", events.execution_terminated(T0, "stop"))])
    assert (instance.record.status, instance.record.output) == (OrchestrationStatus.TERMINATED, "stop")
    assert instance.deliver([Message("i-1", events.event_raised(T0, "Go", '"late"'))]).new_events == []


def test_events_that_overtake_the_execution_start_wait_for_it() -> None:
    instance = Instance("waits")
    instance.history = []  # as after continue-as-new: the next ExecutionStarted not yet here
    raised = Message("i-1", events.event_raised(T0, "Go", '"early"'))
    checkpoint = instance.deliver([raised])
    assert checkpoint.deferred == [raised] and checkpoint.new_events == []


def test_an_episode_run_again_later_sends_the_same_entity_requests() -> None:
    """A crash between sending and committing re-runs the episode at another time: its
    entity requests keep their ids, so the entity's duplicate check drops the repeats."""

    def requests_sent(now: datetime) -> list[Message]:
        record = InstanceRecord("i-1", "counts", "e-1", OrchestrationStatus.PENDING, T0, T0)
        start = events.execution_started(T0, instance_id="i-1", execution_id="e-1", name="counts", input=None)
        context = EpisodeContext(now=now, functions=KNOWN, run_orchestrator=lambda name, body: HANDLES[name](body))
        return run_orchestration_episode(WorkItem("i-1", [Message("i-1", start, "e-1")], record, []), context).outgoing

    first, again = requests_sent(T0), requests_sent(T0 + timedelta(minutes=7))
    ids = [json.loads(m.event["Input"])["id"] for m in first]
    assert len(set(ids)) == 2
    assert [json.loads(m.event["Input"])["id"] for m in again] == ids
    # The Counter gets both runs' messages and adds once per request: 1 + 2.
    counter = WorkItem("@counter@c", first + again, None, [])
    entity = EntityEpisodeContext(
        now=T0, entity_name="Counter", run_entity=lambda name, batch: Counter._function.get_user_function()(batch),
        max_batch=50,
    )  # fmt: skip
    state = run_entity_episode(counter, entity).record
    assert state is not None and json.loads(EntityState.of(state).state or "null") == 3


def test_a_busy_entity_keeps_its_duplicate_window_within_the_instance_row() -> None:
    """A thousand remembered requests plus the state fit the row's 30 KB property, so an
    entity does not upload a new large-payload blob at every batch."""
    entity = EntityEpisodeContext(
        now=T0, entity_name="Counter", run_entity=lambda name, batch: Counter._function.get_user_function()(batch),
        max_batch=50,
    )  # fmt: skip
    record = None
    for round_ in range(25):
        adds = [
            Message("@counter@busy", events.event_raised(T0, OPERATION_EVENT_NAME, EntityRequest(
                id=str(uuid.uuid4()), operation="add", is_signal=True, input='"1"').to_json()))
            for _ in range(50)
        ]  # fmt: skip
        record = run_entity_episode(WorkItem("@counter@busy", adds, record, []), entity).record
        assert record is not None
    assert json.loads(EntityState.of(record).state or "0") == 1250
    assert len(record.input or "") < 30 * 1024 * 0.7
