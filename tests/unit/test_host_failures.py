"""An episode that fails inside the host tells whoever waits on it (engine/host_failures.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from devhost.engine.host_failures import host_failure, internal_error
from devhost.protocol import OPERATION_EVENT_NAME, EntityRequest, EventType, OrchestrationStatus, events
from devhost.stores.base import InstanceRecord, Message, WorkItem

T0 = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)


def test_a_failed_sub_orchestration_ends_failed_and_tells_its_parent() -> None:
    parent = events.parent_instance(name="p", instance_id="parent", execution_id="pe", task_scheduled_id=3, version=None)
    started = events.execution_started(T0, instance_id="child", execution_id="ce", name="c", input=None, parent=parent)
    record = InstanceRecord("child", "c", "ce", OrchestrationStatus.RUNNING, T0, T0)
    item = WorkItem("child", [Message("child", events.timer_fired(T0, 0, T0), "ce")], record, [started])
    checkpoint = host_failure(item, internal_error(RuntimeError("bug")), T0)
    assert checkpoint.record is not None and checkpoint.record.status == OrchestrationStatus.FAILED
    assert [e["EventType"] for e in checkpoint.new_events][1] == EventType.EXECUTION_COMPLETED
    (told,) = checkpoint.outgoing
    assert (told.instance_id, told.execution_id) == ("parent", "pe")
    assert told.event["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_FAILED
    assert told.event["TaskScheduledId"] == 3 and "RuntimeError: bug" in told.event["Reason"]
    assert checkpoint.consumed == item.messages


def test_an_entity_keeps_its_state_and_answers_waiting_calls_with_an_error() -> None:
    def op(request: EntityRequest) -> Message:
        return Message("@counter@k", events.event_raised(T0, OPERATION_EVENT_NAME, request.to_json()))

    call = EntityRequest("r-1", "add", False, '"1"', parent_instance_id="caller", parent_execution_id="ex")
    signal = EntityRequest("r-2", "add", True, '"1"')
    record = InstanceRecord("@counter@k", "Counter", "x", OrchestrationStatus.RUNNING, T0, T0, input='{"exists": true, "state": "4"}')
    checkpoint = host_failure(WorkItem("@counter@k", [op(call), op(signal)], record, []), internal_error(ValueError("oops")), T0)
    assert checkpoint.record == record
    (reply,) = checkpoint.outgoing
    assert (reply.instance_id, reply.execution_id, reply.event["Name"]) == ("caller", "ex", "r-1")
    body = json.loads(reply.event["Input"])
    assert body["exceptionType"] == "Error" and "ValueError: oops" in json.loads(body["result"])


def test_a_sub_orchestration_failing_in_its_first_episode_tells_its_parent_too() -> None:
    parent = events.parent_instance(name="p", instance_id="parent", execution_id="pe", task_scheduled_id=1, version=None)
    started = events.execution_started(T0, instance_id="child", execution_id="ce", name="c", input=None, parent=parent)
    record = InstanceRecord("child", "c", "ce", OrchestrationStatus.PENDING, T0, T0)
    checkpoint = host_failure(WorkItem("child", [Message("child", started, "ce")], record, []), internal_error(RuntimeError("bug")), T0)
    assert [m.instance_id for m in checkpoint.outgoing] == ["parent"]
    assert [e["EventType"] for e in checkpoint.new_events][:2] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]


def test_a_first_episode_failing_before_the_row_was_written_still_fails_the_instance() -> None:
    """A start sends its message before it writes the Pending row: the first episode may
    find no row, and its failure must still record the instance, not drop the start."""
    started = events.execution_started(T0, instance_id="early", execution_id="ee", name="o", input='"x"')
    checkpoint = host_failure(WorkItem("early", [Message("early", started, "ee")], None, []), internal_error(RuntimeError("bug")), T0)
    assert checkpoint.record is not None
    assert (checkpoint.record.status, checkpoint.record.name, checkpoint.record.input) == (OrchestrationStatus.FAILED, "o", '"x"')
    assert checkpoint.new_events[-2]["EventType"] == EventType.EXECUTION_COMPLETED
