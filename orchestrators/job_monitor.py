"""Monitor: `monitor_job` polls a job's status URL until it ends or the monitor expires.

Each execution polls once, then sleeps on a durable timer and continues as new with the
poll count and a fixed expiry, so an instance that polls for days keeps a history of one
poll (eternal orchestration).
"""

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import Any, Generator, Optional
from urllib.parse import urlsplit

import azure.durable_functions as df

from activities.jobs import check_job_status, send_alert

from .inputs import ISO_UTC, NON_NEGATIVE_INT, POSITIVE_INT, iso_utc, parse, parse_iso_utc, rule

bp = df.Blueprint()
logger = logging.getLogger(__name__)

FINAL_STATES = {"completed": "job_completed", "failed": "job_failed"}
ALERT_RECIPIENT = "on-call"

HTTP_URL = rule(
    lambda value: urlsplit(value).scheme in ("http", "https") and bool(urlsplit(value).netloc),
    "must be an http:// or https:// URL",
)


@dataclass(frozen=True)
class MonitorInput:
    """Input of `monitor_job`; `polls` and the computed `expires_at` carry over executions."""

    status_url: str = field(metadata=HTTP_URL)
    interval_seconds: int = field(default=30, metadata=POSITIVE_INT)
    expires_at: Optional[str] = field(default=None, metadata=ISO_UTC)
    timeout_seconds: int = field(default=3600, metadata=POSITIVE_INT)
    polls: int = field(default=0, metadata=NON_NEGATIVE_INT)


@bp.orchestration_trigger(context_name="context")
def monitor_job(
    context: df.DurableOrchestrationContext,
) -> Generator[Any, Any, Optional[dict[str, Any]]]:
    """check_job_status → alert and stop when the job ended, else sleep and continue as new."""
    monitor = parse(MonitorInput, context.get_input())
    now = context.current_utc_datetime
    if monitor.expires_at is None:  # First execution: the timeout starts now.
        expires_at = now + timedelta(seconds=monitor.timeout_seconds)
    else:
        expires_at = parse_iso_utc(monitor.expires_at)
    if now >= expires_at:
        if not context.is_replaying:
            logger.warning(
                "monitor of %s expired after %d polls", monitor.status_url, monitor.polls
            )
        return {"status": "expired", "polls": monitor.polls, "status_url": monitor.status_url}

    check = yield context.call_activity(check_job_status, monitor.status_url)
    polls = monitor.polls + 1
    outcome = FINAL_STATES.get(check["state"])
    if outcome is not None:
        yield context.call_activity(
            send_alert,
            {
                "to": ALERT_RECIPIENT,
                "subject": f"Job {check['state']}: {monitor.status_url}",
                "body": f"The job reported '{check['state']}' on poll {polls}.",
            },
        )
        return {
            "status": outcome,
            "polls": polls,
            "job": check["job"],
            "alerted": True,
            "status_url": monitor.status_url,
        }

    # An unreachable endpoint is logged by check_job_status; the next poll may reach it.
    next_poll = context.current_utc_datetime + timedelta(seconds=monitor.interval_seconds)
    yield context.create_timer(min(next_poll, expires_at))
    context.continue_as_new(asdict(replace(monitor, expires_at=iso_utc(expires_at), polls=polls)))
    return None
