"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) and the RPC API the
SDK client calls (`rpcBaseUrl`); ext runs one handler for both, so do we.

Status codes, headers and bodies follow ext `HttpApiHandler` (durable-protocol.md G).
Query names are case-insensitive and booleans parse like .NET's. `taskHub`,
`connection` and `code` are accepted everywhere: one host serves one hub.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from aiohttp import web

from ..engine.management import InstanceStatus, Management
from ..errors import BadRequest, NotFound
from ..protocol import OrchestrationStatus, parse_timestamp
from ..stores.base import InstanceQuery
from .keys import MANAGEMENT, URLS
from .urls import RPC_PATH, WEBHOOK_PATH, Urls

_DEFAULT_PAGE = 100
_MAX_WAIT_S = 3600
_CONTINUATION_HEADER = "x-ms-continuation-token"


def add_routes(app: web.Application) -> None:
    for prefix in (WEBHOOK_PATH, RPC_PATH):
        app.router.add_routes(
            [
                web.post(prefix + "/orchestrators/{name}", start),
                web.post(prefix + "/orchestrators/{name}/{instance_id}", start),
                web.get(prefix + "/instances", list_instances),
                web.get(prefix + "/instances/", list_instances),
                web.delete(prefix + "/instances", purge_instances),
                web.delete(prefix + "/instances/", purge_instances),
                web.get(prefix + "/instances/{instance_id}", get_status),
                web.delete(prefix + "/instances/{instance_id}", purge_instance),
                web.post(prefix + "/instances/{instance_id}/raiseEvent/{event}", raise_event),
                web.post(prefix + "/instances/{instance_id}/terminate", command("terminate")),
                web.post(prefix + "/instances/{instance_id}/suspend", command("suspend")),
                web.post(prefix + "/instances/{instance_id}/resume", command("resume")),
                web.post(prefix + "/instances/{instance_id}/rewind", command("rewind")),
                web.post(prefix + "/instances/{instance_id}/restart", restart),
                web.get(prefix + "/entities", list_entities),
                web.get(prefix + "/entities/{entity}", list_entities),
                web.get(prefix + "/entities/{entity}/{key}", read_entity),
                web.post(prefix + "/entities/{entity}/{key}", signal_entity),
                web.delete(prefix + "/entities/{entity}/{key}", delete_entity),
            ]
        )


# --- query helpers ------------------------------------------------------------------------


def _query(request: web.Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.query.items()}


def _bool(query: dict[str, str], name: str, default: bool) -> bool:
    value = query.get(name.lower())
    if value is None or value == "":
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"Query parameter '{name}' must be true or false, not '{value}'.")


def _int(query: dict[str, str], name: str) -> Optional[int]:
    value = query.get(name.lower())
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1_000_000:
        raise BadRequest(f"Query parameter '{name}' must be a positive integer, not '{value}'.")
    return int(value)


def _time(query: dict[str, str], name: str) -> Optional[datetime]:
    value = query.get(name.lower())
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError):
        raise BadRequest(f"Query parameter '{name}' must be an ISO 8601 time, not '{value}'.")


def _statuses(query: dict[str, str]) -> Optional[frozenset[OrchestrationStatus]]:
    value = query.get("runtimestatus")
    if not value:
        return None
    try:
        return frozenset(OrchestrationStatus.from_api_name(v) for v in value.split(",") if v.strip())
    except ValueError as error:
        raise BadRequest(
            f"runtimeStatus '{error}' is not one of "
            + ", ".join(s.api_name for s in OrchestrationStatus)
            + "."
        )


def _seconds(query: dict[str, str], name: str) -> Optional[float]:
    value = query.get(name.lower())
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise BadRequest(f"Query parameter '{name}' must be a number of seconds, not '{value}'.")
    if not 0 <= seconds <= _MAX_WAIT_S:
        raise BadRequest(f"Query parameter '{name}' must be between 0 and {_MAX_WAIT_S} seconds.")
    return seconds


async def _json_body(request: web.Request, *, required_type: bool = False) -> Optional[str]:
    """The body re-serialized compactly, as ext stores a JToken; None when empty."""
    raw = await request.read()
    if not raw.strip():
        return None
    if required_type and request.content_type != "application/json":
        raise BadRequest("Only application/json request content is supported")
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise BadRequest(f"Invalid JSON content: {error}")
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _management(request: web.Request) -> Management:
    return request.app[MANAGEMENT]


def _urls(request: web.Request) -> Urls:
    """URLs on the origin the caller used, as `create_check_status_response` does."""
    base: Urls = request.app[URLS]
    origin = f"{request.scheme}://{request.host}" if request.host else base.origin
    return Urls(origin, base.hub, base.rpc_base.removesuffix(RPC_PATH + "/"))


def _status_response(status: InstanceStatus, request: web.Request, *, show_input: bool) -> web.Response:
    """Running-like statuses answer 202 with Location and Retry-After, finished ones 200."""
    query = _query(request)
    body = status.to_json(show_input=show_input)
    if not status.is_terminal:
        return web.json_response(
            body, status=202, headers={"Location": str(request.url), "Retry-After": "5"}
        )
    failed = status.runtime_status == OrchestrationStatus.FAILED.api_name
    code = 500 if failed and _bool(query, "returnInternalServerErrorOnFailure", False) else 200
    return web.json_response(body, status=code)


def check_status_response(request: web.Request, instance_id: str) -> web.Response:
    payload = _urls(request).management_urls(instance_id)
    return web.json_response(
        payload,
        status=202,
        headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"},
    )


# --- orchestrations -----------------------------------------------------------------------


async def start(request: web.Request) -> web.Response:
    management = _management(request)
    instance_id = await management.start(
        request.match_info["name"],
        instance_id=request.match_info.get("instance_id"),
        input_json=await _json_body(request),
        # ext takes `?version=` on both the webhook and the SDK's RPC start; an empty
        # value is taken as none given.
        version=_query(request).get("version") or None,
    )
    return await _wait_or_check_status(request, instance_id)


async def _wait_or_check_status(request: web.Request, instance_id: str) -> web.Response:
    """`?timeout=&pollingInterval=`: wait for the outcome before answering 202."""
    query = _query(request)
    timeout, interval = _seconds(query, "timeout"), _seconds(query, "pollingInterval")
    if timeout is None or interval is None:  # ext waits only when given both
        return check_status_response(request, instance_id)
    if not await _management(request).wait_until_done(instance_id, timeout):
        return check_status_response(request, instance_id)
    status = await _management(request).status(instance_id)
    if status.runtime_status == OrchestrationStatus.COMPLETED.api_name:
        return web.json_response(status.output, status=200)
    return _status_response(status, request, show_input=True)


async def get_status(request: web.Request) -> web.Response:
    query = _query(request)
    status = await _management(request).status(
        request.match_info["instance_id"],
        show_history=_bool(query, "showHistory", False),
        show_history_output=_bool(query, "showHistoryOutput", False),
    )
    return _status_response(status, request, show_input=_bool(query, "showInput", True))


def _instance_query(query: dict[str, str]) -> InstanceQuery:
    return InstanceQuery(
        created_from=_time(query, "createdTimeFrom"),
        created_to=_time(query, "createdTimeTo"),
        statuses=_statuses(query),
        instance_id_prefix=query.get("instanceidprefix") or None,
    )


async def list_instances(request: web.Request) -> web.Response:
    query = _query(request)
    statuses, token = await _management(request).list(
        _instance_query(query),
        top=_int(query, "top") or _DEFAULT_PAGE,
        continuation=request.headers.get(_CONTINUATION_HEADER) or None,
    )
    show_input = _bool(query, "showInput", False)
    headers = {_CONTINUATION_HEADER: token} if token else {}
    return web.json_response([s.to_json(show_input=show_input) for s in statuses], headers=headers)


async def purge_instance(request: web.Request) -> web.Response:
    instance_id = request.match_info["instance_id"]
    if not await _management(request).purge(instance_id):
        raise NotFound(f"No instance with ID '{instance_id}' found.")
    return web.json_response({"instancesDeleted": 1})


async def purge_instances(request: web.Request) -> web.Response:
    deleted = await _management(request).purge_by(_instance_query(_query(request)))
    if deleted == 0:
        raise NotFound("No instances matched the purge filter.")
    return web.json_response({"instancesDeleted": deleted})


async def raise_event(request: web.Request) -> web.Response:
    data = await _json_body(request, required_type=True)
    await _management(request).raise_event(
        request.match_info["instance_id"], request.match_info["event"], data or "null"
    )
    return web.Response(status=202)


def command(name: str) -> Callable[[web.Request], Any]:
    """terminate / suspend / resume / rewind: `?reason=`, 202 when accepted."""

    async def handle(request: web.Request) -> web.Response:
        management = _management(request)
        operation = getattr(management, name)
        await operation(request.match_info["instance_id"], _query(request).get("reason"))
        return web.Response(status=202)

    return handle


async def restart(request: web.Request) -> web.Response:
    query = _query(request)
    instance_id = await _management(request).restart(
        request.match_info["instance_id"],
        new_instance_id=_bool(query, "restartWithNewInstanceId", True),
    )
    return await _wait_or_check_status(request, instance_id)


# --- entities --------------------------------------------------------------------------


async def read_entity(request: web.Request) -> web.Response:
    status = await _management(request).entity(request.match_info["entity"], request.match_info["key"])
    return web.json_response(status.state)


async def signal_entity(request: web.Request) -> web.Response:
    operation = _query(request).get("op")
    if not operation:
        raise BadRequest("The 'op' query parameter names the operation to signal.")
    await _management(request).signal_entity(
        request.match_info["entity"], request.match_info["key"], operation, await _signal_input(request)
    )
    return web.Response(status=202)


async def _signal_input(request: web.Request) -> Optional[str]:
    """A JSON body is the input as compact JSON text; any other body is text, sent as a
    JSON string (durable-protocol.md G)."""
    raw = await request.read()
    if not raw:
        return None
    if request.content_type == "application/json":
        return await _json_body(request)
    return json.dumps(raw.decode("utf-8", errors="replace"))


async def delete_entity(request: web.Request) -> web.Response:
    await _management(request).signal_entity(
        request.match_info["entity"], request.match_info["key"], "delete", None
    )
    return web.Response(status=202)


async def list_entities(request: web.Request) -> web.Response:
    query = _query(request)
    statuses, token = await _management(request).entities(
        name=request.match_info.get("entity"),
        top=_int(query, "top"),
        continuation=request.headers.get(_CONTINUATION_HEADER) or None,
        last_operation_from=_time(query, "lastOperationTimeFrom"),
        last_operation_to=_time(query, "lastOperationTimeTo"),
    )
    fetch_state = _bool(query, "fetchState", False)
    headers = {_CONTINUATION_HEADER: token} if token else {}
    return web.json_response([s.to_json(fetch_state=fetch_state) for s in statuses], headers=headers)
