"""`approval_workflow` replayed through the SDK: answers, timeouts, escalation, expiry."""

from datetime import timedelta

import pytest
from history_builder import CREATE_TIMER, T0, WAIT_FOR_EVENT, HistoryBuilder, calls, of_type, replay

from devhost.protocol import parse_timestamp
from orchestrators import APPROVAL_EVENT, approval_workflow

REQUEST = {"request_id": "r-1"}


def waiting(request: dict = REQUEST) -> tuple[HistoryBuilder, int]:
    """History where the approver was asked and the first window's timer runs."""
    history = HistoryBuilder("approval_workflow", request)
    history.run_activity("request_approval", {"to": "manager"})
    timer = history.schedule_timer(T0 + timedelta(hours=request.get("timeout_hours", 72)))
    history.next_episode()
    return history, timer


def escalated(request: dict = REQUEST) -> tuple[HistoryBuilder, int]:
    """History where the first window passed and the escalation window's timer runs."""
    history, first = waiting(request)
    history.next_episode(at=T0 + timedelta(hours=72))
    history.fire_timer(first)
    history.run_activity("escalate_approval", {"to": "director"})
    second = history.schedule_timer(T0 + timedelta(hours=72 + 24))
    history.next_episode()
    return history, second


def test_approver_is_asked_then_the_workflow_waits_72_hours_for_the_event() -> None:
    history = HistoryBuilder("approval_workflow", REQUEST)
    history.run_activity("request_approval", {"to": "manager"})

    state = replay(approval_workflow, history.context_json())

    assert calls(state) == [
        (
            "request_approval",
            {
                "request_id": "r-1",
                "approver": "manager",
                "description": "",
                "deadline": "2024-05-04T10:00:00Z",
            },
        )
    ]
    (timer,) = of_type(state, CREATE_TIMER)
    assert parse_timestamp(timer["fireAt"]) == T0 + timedelta(hours=72)
    assert of_type(state, WAIT_FOR_EVENT)[0]["externalEventName"] == APPROVAL_EVENT


@pytest.mark.parametrize(("approved", "decision"), [(True, "approved"), (False, "rejected")])
def test_answer_in_time_is_recorded_and_returned(approved: bool, decision: str) -> None:
    history, _ = waiting()
    history.raise_event(APPROVAL_EVENT, {"approved": approved, "approver": "manager"})
    state = replay(approval_workflow, history.context_json())
    assert calls(state)[-1] == (
        "record_decision",
        {"request_id": "r-1", "decision": decision, "by": "manager", "escalated": False},
    )

    history.run_activity("record_decision", {"to": "approvals-audit"})
    state = replay(approval_workflow, history.context_json())

    assert state.output == {"decision": decision, "by": "manager", "escalated": False}


def test_timer_is_cancelled_when_the_answer_wins() -> None:
    history, _ = waiting()
    history.raise_event(APPROVAL_EVENT, {"approved": True, "approver": "manager"})

    (timer,) = of_type(replay(approval_workflow, history.context_json()), CREATE_TIMER)

    assert timer["isCanceled"] is True


def test_answer_from_the_raw_http_api_is_read_the_same() -> None:
    history, _ = waiting()
    history.raise_event(
        APPROVAL_EVENT, {"approved": True, "approver": "ops"}, from_sdk_client=False
    )

    assert calls(replay(approval_workflow, history.context_json()))[-1][1]["by"] == "ops"


def test_no_answer_in_72_hours_escalates_for_24_more() -> None:
    history, first = waiting()
    history.next_episode(at=T0 + timedelta(hours=72))
    history.fire_timer(first)
    state = replay(approval_workflow, history.context_json())
    assert calls(state)[-1] == (
        "escalate_approval",
        {
            "request_id": "r-1",
            "approver": "director",
            "description": "",
            "deadline": "2024-05-05T10:00:00Z",
            "previous_approver": "manager",
        },
    )

    history.run_activity("escalate_approval", {"to": "director"})
    timers = of_type(replay(approval_workflow, history.context_json()), CREATE_TIMER)
    assert parse_timestamp(timers[-1]["fireAt"]) == T0 + timedelta(hours=72 + 24)


def test_answer_after_escalation_is_marked_escalated() -> None:
    history, _ = escalated()
    history.raise_event(APPROVAL_EVENT, {"approved": True, "approver": "lead"})
    history.run_activity("record_decision", {"to": "approvals-audit"})

    state = replay(approval_workflow, history.context_json())

    assert state.output == {"decision": "approved", "by": "lead", "escalated": True}
    assert of_type(state, CREATE_TIMER)[-1]["isCanceled"] is True


def test_no_answer_after_escalation_expires_as_rejected() -> None:
    history, second = escalated()
    history.next_episode(at=T0 + timedelta(hours=72 + 24))
    history.fire_timer(second)
    state = replay(approval_workflow, history.context_json())
    assert calls(state)[-1] == (
        "record_decision",
        {
            "request_id": "r-1",
            "decision": "rejected",
            "by": None,
            "escalated": True,
            "reason": "expired",
        },
    )

    history.run_activity("record_decision", {"to": "approvals-audit"})
    state = replay(approval_workflow, history.context_json())

    assert state.output == {
        "decision": "rejected",
        "by": None,
        "escalated": True,
        "reason": "expired",
    }


def test_custom_windows_set_the_timers() -> None:
    history, _ = waiting({"request_id": "r-2", "timeout_hours": 1.5})

    (timer,) = of_type(replay(approval_workflow, history.context_json()), CREATE_TIMER)

    assert parse_timestamp(timer["fireAt"]) == T0 + timedelta(hours=1.5)


def test_malformed_answer_fails_naming_the_event_field() -> None:
    history, _ = waiting()
    history.raise_event(APPROVAL_EVENT, {"approved": "yes", "approver": "manager"})

    state = replay(approval_workflow, history.context_json())

    assert state.error == "ApprovalEvent payload: approved: must be true or false"


def test_answer_arriving_while_escalation_is_sent_still_counts() -> None:
    history, first = waiting()
    history.next_episode(at=T0 + timedelta(hours=72))
    history.fire_timer(first)
    escalation = history.schedule_activity("escalate_approval")
    history.next_episode()
    history.raise_event(APPROVAL_EVENT, {"approved": False, "approver": "manager"})
    history.next_episode()
    history.complete_activity(escalation, {"to": "director"})
    state = replay(approval_workflow, history.context_json())
    assert calls(state)[-1] == (
        "record_decision",
        {"request_id": "r-1", "decision": "rejected", "by": "manager", "escalated": True},
    )

    history.schedule_timer(T0 + timedelta(hours=72 + 24))
    history.run_activity("record_decision", {"to": "approvals-audit"})
    state = replay(approval_workflow, history.context_json())

    assert state.output == {"decision": "rejected", "by": "manager", "escalated": True}
    assert of_type(state, CREATE_TIMER)[-1]["isCanceled"] is True


def test_answer_in_the_same_batch_as_the_deadline_goes_to_escalation() -> None:
    history, first = waiting()
    history.next_episode(at=T0 + timedelta(hours=72))
    history.fire_timer(first)
    history.raise_event(APPROVAL_EVENT, {"approved": True, "approver": "manager"})
    state = replay(approval_workflow, history.context_json())
    assert calls(state)[-1][0] == "escalate_approval"

    history.run_activity("escalate_approval", {"to": "director"})
    state = replay(approval_workflow, history.context_json())

    assert calls(state)[-1] == (
        "record_decision",
        {"request_id": "r-1", "decision": "approved", "by": "manager", "escalated": True},
    )
