"""`/devhost/dashboard/clock`: the host's time, and with `--virtual-clock` a form that
moves it and then shows what fired on the way (each durable timer, linked to its
instance, and each schedule's occurrence, in order) and the moment reached.

The form posts, and the browser is sent on to a GET (post, redirect, get), so a reload
or the back button never moves the clock again. What one advance fired does not fit the
redirect's URL (up to a hundred instance ids; and a page that showed whatever its query
said would let any link claim anything fired), so the report stays in this host's
memory under a random token and the GET names only that: `?advance=<token>`. The host
keeps the last few reports (it is a development host with a handful of people on it at
most), each trimmed to what the page shows; a token no longer kept says so.

Everything goes through `Engine.advance`, as `POST /devhost/clock/advance` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from ..caches import LruCache
from ..clock import Advanced, Fired
from ..errors import BadRequest, DevhostError
from ..http.keys import ENGINE
from ..ids import new_hex
from .actions import instance_url
from .render import DASHBOARD_PATH, render

CLOCK_PATH = f"{DASHBOARD_PATH}/clock"
# What a report lists of what fired; the rest it counts ("and N more").
SHOWN = 100
# Reports kept per host, for the GET after each advance (and a reload of it).
KEPT = 16
_UNITS = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}
# A century: far beyond any timer, well inside what datetime holds (as `/devhost/clock/advance`).
_MOST_DAYS = 100 * 365


@dataclass(frozen=True)
class Report:
    """One advance as the page shows it: the moment reached, the first `SHOWN` things
    that fired (in order), and how many more did."""

    now: datetime
    shown: tuple[Fired, ...]
    more: int

    @classmethod
    def of(cls, advanced: Advanced) -> Report:
        return cls(advanced.now, advanced.fired[:SHOWN], max(len(advanced.fired) - SHOWN, 0))


_REPORTS: web.AppKey[LruCache[str, Report]] = web.AppKey("clock_reports")


def add_routes(dashboard: web.Application) -> None:
    dashboard[_REPORTS] = LruCache(most=KEPT)
    dashboard.router.add_get("/clock", clock)
    dashboard.router.add_post("/clock", advance)


async def clock(request: web.Request, *, problem: str | None = None, status: int = 200) -> web.Response:
    report: Report | None = None
    token = request.query.get("advance")
    if token is not None and problem is None:
        report = request.config_dict[_REPORTS].get(token)
        if report is None:
            problem = (
                f"This host no longer keeps the report of that advance: it keeps the last {KEPT}, "
                "until it stops. The time below is the clock's now."
            )
            status = 404
    engine = request.config_dict[ENGINE]
    return render(
        request, "clock.html", status=status, now=engine.clock.now(), virtual=engine.clock.is_virtual,
        units=list(_UNITS), problem=problem, report=report, instance_url=instance_url,
    )  # fmt: skip


async def advance(request: web.Request) -> web.StreamResponse:
    """Moves a virtual clock by a count of minutes, hours or days; due timers and
    schedules fire on the way, and the browser is sent to the report once their work
    settled."""
    form = await request.post()
    try:
        unit = _UNITS.get(str(form.get("unit", "")))
        try:
            count = int(str(form.get("count", "")))
        except ValueError:
            count = -1
        if unit is None or count < 0 or count * unit > timedelta(days=_MOST_DAYS):
            raise BadRequest(f"Move the clock by a whole number of {', '.join(_UNITS)}, at most {_MOST_DAYS} days.")
        advanced = await request.config_dict[ENGINE].advance(count * unit)
    except DevhostError as error:
        return await clock(request, problem=error.message, status=error.status)
    token = new_hex()
    request.config_dict[_REPORTS][token] = Report.of(advanced)
    raise web.HTTPSeeOther(f"{CLOCK_PATH}?{urlencode({'advance': token})}")
