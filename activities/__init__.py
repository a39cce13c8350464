"""Activity functions, one blueprint per pattern; `gateways` simulates the outside world."""

from .approvals import escalate_approval, record_decision, request_approval
from .blobs import TextStats, analyze_blob, list_blobs, write_blob_report
from .jobs import check_job_status, send_alert
from .orders import (
    CATALOG,
    charge_payment,
    notify_customer,
    release_stock,
    reserve_stock,
    ship_order,
    validate_order,
)
from .reports import build_report_section, render_report

__all__ = [
    "CATALOG",
    "TextStats",
    "analyze_blob",
    "build_report_section",
    "charge_payment",
    "check_job_status",
    "escalate_approval",
    "list_blobs",
    "notify_customer",
    "record_decision",
    "release_stock",
    "render_report",
    "request_approval",
    "reserve_stock",
    "send_alert",
    "ship_order",
    "validate_order",
    "write_blob_report",
]
