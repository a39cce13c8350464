"""Orchestrator functions, one blueprint per pattern, and the inputs each one accepts."""

from .approval import APPROVAL_EVENT, ApprovalDecision, ApprovalInput, approval_workflow
from .blob_summary import BATCH_SIZE, BlobBatch, SummaryInput, summarize_blob_batch, summarize_blobs
from .inputs import InputError, parse
from .job_monitor import MonitorInput, monitor_job
from .order_processing import PAYMENT_RETRY, OrderInput, process_order
from .report import ReportInput, generate_report
from .retries import BackoffRetryOptions

# What a client may start, and the dataclass its input must fit (None: any input).
# `summarize_blob_batch` is missing on purpose: only `summarize_blobs` starts it.
STARTABLE: dict[str, type | None] = {
    "process_order": OrderInput,
    "summarize_blobs": SummaryInput,
    "generate_report": ReportInput,
    "monitor_job": MonitorInput,
    "approval_workflow": ApprovalInput,
}

__all__ = [
    "APPROVAL_EVENT",
    "BATCH_SIZE",
    "PAYMENT_RETRY",
    "STARTABLE",
    "ApprovalDecision",
    "ApprovalInput",
    "BackoffRetryOptions",
    "BlobBatch",
    "InputError",
    "MonitorInput",
    "OrderInput",
    "ReportInput",
    "SummaryInput",
    "approval_workflow",
    "generate_report",
    "monitor_job",
    "parse",
    "process_order",
    "summarize_blob_batch",
    "summarize_blobs",
]
