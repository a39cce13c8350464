"""Human interaction: `approval_workflow` waits for a person, with a deadline and escalation.

The wait is a race between the external event `ApprovalEvent` and a durable timer; the
timer survives restarts and costs nothing while it waits. An unanswered request goes to
the escalation approver for a second window, then expires as rejected.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generator, Optional

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase

from activities.approvals import escalate_approval, record_decision, request_approval

from .inputs import NON_EMPTY, POSITIVE, InputError, iso_utc, parse

bp = df.Blueprint()
logger = logging.getLogger(__name__)

APPROVAL_EVENT = "ApprovalEvent"


@dataclass(frozen=True)
class ApprovalInput:
    """Input of `approval_workflow`."""

    request_id: str = field(metadata=NON_EMPTY)
    approver: str = field(default="manager", metadata=NON_EMPTY)
    escalation_approver: str = field(default="director", metadata=NON_EMPTY)
    description: str = ""
    timeout_hours: float = field(default=72.0, metadata=POSITIVE)
    escalation_hours: float = field(default=24.0, metadata=POSITIVE)


@dataclass(frozen=True)
class ApprovalDecision:
    """Payload of `ApprovalEvent`; who answered is recorded, not checked against `approver`."""

    approved: bool
    approver: str = field(metadata=NON_EMPTY)


@bp.orchestration_trigger(context_name="context")
def approval_workflow(
    context: df.DurableOrchestrationContext,
) -> Generator[Any, Any, dict[str, Any]]:
    """request_approval → wait → (escalate_approval → wait) → record_decision."""
    request = parse(ApprovalInput, context.get_input())
    deadline = context.current_utc_datetime + timedelta(hours=request.timeout_hours)
    yield context.call_activity(request_approval, _notice(request, request.approver, deadline))
    # One waiter for both windows, so an answer that arrives while the escalation is being
    # sent still counts: the SDK would hand it to a first, abandoned waiter instead.
    answer = context.wait_for_external_event(APPROVAL_EVENT)
    decision = yield from _decision_before(context, answer, deadline)
    escalated = decision is None
    if escalated:
        if not context.is_replaying:
            logger.info(
                "approval %s escalated to %s", request.request_id, request.escalation_approver
            )
        deadline = context.current_utc_datetime + timedelta(hours=request.escalation_hours)
        yield context.call_activity(
            escalate_approval,
            {
                **_notice(request, request.escalation_approver, deadline),
                "previous_approver": request.approver,
            },
        )
        decision = yield from _decision_before(context, answer, deadline)

    if decision is None:
        outcome: dict[str, Any] = {
            "decision": "rejected",
            "by": None,
            "escalated": True,
            "reason": "expired",
        }
    else:
        verdict = "approved" if decision.approved else "rejected"
        outcome = {"decision": verdict, "by": decision.approver, "escalated": escalated}
    yield context.call_activity(record_decision, {"request_id": request.request_id, **outcome})
    return outcome


def _decision_before(
    context: df.DurableOrchestrationContext, answer: TaskBase, deadline: datetime
) -> Generator[Any, Any, Optional[ApprovalDecision]]:
    """The decision if `answer` (the ApprovalEvent) comes before `deadline`, else None."""
    timer = context.create_timer(deadline)
    winner = yield context.task_any([answer, timer])
    if winner is timer:
        return None
    timer.cancel()  # Lets the host drop the timer instead of waking the instance for nothing.
    try:
        return parse(ApprovalDecision, answer.result)
    except InputError as error:  # Only raw-API callers get here: the route checks the body.
        raise InputError(f"{APPROVAL_EVENT} payload: {error}") from error


def _notice(request: ApprovalInput, approver: str, deadline: datetime) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "approver": approver,
        "description": request.description,
        "deadline": iso_utc(deadline),
    }
