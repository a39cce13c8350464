"""Async HTTP API: `generate_report` is a long job whose progress shows in `customStatus`.

The client gets the check-status URLs at once and polls `statusQueryGetUri`; every stage
below publishes `{"stage", "done", "total"}`, which the host stores at the end of each
episode, so a poller sees the job move through collecting, building and rendering.
Sections are built `pace_seconds` apart (a durable timer, not a sleep): the reporting
backend is rate limited, and the pause costs nothing while the instance waits.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generator, Literal

import azure.durable_functions as df

from activities.reports import build_report_section, render_report
from entities.counter import ORDERS_COMPLETED, REVENUE_CENTS

from .inputs import NON_EMPTY, NON_NEGATIVE, iso_utc, parse

bp = df.Blueprint()
logger = logging.getLogger(__name__)

Section = Literal["orders", "revenue", "inventory", "shipping"]
DEFAULT_SECTIONS: tuple[Section, ...] = ("orders", "revenue", "inventory", "shipping")


@dataclass(frozen=True)
class ReportInput:
    """Input of `generate_report`."""

    title: str = field(metadata=NON_EMPTY)
    sections: list[Section] = field(
        default_factory=lambda: list(DEFAULT_SECTIONS), metadata=NON_EMPTY
    )
    pace_seconds: float = field(default=2.0, metadata=NON_NEGATIVE)


def progress(stage: str, done: int, total: int) -> dict[str, Any]:
    """The custom status a poller sees."""
    return {"stage": stage, "done": done, "total": total}


@bp.orchestration_trigger(context_name="context")
def generate_report(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """collecting (Counter entities) → building (one activity per section) → rendering."""
    request = parse(ReportInput, context.get_input())
    total = len(request.sections)

    context.set_custom_status(progress("collecting", 0, total))
    orders_completed, revenue_cents = yield context.task_all(
        [
            context.call_entity(ORDERS_COMPLETED, "get"),
            context.call_entity(REVENUE_CENTS, "get"),
        ]
    )
    figures = {"orders_completed": orders_completed or 0, "revenue_cents": revenue_cents or 0}

    sections: list[dict[str, Any]] = []
    for done, name in enumerate(request.sections):
        context.set_custom_status(progress("building", done, total))
        if done and request.pace_seconds:
            yield context.create_timer(
                context.current_utc_datetime + timedelta(seconds=request.pace_seconds)
            )
        section = yield context.call_activity(
            build_report_section, {"section": name, "figures": figures}
        )
        sections.append(section)

    context.set_custom_status(progress("rendering", total, total))
    report = yield context.call_activity(
        render_report,
        {
            "title": request.title,
            "generated_at": iso_utc(context.current_utc_datetime),
            "figures": figures,
            "sections": sections,
        },
    )
    context.set_custom_status(progress("completed", total, total))
    if not context.is_replaying:
        logger.info("report %r generated", request.title)
    return report
