"""Client functions that start work from events other than HTTP: order intake from a
queue, and the nightly blob summary from a timer.

Both derive the instance id from the event (the order id; the schedule's date), and
both start an instance only if none with that id exists yet, so a queue message
delivered twice, a retried invocation, or a second host firing the same occurrence
never starts the work twice. (The SDK's `start_new` would otherwise restart a finished
instance of that id: `overridableExistingInstanceStates` is NonRunningStates.)
"""

import json
import logging
import os
from datetime import datetime, timezone
from typing import Any, Optional

import azure.durable_functions as df
import azure.functions as func

from orchestrators import InputError, OrderInput, SummaryInput, parse

bp = df.Blueprint()
logger = logging.getLogger(__name__)

ORDERS_QUEUE = "orders-incoming"
# Where an order message that can never succeed goes, as the host moves a message there
# after its last failed attempt.
ORDERS_POISON_QUEUE = f"{ORDERS_QUEUE}-poison"
# App settings: the summary's schedule (NCRONTAB, UTC unless WEBSITE_TIME_ZONE is set),
# the container it reads, and a blob name prefix within it.
SCHEDULE_SETTING = "NIGHTLY_SUMMARY_SCHEDULE"
CONTAINER_SETTING = "NIGHTLY_SUMMARY_CONTAINER"
PREFIX_SETTING = "NIGHTLY_SUMMARY_PREFIX"


async def start_once(
    client: df.DurableOrchestrationClient, orchestrator: str, instance_id: str, payload: Any
) -> bool:
    """Starts `orchestrator` as `instance_id` unless an instance of that id exists;
    True if this call started it. A start made once the first one's Pending row is
    written is refused, and its caller, seeing the instance now, reports it as already
    started. Two callers at the same moment may both see no instance and both start:
    the instance still runs once (DTFx, and devhost, drop the second start message as a
    duplicate), but both report starting it."""
    if await _exists(client, instance_id):
        return False
    try:
        await client.start_new(orchestrator, instance_id, payload)
    except Exception:
        if await _exists(client, instance_id):
            return False
        raise
    return True


async def _exists(client: df.DurableOrchestrationClient, instance_id: str) -> bool:
    status = await client.get_status(instance_id)
    return bool(status and status.name)


@bp.queue_trigger(arg_name="message", queue_name=ORDERS_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="poison", queue_name=ORDERS_POISON_QUEUE, connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def intake_order(
    message: func.QueueMessage, poison: func.Out[str], client: df.DurableOrchestrationClient
) -> None:
    """Starts `process_order` for an order message (the body `POST
    /api/orchestrators/process_order` takes), with the order id as the instance id.

    A message that is not a valid order never will be: it goes to the poison queue at
    once, with a log line saying why, instead of failing five times first. A failure
    to start (storage trouble) raises, so the host retries the message."""
    text = message.get_body().decode("utf-8", "replace")
    try:
        order = parse(OrderInput, json.loads(text))
    except (ValueError, InputError) as error:  # JSONDecodeError is a ValueError
        logger.error(
            "Queue message %s is not a valid order (%s); moved to %s.", message.id, error, ORDERS_POISON_QUEUE
        )
        poison.set(text)
        return
    if await start_once(client, "process_order", order.order_id, json.loads(text)):
        logger.info("Order %s from queue message %s: process_order started.", order.order_id, message.id)
    else:
        logger.info("Order %s from queue message %s was already started; nothing to do.", order.order_id, message.id)


@bp.timer_trigger(arg_name="timer", schedule=f"%{SCHEDULE_SETTING}%", use_monitor=True)
@bp.durable_client_input(client_name="client")
async def nightly_summary(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Starts `summarize_blobs` for the configured container once per scheduled date:
    the instance id holds the occurrence's date, so a restart or a second host firing
    the same occurrence starts nothing new, and a late (past-due) run still counts for
    the date it was due. A run by hand counts for the coming night: that night's
    scheduled run then finds it started (purge the instance to have it run again)."""
    container = os.environ.get(CONTAINER_SETTING, "")
    summary = parse(SummaryInput, {"container": container, "prefix": os.environ.get(PREFIX_SETTING, "")})
    day = _occurrence(timer).strftime("%Y-%m-%d")
    instance_id = f"nightly-summary-{summary.container}-{day}"
    started = await start_once(
        client, "summarize_blobs", instance_id, {"container": summary.container, "prefix": summary.prefix}
    )
    logger.info(
        "Nightly summary for %s (%s, past due: %s): %s.",
        day,
        summary.container,
        timer.past_due,
        "summarize_blobs started" if started else "already started",
    )


def _occurrence(timer: func.TimerRequest) -> datetime:
    """The occurrence being run: the status's `Next` when the host keeps one (it names
    the occurrence that fires now; on a call by hand, which gets the recorded status,
    the coming one), else the current time."""
    due: Optional[str] = (timer.schedule_status or {}).get("Next")
    if due:
        moment = datetime.fromisoformat(due.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)
