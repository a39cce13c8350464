"""The host's model of ext's shim: which actions become new work, with which event ids."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from history_builder import HistoryBuilder

from devhost.engine.actions import HTTP_ACTIVITY, KnownFunctions
from devhost.engine.replay import Replay, ReplayResult
from devhost.protocol import EventType, format_timestamp, parse_timestamp

KNOWN = KnownFunctions.of(["act", "other"], ["orch", "child"], ["Counter"])


def _replay(builder: HistoryBuilder, actions: list[dict[str, Any]]) -> ReplayResult:
    return Replay(
        instance_id=builder.instance_id,
        execution_id=builder.execution_id,
        parent_instance_id=None,
        history=builder.history,
        functions=KNOWN,
    ).run(actions)


def activity(name: str = "act", value: Any = 1) -> dict[str, Any]:
    return {"actionType": 0, "functionName": name, "input": json.dumps(value)}


def with_retry(name: str = "act", attempts: int = 3) -> dict[str, Any]:
    return {
        **activity(name),
        "actionType": 1,
        "retryOptions": {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": attempts},
    }


def when(kind: str, *children: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": 12 if kind == "all" else 11, "compoundActions": list(children)}


def scheduled(result: ReplayResult) -> list[tuple[int, int]]:
    return [(event["EventType"], event["EventId"]) for event in result.new_events]


def test_new_action_is_scheduled_with_the_next_id_and_sent_to_the_workers() -> None:
    result = _replay(HistoryBuilder("orch"), [activity()])
    assert scheduled(result) == [(EventType.TASK_SCHEDULED, 0)]
    assert result.messages[0].event["Name"] == "act" and result.messages[0].is_activity
    assert not result.finished


def test_each_action_waits_for_the_one_before_it() -> None:
    builder = HistoryBuilder("orch")
    builder.schedule_activity("act")
    builder.next_episode()
    assert scheduled(_replay(builder, [activity(), activity("other")])) == []


def test_when_all_waits_for_every_child_even_after_one_failed() -> None:
    builder = HistoryBuilder("orch")
    first, second = builder.schedule_activity("act"), builder.schedule_activity("act")
    builder.next_episode()
    builder.fail_activity(first, "boom")
    actions = [when("all", activity(), activity()), activity("other")]
    assert scheduled(_replay(builder, actions)) == []
    builder.next_episode()
    builder.complete_activity(second, 2)
    assert scheduled(_replay(builder, actions)) == [(EventType.TASK_SCHEDULED, 2)]


def test_parallel_retries_number_their_timers_in_history_order() -> None:
    builder = HistoryBuilder("orch")
    a, b = builder.schedule_activity("act"), builder.schedule_activity("act")
    builder.next_episode()
    builder.fail_activity(b, "b failed")
    builder.schedule_timer(builder.now + timedelta(seconds=1))
    builder.next_episode()
    builder.fail_activity(a, "a failed")
    result = _replay(builder, [when("all", with_retry(), with_retry())])
    assert scheduled(result) == [(EventType.TIMER_CREATED, 3)]
    assert parse_timestamp(result.new_events[0]["FireAt"]) == builder.now + timedelta(seconds=1)


def test_after_the_last_attempt_one_more_timer_fires_at_once() -> None:
    builder = HistoryBuilder("orch")
    attempt = builder.schedule_activity("act")
    builder.next_episode()
    builder.fail_activity(attempt, "boom")
    result = _replay(builder, [with_retry(attempts=1)])
    assert scheduled(result) == [(EventType.TIMER_CREATED, 1)]
    assert result.new_events[0]["FireAt"] == format_timestamp(builder.now)


def test_changed_code_is_non_determinism() -> None:
    builder = HistoryBuilder("orch")
    builder.run_activity("act", 1)
    result = _replay(builder, [activity("other")])
    assert result.error is not None and result.error.startswith("Non-Deterministic workflow detected")


def test_unknown_activity_fails_with_the_extension_message() -> None:
    result = _replay(HistoryBuilder("orch"), [activity("missing")])
    assert result.error == (
        "The function 'missing' doesn't exist, is disabled, or is not an activity function. "
        "Additional info: The following are the known activity functions: 'act', 'other'."
    )


def test_cancelled_timer_does_not_hold_back_the_next_action() -> None:
    builder = HistoryBuilder("orch")
    builder.schedule_timer(builder.now + timedelta(hours=1))
    builder.next_episode()
    builder.raise_event("Answer", "yes")
    wait = {"actionType": 6, "externalEventName": "Answer", "reason": "ExternalEvent"}
    timer = {"actionType": 5, "fireAt": format_timestamp(builder.now + timedelta(hours=1)), "isCanceled": True}
    result = _replay(builder, [when("any", wait, timer), activity()])
    assert scheduled(result) == [(EventType.TASK_SCHEDULED, 1)]


def test_events_are_matched_case_insensitively_and_buffered_in_order() -> None:
    builder = HistoryBuilder("orch")
    builder.raise_event("go", "first")
    builder.raise_event("GO", "second")
    wait = {"actionType": 6, "externalEventName": "Go", "reason": "ExternalEvent"}
    result = _replay(builder, [wait, wait, activity()])
    assert scheduled(result) == [(EventType.TASK_SCHEDULED, 0)]


def test_sub_orchestration_without_an_id_gets_execution_and_event_id() -> None:
    action = {"actionType": 2, "functionName": "child", "input": "5", "instanceId": None, "version": None}
    result = _replay(HistoryBuilder("orch"), [action])
    start = result.messages[0]
    assert start.instance_id == "execution-1:0"
    assert start.event["ParentInstance"]["TaskScheduleId"] == 0
    assert start.event["Input"] == json.dumps("5")


def test_sub_orchestration_may_not_reuse_its_parents_id() -> None:
    action = {"actionType": 2, "functionName": "child", "input": "5", "instanceId": "instance-1", "version": None}
    result = _replay(HistoryBuilder("orch"), [action])
    assert result.error is not None and "must be different" in result.error


def test_entity_call_is_sent_and_waits_for_its_response() -> None:
    call = {"actionType": 7, "instanceId": "@counter@k", "operation": "add", "input": "3"}
    first = _replay(HistoryBuilder("orch"), [call])
    request = json.loads(first.new_events[0]["Input"])
    assert (request["op"], request["input"], request["signal"]) == ("add", '"3"', False)
    assert first.messages[0].instance_id == "@counter@k" and not first.finished

    builder = HistoryBuilder("orch")
    builder.history.append({**first.new_events[0], "IsPlayed": True})
    builder.next_episode()
    builder.answer_entity_call(request["id"], 3)
    assert _replay(builder, [call]).finished


def test_http_call_polls_the_location_only_when_asked() -> None:
    request = {"method": "GET", "uri": "http://svc/job", "content": None, "headers": {}}
    builder = HistoryBuilder("orch")
    task = builder.schedule_activity(HTTP_ACTIVITY)
    builder.next_episode()
    accepted = {"statusCode": 202, "headers": {"Location": "http://svc/status", "Retry-After": "5"}, "content": ""}
    builder.complete_activity(task, accepted)
    assert scheduled(_replay(builder, [{"actionType": 8, "httpRequest": request}])) == []
    polling = {"actionType": 8, "httpRequest": {**request, "asynchronousPatternEnabled": True}}
    result = _replay(builder, [polling])
    assert scheduled(result) == [(EventType.TIMER_CREATED, 1)]
    assert parse_timestamp(result.new_events[0]["FireAt"]) == builder.now + timedelta(seconds=5)


def test_retry_delays_clamp_instead_of_overflowing() -> None:
    """A coefficient or interval past what a clock can add stays at the longest wait
    (the max interval, 6 days unless set), never an OverflowError that fails the host."""
    builder = HistoryBuilder("orch")
    failed = builder.schedule_activity("act")
    builder.fail_activity(failed, "boom")
    builder.next_episode()
    action = {
        **with_retry(attempts=5),
        "retryOptions": {
            "firstRetryIntervalInMilliseconds": 1e300,
            "maxNumberOfAttempts": 5,
            "backoffCoefficient": 1e308,
        },
    }
    result = _replay(builder, [action])
    timer = next(e for e in result.new_events if e["EventType"] == EventType.TIMER_CREATED)
    now = parse_timestamp(builder.history[-1]["Timestamp"])
    assert parse_timestamp(timer["FireAt"]) - now <= timedelta(days=6, seconds=1)
