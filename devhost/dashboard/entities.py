"""`/devhost/dashboard/entities/`: the entities that exist, a page at a time (optionally
one entity name), with their state; signal an operation, or delete one's state (a purge
of its `@name@key` instance, as the HTTP API's purge does).

Everything goes through `Management`, as the HTTP API does.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from ..errors import BadRequest, DevhostError
from ..http.keys import MANAGEMENT
from ..http.queries import json_value
from ..protocol import entity_instance_id
from ..protocol.client import client_encoded
from .render import DASHBOARD_PATH, STORE_READS, render

ENTITIES_PATH = f"{DASHBOARD_PATH}/entities"
PAGE_SIZE = 50


def add_routes(dashboard: web.Application) -> None:
    dashboard.router.add_get("/entities/", entity_list)
    dashboard.router.add_post("/entities/signal", signal)
    dashboard.router.add_post("/entities/delete", delete)


async def entity_list(request: web.Request, *, problem: str | None = None, status: int = 200) -> web.Response:
    name = request.query.get("name", "").strip() or None
    entities, token = await request.config_dict[MANAGEMENT].entities(
        name=name, top=PAGE_SIZE, continuation=request.query.get("page") or None, pages=STORE_READS
    )
    pairs = [("name", name)] if name else []
    next_url = f"{ENTITIES_PATH}/?{urlencode([*pairs, ('page', token)])}" if token else None
    return render(
        request, "entities.html", status=status, entities=entities, name=name or "", next_url=next_url,
        problem=problem, done=request.query.get("done"),
    )  # fmt: skip


def _done(text: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{ENTITIES_PATH}/?{urlencode({'done': text})}")


async def signal(request: web.Request) -> web.StreamResponse:
    """Signals `operation` with a JSON input (empty: none), encoded as the SDK client
    encodes it, so the entity's `get_input()` gets the value typed (the HTTP API's raw
    JSON body would not survive SDK 1.7's double decode: README)."""
    form = await request.post()
    name, key, operation = (str(form.get(field, "")).strip() for field in ("entity", "key", "operation"))
    body = str(form.get("input", "")).strip()
    try:
        if not name or not key:
            raise BadRequest("An entity needs a name and a key.")
        value = json_value(body.encode()) if body else None
        await request.config_dict[MANAGEMENT].signal_entity(name, key, operation, client_encoded(value))
    except DevhostError as error:
        return await entity_list(request, problem=f"Signal: {error.message}", status=error.status)
    raise _done(f"Signalled '{operation}' to {name}@{key}.")


async def delete(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, key = (str(form.get(field, "")) for field in ("entity", "key"))
    try:
        if form.get("confirm") != "on":
            raise BadRequest("Tick the confirmation box to go ahead.")
        await request.config_dict[MANAGEMENT].purge(entity_instance_id(name, key))
    except DevhostError as error:
        return await entity_list(request, problem=f"Delete: {error.message}", status=error.status)
    raise _done(f"Deleted the state of {name}@{key}.")
