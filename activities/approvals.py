"""Activities of `approval_workflow`: ask the approver, escalate, record the decision.

People are reached through the notifier in `gateways`; the decision record is a message
to the requester's audit inbox, which a real app would store in its own database.
"""

import logging
from typing import Any

import azure.durable_functions as df

from . import gateways

bp = df.Blueprint()
logger = logging.getLogger(__name__)

AUDIT_INBOX = "approvals-audit"


@bp.activity_trigger(input_name="request")
def request_approval(request: dict[str, Any]) -> dict[str, Any]:
    """Asks the approver to answer before the deadline."""
    return gateways.notify(
        to=request["approver"],
        subject=f"Approval needed: {request['request_id']}",
        body=(
            f"{request['description'] or 'No description.'} "
            f"Please answer by {request['deadline']}."
        ),
    )


@bp.activity_trigger(input_name="request")
def escalate_approval(request: dict[str, Any]) -> dict[str, Any]:
    """Hands the request to the escalation approver after the first window passed unanswered."""
    return gateways.notify(
        to=request["approver"],
        subject=f"Escalated approval: {request['request_id']}",
        body=(
            f"{request['previous_approver']} did not answer in time. "
            f"{request['description'] or 'No description.'} Please answer by {request['deadline']}."
        ),
    )


@bp.activity_trigger(input_name="decision")
def record_decision(decision: dict[str, Any]) -> dict[str, Any]:
    """Keeps the outcome, who decided and whether it was escalated, for audit."""
    logger.info("approval %s: %s", decision["request_id"], decision["decision"])
    return gateways.notify(
        to=AUDIT_INBOX,
        subject=f"Decision on {decision['request_id']}: {decision['decision']}",
        body=(
            f"by {decision['by'] or 'nobody'}; escalated: {decision['escalated']}"
            + (f"; reason: {decision['reason']}" if decision.get("reason") else "")
        ),
    )
