"""`/devhost/dashboard/instances/{id}`: one instance, with its timeline and history.

Read through `Management`, as the HTTP API reads: the status, then the current
execution's history with its ids (which `timeline.py` pairs into bars and
`timeline_svg.py` draws). Earlier executions of an instance that continued as new are
not in storage; those this host saw end are one link away (`?execution=`). The history
table filters by event type in the query string, so a link reproduces the view. The
list of instances is `listing.py`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from markupsafe import Markup

from ..engine.statuses import parse_stored
from ..errors import BadRequest, NotFound
from ..http.keys import ENGINE, MANAGEMENT
from ..protocol import Event, EventType
from ..protocol.events import event_type_name
from . import actions
from .listing import REFRESH_CHOICES, instance_list, refresh_of
from .render import render
from .timeline import build_timeline
from .timeline_svg import render_svg

# Fields every row shows in its own columns, or that say nothing to a person.
_ROW_FIELDS = frozenset({"EventType", "Timestamp", "Name", "EventId", "IsPlayed"})
# The timeline's axes, as `?axis=` names them.
_AXES = ("time", "episodes")
# Fields holding stored JSON texts, shown parsed.
_JSON_FIELDS = frozenset({"Input", "Result", "Details"})


def add_routes(dashboard: web.Application) -> None:
    dashboard.router.add_get("/instances/", instance_list)
    dashboard.router.add_get("/instances/{instance_id}", instance_page)
    actions.add_routes(dashboard, instance_page, instance_list)


@dataclass(frozen=True)
class HistoryRow:
    """One history event: its columns, and the rest of its fields to expand."""

    index: int
    event_id: int | None
    event_type: str
    timestamp: str
    name: str
    details: str | None

    @classmethod
    def of(cls, index: int, event: Event) -> HistoryRow:
        rest = {
            key: parse_stored(value) if key in _JSON_FIELDS and isinstance(value, str) else value
            for key, value in event.items()
            if key not in _ROW_FIELDS and value is not None
        }
        event_id = event.get("EventId")
        return cls(
            index=index,
            event_id=event_id if isinstance(event_id, int) and event_id >= 0 else None,
            event_type=event_type_name(event["EventType"]),
            timestamp=str(event.get("Timestamp") or ""),
            name=str(event.get("Name") or ""),
            details=pretty(rest) if rest else None,
        )


@dataclass(frozen=True)
class Relative:
    """Another instance this one knows of: its parent, or a sub-orchestration it started."""

    instance_id: str
    name: str


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def parent_of(history: list[Event]) -> Relative | None:
    for event in history:
        if event["EventType"] == EventType.EXECUTION_STARTED and event.get("ParentInstance"):
            parent = event["ParentInstance"]
            return Relative(parent["OrchestrationInstance"]["InstanceId"], str(parent.get("Name") or ""))
    return None


def execution_of(history: list[Event]) -> str | None:
    for event in history:
        if event["EventType"] == EventType.EXECUTION_STARTED:
            return str(event["OrchestrationInstance"]["ExecutionId"])
    return None


def children_of(history: list[Event]) -> list[Relative]:
    return [
        Relative(str(event["InstanceId"]), str(event.get("Name") or ""))
        for event in history
        if event["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED
    ]


def _axis_of(request: web.Request) -> str | None:
    """`time` or `episodes` when the URL chooses the timeline's axis; None: the timeline
    decides (`Timeline.by_time`)."""
    axis = request.query.get("axis") or None
    if axis not in (None, *_AXES):
        raise BadRequest(f"The timeline is drawn by {' or '.join(_AXES)}, not {axis!r}.")
    return axis


def _event_filter(request: web.Request) -> tuple[str, ...]:
    chosen = tuple(request.query.getall("event", []))
    known = {event_type_name(kind) for kind in EventType}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise BadRequest(f"Unknown event type {unknown[0]!r}: choose among {', '.join(sorted(known))}.")
    return chosen


async def instance_page(request: web.Request, *, problem: str | None = None, status: int = 200) -> web.Response:
    """Status, the timeline of the execution shown (the current one unless `execution`
    names an earlier one), its history, and the actions (a refused one's reason as
    `problem`, with the status the HTTP API would answer)."""
    instance_id = request.match_info["instance_id"]
    management = request.config_dict[MANAGEMENT]
    instance = await management.status(instance_id)  # NotFound: the error page says so
    history = await management.history(instance_id)
    earlier = management.earlier_executions(instance_id)
    current_execution = execution_of(history)
    shown_execution = request.query.get("execution")
    chosen: tuple[str, ...] = ()
    refresh = 0
    axis: str | None = None
    try:
        chosen, refresh, axis = _event_filter(request), refresh_of(request), _axis_of(request)
        if shown_execution:
            found = management.earlier_execution(instance_id, shown_execution)
            if found is None:
                raise NotFound(
                    f"Execution {shown_execution!r} of this instance is not kept: only the current one is "
                    "stored, and earlier ones only while the host that ran them keeps running."
                )
            history = found.history
    except (BadRequest, NotFound) as error:
        problem, status, shown_execution = error.message, error.status, None
    now = request.config_dict[ENGINE].clock.now()
    timeline = build_timeline(history, now=now)
    by_time = timeline.by_time if axis is None else axis == "time"
    svg = render_svg(
        timeline.bars,
        start=timeline.start,
        end=timeline.end,
        markers=timeline.markers,
        episodes=None if by_time else timeline.episodes,
    )
    rows = [HistoryRow.of(n, event) for n, event in enumerate(history, start=1)]
    return render(
        request,
        "instance.html",
        status=status,
        problem=problem,
        done=request.query.get("done"),
        instance=instance,
        failure=instance.output if instance.runtime_status == "Failed" and not shown_execution else None,
        timeline=Markup(svg),  # built escaped by timeline_svg.py
        by_time=by_time,
        axis_urls={name: str(request.rel_url.update_query(axis=name)) for name in _AXES},
        event_counts=sorted(Counter(row.event_type for row in rows).items()),
        chosen_events=chosen,
        history=[row for row in rows if not chosen or row.event_type in chosen],
        parent=parent_of(history),
        children=children_of(history),
        earlier=earlier,
        current_execution=current_execution,
        shown_execution=shown_execution,
        refresh=refresh,
        refresh_choices=REFRESH_CHOICES,
        pretty=pretty,
    )
