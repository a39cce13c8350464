"""Fan-out/fan-in: `summarize_blobs` analyzes every blob of a container in parallel.

Blobs go in batches of BATCH_SIZE to `summarize_blob_batch` sub-orchestrations, which fan
out one `analyze_blob` each. An instance replays its whole history on every episode, so
one activity per blob in a single instance would grow without bound; sub-orchestrations
keep each history to one batch while all batches still run at once.
"""

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Generator

import azure.durable_functions as df

from activities.blobs import analyze_blob, list_blobs, write_blob_report

from .inputs import NON_EMPTY, iso_utc, parse, rule

bp = df.Blueprint()
logger = logging.getLogger(__name__)

BATCH_SIZE = 50

# Azure's rule for container names, checked early for a clearer message than a 400 from storage.
CONTAINER_NAME = rule(
    lambda value: re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", value) is not None,
    "must be a container name: 3-63 lowercase letters, digits and single hyphens",
)


@dataclass(frozen=True)
class SummaryInput:
    """Input of `summarize_blobs`."""

    container: str = field(metadata=CONTAINER_NAME)
    prefix: str = ""


@dataclass(frozen=True)
class BlobBatch:
    """Input of `summarize_blob_batch`."""

    container: str = field(metadata=CONTAINER_NAME)
    names: list[str] = field(metadata=NON_EMPTY)


@bp.orchestration_trigger(context_name="context")
def summarize_blob_batch(
    context: df.DurableOrchestrationContext,
) -> Generator[Any, Any, dict[str, Any]]:
    """One `analyze_blob` per blob, in parallel: `{"blobs": [...], "totals": {...}}`."""
    batch = parse(BlobBatch, context.get_input())
    rows: list[dict[str, Any]] = yield context.task_all(
        [
            context.call_activity(analyze_blob, {"container": batch.container, "name": name})
            for name in batch.names
        ]
    )
    return {"blobs": rows, "totals": _totals(rows)}


@bp.orchestration_trigger(context_name="context")
def summarize_blobs(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """list_blobs → one sub-orchestration per batch, in parallel → write_blob_report."""
    request = parse(SummaryInput, context.get_input())
    listing = yield context.call_activity(
        list_blobs, {"container": request.container, "prefix": request.prefix}
    )
    if not listing["exists"]:
        return {
            "container": request.container,
            "prefix": request.prefix,
            "status": "container_not_found",
            **_totals([]),
            "batches": 0,
            "report_blob": None,
        }

    names = [blob["name"] for blob in listing["blobs"]]
    batches = [names[start : start + BATCH_SIZE] for start in range(0, len(names), BATCH_SIZE)]
    if not context.is_replaying:
        logger.info(
            "summarizing %d blobs of %s in %d batches", len(names), request.container, len(batches)
        )
    rows: list[dict[str, Any]] = []
    if batches:  # An empty task_all would still send the host an empty WhenAll.
        results = yield context.task_all(
            [
                # expected_type: the SDK would take the handle's `-> str` as the result type.
                context.call_sub_orchestrator(
                    summarize_blob_batch,
                    {"container": request.container, "names": batch},
                    expected_type=dict,
                )
                for batch in batches
            ]
        )
        rows = [row for result in results for row in result["blobs"]]
    totals = _totals(rows)
    report_blob = yield context.call_activity(
        write_blob_report,
        {
            "container": request.container,
            "prefix": request.prefix,
            "instance_id": context.instance_id,
            "generated_at": iso_utc(context.current_utc_datetime),
            "batches": len(batches),
            "totals": totals,
            "blobs": rows,
        },
    )
    return {
        "container": request.container,
        "prefix": request.prefix,
        "status": "summarized",
        **totals,
        "batches": len(batches),
        "report_blob": report_blob,
    }


def _totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "blobs": len(rows),
        "bytes": sum(row["size"] for row in rows),
        "lines": sum(row["lines"] for row in rows),
        "words": sum(row["words"] for row in rows),
    }
