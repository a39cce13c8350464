"""`/devhost/dashboard/instances/`: the instances of the hub, a page at a time.

The list is one page of the store's query through `Management`, as the HTTP API lists:
the filters the store can apply (runtime statuses, name, id prefix, created-time range)
go into the query, and the continuation token in the URL pages on, so no view and no
refresh reads more than a page of the hub. Sorting orders the rows of the page shown:
ordering the whole hub would mean reading all of it (pages follow the store's order,
instance id). Everything the view depends on lives in the query string, so a link
reproduces it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ..engine.statuses import InstanceStatus
from ..errors import BadRequest
from ..http.keys import ENGINE, MANAGEMENT
from ..protocol import OrchestrationStatus
from ..stores.base import InstanceQuery
from .render import INSTANCES_PATH, STORE_READS, render

PAGE_SIZE = 50
# What a preview cell shows of an input or output before it is cut.
_PREVIEW_CHARS = 80
STATUSES = {status.api_name: status for status in OrchestrationStatus}
# Seconds between refreshes a person can choose; 0 is off.
REFRESH_CHOICES = (0, 2, 5, 10)
# What `datetime-local` inputs send: minutes, or seconds when a step asks for them.
_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def _api_moment(text: str | None) -> datetime | None:
    """The status API's `yyyy-MM-ddTHH:mm:ssZ` back as a UTC moment."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def duration(instance: InstanceStatus, now: datetime) -> timedelta | None:
    """From created to the last update once it ended; to now while it may still run."""
    created = _api_moment(instance.created_time)
    if created is None:
        return None
    end = _api_moment(instance.last_updated_time) if instance.is_terminal else now
    return max((end or now) - created, timedelta(0))


def format_duration(span: timedelta | None) -> str:
    """`45 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`: the two largest units that matter."""
    if span is None:
        return ""
    seconds = int(span.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


@dataclass(frozen=True)
class Column:
    """A sortable column: its header and the value rows are ordered by (None last)."""

    key: str
    label: str
    value: Callable[[InstanceStatus, datetime], Any]


COLUMNS = (
    Column("id", "Instance id", lambda i, now: i.instance_id),
    Column("name", "Name", lambda i, now: i.name),
    Column("status", "Status", lambda i, now: i.runtime_status),
    Column("created", "Created", lambda i, now: i.created_time),
    Column("updated", "Last updated", lambda i, now: i.last_updated_time),
    Column("duration", "Duration", duration),
)
_COLUMNS = {column.key: column for column in COLUMNS}


def _local_moment(field: str, text: str) -> datetime | None:
    """A `datetime-local` value, read as UTC (the dashboard shows every time in UTC)."""
    if not text:
        return None
    for pattern in _LOCAL_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadRequest(f"{field} must be a date and time such as 2024-05-01T10:00, not {text!r}.")


def refresh_of(request: web.Request) -> int:
    """The seconds between refreshes the URL asks for (`refresh.js` reloads the page's
    regions), 0 when none."""
    refresh = request.query.get("refresh", "0")
    if refresh not in {str(seconds) for seconds in REFRESH_CHOICES}:
        raise BadRequest(f"Refresh every {', '.join(map(str, REFRESH_CHOICES[1:]))} seconds, or 0 for never.")
    return int(refresh)


@dataclass(frozen=True)
class Filters:
    """The list's view as the query string carries it."""

    statuses: tuple[str, ...] = ()
    name: str = ""
    prefix: str = ""
    created_from: str = ""
    created_to: str = ""
    sort: str = ""
    descending: bool = False
    refresh: int = 0
    page: str | None = None

    @classmethod
    def of(cls, request: web.Request) -> Filters:
        query = request.query
        statuses = tuple(query.getall("status", []))
        unknown = [name for name in statuses if name not in STATUSES]
        if unknown:
            raise BadRequest(f"Unknown runtime status {unknown[0]!r}: choose among {', '.join(STATUSES)}.")
        sort = query.get("sort", "")
        if sort and sort not in _COLUMNS:
            raise BadRequest(f"Rows sort by one of {', '.join(_COLUMNS)}, not {sort!r}.")
        filters = cls(
            statuses=statuses,
            name=query.get("name", "").strip(),
            prefix=query.get("prefix", "").strip(),
            created_from=query.get("created_from", "").strip(),
            created_to=query.get("created_to", "").strip(),
            sort=sort,
            descending=query.get("order") == "desc",
            refresh=refresh_of(request),
            page=query.get("page") or None,
        )
        filters.query()  # a bad time says so before anything is read
        return filters

    def query(self) -> InstanceQuery:
        created_from = _local_moment("Created from", self.created_from)
        created_to = _local_moment("Created to", self.created_to)
        if created_from and created_to and created_from > created_to:
            raise BadRequest("Created from is later than created to: no instance can match.")
        return InstanceQuery(
            statuses=frozenset(STATUSES[name] for name in self.statuses) or None,
            instance_id_prefix=self.prefix or None,
            name=self.name or None,
            created_from=created_from,
            created_to=created_to,
        )

    def url(self, **changes: Any) -> str:
        """This view's URL with some of it changed (another page, another order)."""
        view = dataclasses.replace(self, **changes)
        pairs = [("status", name) for name in view.statuses]
        pairs += [
            (key, value)
            for key, value in (
                ("name", view.name),
                ("prefix", view.prefix),
                ("created_from", view.created_from),
                ("created_to", view.created_to),
                ("sort", view.sort),
                ("order", "desc" if view.sort and view.descending else ""),
                ("refresh", str(view.refresh) if view.refresh else ""),
                ("page", view.page or ""),
            )
            if value
        ]
        return f"{INSTANCES_PATH}/" + (f"?{urlencode(pairs)}" if pairs else "")

    def sort_url(self, key: str) -> str:
        """The header link: by this column, ascending first, then the other way; the
        same page, since sorting orders the rows shown."""
        return self.url(sort=key, descending=self.sort == key and not self.descending)

    def aria_sort(self, key: str) -> str:
        if self.sort != key:
            return "none"
        return "descending" if self.descending else "ascending"

    def ordered(self, rows: list[InstanceStatus], now: datetime) -> list[InstanceStatus]:
        if not self.sort:
            return rows
        value = _COLUMNS[self.sort].value
        keyed = [(value(row, now), row) for row in rows]
        present = [(key, row) for key, row in keyed if key is not None]
        missing = [row for key, row in keyed if key is None]
        ordered = sorted(present, key=lambda pair: pair[0], reverse=self.descending)
        return [row for _, row in ordered] + missing


def preview(value: Any) -> str:
    """A value's JSON, cut to one short line for a table cell."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


async def instance_list(request: web.Request, *, problem: str | None = None, status: int = 200) -> web.Response:
    """One page of instances and the form that starts one; a bad filter (or a refused
    start, as `problem`) is said inline, above an empty table."""
    engine = request.config_dict[ENGINE]
    now = engine.clock.now()
    instances: list[InstanceStatus] = []
    token: str | None = None
    try:
        filters = Filters.of(request)
    except BadRequest as error:
        filters, problem, status = Filters(), error.message, 400
    else:
        instances, token = await request.config_dict[MANAGEMENT].list(
            filters.query(), top=PAGE_SIZE, continuation=filters.page, pages=STORE_READS
        )
    orchestrators = sorted(info.durable_name for info in engine.index.orchestrators.values())
    return render(
        request,
        "instances.html",
        status=status,
        problem=problem,
        filters=filters,
        statuses=list(STATUSES),
        columns=COLUMNS,
        refresh_choices=REFRESH_CHOICES,
        instances=filters.ordered(instances, now),
        now=now,
        next_url=filters.url(page=token) if token else None,
        first_url=filters.url(page=None) if filters.page else None,
        preview=preview,
        duration=lambda instance: format_duration(duration(instance, now)),
        done=request.query.get("done"),
        orchestrators=orchestrators,
        # A filter by a name the app no longer has stays choosable.
        names=sorted({*orchestrators, *([filters.name] if filters.name else [])}),
    )
