"""Approval activities reach people through the notifier and keep an audit record."""

from function_invoker import run_activity

from activities import escalate_approval, record_decision, request_approval
from activities.gateways import sent_notifications

NOTICE = {
    "request_id": "r-9",
    "approver": "manager",
    "description": "New laptop",
    "deadline": "2024-05-04T10:00:00Z",
}


async def test_request_asks_the_approver_by_the_deadline() -> None:
    await run_activity(request_approval, NOTICE)

    message = sent_notifications()[-1]
    assert message.to == "manager"
    assert "r-9" in message.subject
    assert "2024-05-04T10:00:00Z" in message.body


async def test_escalation_names_who_did_not_answer() -> None:
    await run_activity(
        escalate_approval, {**NOTICE, "approver": "director", "previous_approver": "manager"}
    )

    message = sent_notifications()[-1]
    assert message.to == "director"
    assert message.body.startswith("manager did not answer in time.")


async def test_expired_decision_is_recorded_with_its_reason() -> None:
    decision = {
        "request_id": "r-9",
        "decision": "rejected",
        "by": None,
        "escalated": True,
        "reason": "expired",
    }

    await run_activity(record_decision, decision)

    message = sent_notifications()[-1]
    assert message.to == "approvals-audit"
    assert message.subject == "Decision on r-9: rejected"
    assert message.body == "by nobody; escalated: True; reason: expired"
