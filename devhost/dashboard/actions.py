"""Steering instances: from an instance's page raise an event, terminate, suspend,
resume, rewind, restart, purge; from the list, start one. Each is a form that posts here and goes through `Management`,
as the HTTP API's commands do, so the dashboard can do nothing the API could not.

A form asks for its confirmation with a required checkbox (no script needed); the
outcome shows in place: after success the browser is sent back to the instance (or,
after a purge, to the list) with a line saying what was done; a refusal (the instance
finished, is not suspended, the event's body is not JSON) renders the instance's page
again with the reason inline and the status the HTTP API would answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote, urlencode

from aiohttp import web

from ..engine.management import Management
from ..errors import BadRequest, DevhostError
from ..http.keys import MANAGEMENT
from ..http.queries import json_value
from ..protocol.client import client_encoded
from .render import INSTANCES_PATH

Form = Mapping[str, str]  # a posted form's text fields (these forms have no file fields)
# What an action does with the form; returns where to send the browser (saying what was done).
Action = Callable[[Management, str, Form], Awaitable[str]]
# The instance's page, rendered again with a refusal's reason and status.
Page = Callable[..., Awaitable[web.Response]]


def add_routes(dashboard: web.Application, page: Page, listing: Page) -> None:
    """`page` renders an instance again with a refusal, `listing` the list (a start)."""

    async def act(request: web.Request) -> web.StreamResponse:
        return await _act(request, page)

    async def start(request: web.Request) -> web.StreamResponse:
        return await _start(request, listing)

    dashboard.router.add_post("/instances/start", start)
    dashboard.router.add_post("/instances/{instance_id}/{action}", act)


def instance_url(instance_id: str, done: str | None = None) -> str:
    url = f"{INSTANCES_PATH}/{quote(instance_id, safe='')}"
    return f"{url}?{urlencode({'done': done})}" if done else url


def _reason(form: Form) -> str | None:
    return form.get("reason", "").strip() or None


async def _raise_event(management: Management, instance_id: str, form: Form) -> str:
    name = form.get("event_name", "").strip()
    if not name:
        raise BadRequest("An event needs a name.")
    body = form.get("event_data", "").strip() or "null"
    json_value(body.encode())  # a body that is not JSON is the caller's error, as in the API
    await management.raise_event(instance_id, name, body)
    return instance_url(instance_id, f"Event '{name}' raised.")


def _command(name: str, done: str) -> Action:
    """terminate, suspend, resume, rewind: `Management.<name>(id, reason)`."""

    async def run(management: Management, instance_id: str, form: Form) -> str:
        await getattr(management, name)(instance_id, _reason(form))
        return instance_url(instance_id, done)

    return run


async def _restart(management: Management, instance_id: str, form: Form) -> str:
    new_id = await management.restart(instance_id, new_instance_id=form.get("new_id") == "on")
    return instance_url(new_id, f"Restarted from '{instance_id}'.")


async def _purge(management: Management, instance_id: str, form: Form) -> str:
    await management.purge(instance_id)
    return f"{INSTANCES_PATH}/?{urlencode({'done': f'Instance {instance_id!r} purged.'})}"


_RUN: dict[str, Action] = {
    "raise-event": _raise_event,
    "terminate": _command("terminate", "Termination requested."),
    "suspend": _command("suspend", "Suspension requested."),
    "resume": _command("resume", "Resumption requested."),
    "rewind": _command("rewind", "Rewind requested."),
    "restart": _restart,
    "purge": _purge,
}


async def _act(request: web.Request, page: Page) -> web.StreamResponse:
    """Runs the action, then sends the browser on (303); a refusal re-renders the page."""
    instance_id, action = request.match_info["instance_id"], request.match_info["action"]
    run = _RUN.get(action)
    if run is None:
        raise web.HTTPNotFound()
    posted = await request.post()
    form = {key: value for key, value in posted.items() if isinstance(value, str)}
    try:
        if form.get("confirm") != "on":
            raise BadRequest("Tick the confirmation box to go ahead.")
        target = await run(request.config_dict[MANAGEMENT], instance_id, form)
    except DevhostError as error:
        label = action.replace("-", " ").capitalize()
        return await page(request, problem=f"{label}: {error.message}", status=error.status)
    raise web.HTTPSeeOther(target)


async def _start(request: web.Request, listing: Page) -> web.StreamResponse:
    """Starts an orchestrator with a JSON input (encoded as the SDK client encodes it, so
    `get_input()` gets the value) and an optional instance id; then its page."""
    posted = await request.post()
    form = {key: value for key, value in posted.items() if isinstance(value, str)}
    name, instance_id = form.get("orchestrator", "").strip(), form.get("instance_id", "").strip() or None
    body = form.get("input", "").strip()
    try:
        value = json_value(body.encode()) if body else None
        started = await request.config_dict[MANAGEMENT].start(
            name, instance_id=instance_id, input_json=client_encoded(value)
        )
    except DevhostError as error:
        return await listing(request, problem=f"Start: {error.message}", status=error.status)
    raise web.HTTPSeeOther(instance_url(started, f"Started {name}."))
