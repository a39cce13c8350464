"""`/devhost/...`: controls that only a development host has (the virtual clock)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from ..clock import Fired
from ..errors import BadRequest
from ..protocol import format_timestamp
from .keys import ENGINE
from .queries import json_value

# A hundred years: far beyond any timer, well inside what datetime can hold.
_MAX_ADVANCE_S = 100 * 365 * 24 * 3600


def add_routes(app: web.Application) -> None:
    app.router.add_post("/devhost/clock/advance", advance)
    app.router.add_get("/devhost/clock", now)


async def advance(request: web.Request) -> web.Response:
    """Moves the clock by `{"seconds": N}`, fires due timers and schedules, answers once
    work settled: `{"now": ...}` as ever, and what fired on the way, in order."""
    body = json_value(await request.read() or b"{}")
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds <= _MAX_ADVANCE_S  # also refuses NaN
    ):
        raise BadRequest(f'Body must be {{"seconds": N}} with N a number from 0 to {_MAX_ADVANCE_S}.')
    advanced = await request.app[ENGINE].advance(timedelta(seconds=seconds))
    return web.json_response({"now": format_timestamp(advanced.now), "fired": [_fired_json(f) for f in advanced.fired]})


def _fired_json(fired: Fired) -> dict[str, str]:
    """`{"kind": "timer", "time": ..., "instanceId": ...}` or `{"kind": "schedule",
    "time": ..., "function": ...}`: the names the HTTP API uses for what they are."""
    what = "instanceId" if fired.kind == "timer" else "function"
    return {"kind": fired.kind, "time": format_timestamp(fired.when), what: fired.what}


async def now(request: web.Request) -> web.Response:
    return web.json_response({"now": format_timestamp(request.app[ENGINE].clock.now())})
