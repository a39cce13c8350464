"""`/devhost/dashboard/instances/`: the instances of the hub, a page at a time, and one
instance with its timeline and history.

Both read through `Management`, as the HTTP API does: the list is one page of the
store's query (the continuation token in the URL pages on, so a link reproduces the
view and no refresh scans the hub), filtered by status and id prefix in the query
string; the instance page draws `timeline.py`'s bars with `timeline_svg.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from ..errors import BadRequest
from ..http.keys import ENGINE, MANAGEMENT
from ..protocol import OrchestrationStatus
from ..protocol.events import event_type_name
from ..engine.statuses import InstanceStatus
from ..stores.base import InstanceQuery
from . import actions
from .render import INSTANCES_PATH, render
from .timeline import build_timeline
from .timeline_svg import render_svg

PAGE_SIZE = 50
# What a preview cell shows of an input or output before it is cut.
_PREVIEW_CHARS = 80
_STATUSES = {status.api_name: status for status in OrchestrationStatus}


def add_routes(dashboard: web.Application) -> None:
    dashboard.router.add_get("/instances/", instance_list)
    dashboard.router.add_get("/instances/{instance_id}", instance_page)
    actions.add_routes(dashboard, instance_page, instance_list)


@dataclass(frozen=True)
class Filters:
    """The list's filters as the query string carries them."""

    statuses: tuple[str, ...]
    prefix: str
    page: Optional[str]

    @classmethod
    def of(cls, request: web.Request) -> "Filters":
        statuses = tuple(request.query.getall("status", []))
        unknown = [name for name in statuses if name not in _STATUSES]
        if unknown:
            raise BadRequest(f"Unknown runtime status {unknown[0]!r}: choose among {', '.join(_STATUSES)}.")
        return cls(statuses, request.query.get("prefix", "").strip(), request.query.get("page") or None)

    def query(self) -> InstanceQuery:
        return InstanceQuery(
            statuses=frozenset(_STATUSES[name] for name in self.statuses) or None,
            instance_id_prefix=self.prefix or None,
        )

    def url(self, page: Optional[str]) -> str:
        """This view's URL on another page."""
        pairs = [("status", name) for name in self.statuses]
        if self.prefix:
            pairs.append(("prefix", self.prefix))
        if page:
            pairs.append(("page", page))
        return f"{INSTANCES_PATH}/" + (f"?{urlencode(pairs)}" if pairs else "")


@dataclass(frozen=True)
class HistoryRow:
    event_type: str
    timestamp: str
    name: str


def preview(value: Any) -> str:
    """A value's JSON, cut to one short line for a table cell."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


async def instance_list(request: web.Request, *, problem: Optional[str] = None, status: int = 200) -> web.Response:
    """One page of instances and the form that starts one; a bad filter (or a refused
    start, as `problem`) is said inline."""
    instances: list[InstanceStatus] = []
    token: Optional[str] = None
    try:
        filters = Filters.of(request)
    except BadRequest as error:  # an empty table under the reason
        filters, problem, status = Filters((), "", None), error.message, 400
    else:
        instances, token = await request.config_dict[MANAGEMENT].list(
            filters.query(), top=PAGE_SIZE, continuation=filters.page
        )
    return render(
        request,
        "instances.html",
        status=status,
        problem=problem,
        filters=filters,
        statuses=list(_STATUSES),
        instances=instances,
        next_url=filters.url(token) if token else None,
        preview=preview,
        done=request.query.get("done"),
        orchestrators=sorted(info.durable_name for info in request.config_dict[ENGINE].index.orchestrators.values()),
    )


async def instance_page(request: web.Request, *, problem: Optional[str] = None, status: int = 200) -> web.Response:
    """Status, the timeline of the current execution, its history, and the actions (a
    refused one's reason as `problem`, with the status the HTTP API would answer)."""
    instance_id = request.match_info["instance_id"]
    management = request.config_dict[MANAGEMENT]
    instance = await management.status(instance_id)  # NotFound: the error page says so
    history = await management.history(instance_id)
    now = request.config_dict[ENGINE].clock.now()
    timeline = build_timeline(history, now=now)
    svg = render_svg(timeline.bars, start=timeline.start, end=timeline.end, markers=timeline.markers)
    return render(
        request,
        "instance.html",
        status=status,
        problem=problem,
        done=request.query.get("done"),
        instance=instance,
        failure=instance.output if instance.runtime_status == "Failed" else None,
        timeline=Markup(svg),  # built escaped by timeline_svg.py
        history=[
            HistoryRow(event_type_name(event["EventType"]), str(event.get("Timestamp") or ""), str(event.get("Name") or ""))
            for event in history
        ],
        pretty=pretty,
    )
