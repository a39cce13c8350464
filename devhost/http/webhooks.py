"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) and the RPC API the
SDK client calls (`rpcBaseUrl`); ext runs one handler for both, so do we.

Routes, status codes, headers and bodies follow ext `HttpApiHandler`: route words match
in any case, a trailing `/` is ignored, a known path with another method is 404.
`taskHub`, `connection` and `code` are accepted everywhere: one host serves one hub, and
keys are checked before a request gets here (authorization.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..engine.management import Management
from ..engine.statuses import InstanceStatus
from ..errors import BadRequest, Gone, NotFound
from ..protocol import OrchestrationStatus
from ..stores.base import InstanceQuery
from . import queries
from .keys import MANAGEMENT, URLS
from .urls import RPC_PATH, WEBHOOK_PATH, Urls

logger = logging.getLogger(__name__)

_DEFAULT_PAGE = 100
_MAX_WAIT_S = 3600
_CONTINUATION_HEADER = "x-ms-continuation-token"

Params = dict[str, str]
Handler = Callable[[web.Request, Params], Awaitable[web.Response]]


def add_routes(app: web.Application) -> None:
    """The two prefixes match in any case too, as ASP.NET routes do."""
    for prefix in (WEBHOOK_PATH, RPC_PATH):
        words = [word for word in prefix.split("/") if word]
        template = "".join(f"/{{_{n}:(?i:{re.escape(word)})}}" for n, word in enumerate(words))
        app.router.add_route("*", template + "{tail:.*}", _dispatch)


def _check_hub(request: web.Request) -> None:
    """ext's `taskHub` picks another hub's client; devhost serves one hub, so another
    name is refused rather than answered from the wrong hub."""
    asked = queries.read_query(request).get("taskhub")
    hub = request.app[URLS].hub
    if asked and asked.lower() != hub.lower():
        raise BadRequest(f"This host serves task hub '{hub}', not '{asked}' (one hub per devhost).")


async def make_primary(request: web.Request, params: Params) -> web.Response:
    """ext `MakeCurrentAppPrimaryAsync`: one app per hub here, which is always primary."""
    return web.Response(status=200)


async def _dispatch(request: web.Request) -> web.Response:
    """ext answers 404 and 410 with no body (`CreateResponse(status)`), so callers that
    would fail to parse one in Azure fail here too; a route that does not exist is
    named on the console."""
    tail = request.match_info["tail"]
    if tail[:1] in ("", "/"):  # not `/durabletaskfoo`
        for methods, pattern, handler in _ROUTES:
            found = pattern.fullmatch(tail.strip("/"))
            if found is not None and (not methods or request.method in methods):
                _check_hub(request)
                params = {name: value for name, value in found.groupdict().items() if value is not None}
                try:
                    return await handler(request, params)
                except (NotFound, Gone) as error:
                    return web.Response(status=error.status)
    logger.warning("The durable HTTP API has no route for %s %s (404).", request.method, request.path)
    return web.Response(status=404)


def _management(request: web.Request) -> Management:
    return request.app[MANAGEMENT]


def _urls(request: web.Request) -> Urls:
    """URLs on the origin the caller used, as ext `GetClientResponseLinks` does."""
    base: Urls = request.app[URLS]
    return base.on_origin(f"{request.scheme}://{request.host}") if request.host else base


def _continued(body: Any, token: str | None) -> web.Response:
    """ext always sets the continuation header; it is empty on the last page."""
    return web.json_response(body, headers={_CONTINUATION_HEADER: token or ""})


def _status_response(
    status: InstanceStatus, request: web.Request, *, show_input: bool, failure_as_500: bool
) -> web.Response:
    """Running-like statuses answer 202 with Location and Retry-After, finished ones 200."""
    body = status.to_json(show_input=show_input)
    if not status.is_terminal:
        return web.json_response(body, status=202, headers={"Location": str(request.url), "Retry-After": "5"})
    failed = status.runtime_status == OrchestrationStatus.FAILED.api_name
    return web.json_response(body, status=500 if failed and failure_as_500 else 200)


def check_status_response(request: web.Request, instance_id: str) -> web.Response:
    """ext `CreateCheckStatusResponse`: the management URLs without `rewindPostUri`."""
    payload = _urls(request).management_urls(instance_id)
    payload.pop("rewindPostUri")
    return web.json_response(
        payload, status=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
    )


# --- orchestrations -----------------------------------------------------------------------


async def start(request: web.Request, params: Params) -> web.Response:
    stored = queries.compact_json(await request.read())
    instance_id = await _management(request).start(
        params["name"],
        instance_id=params.get("instance_id"),
        input_json=None if stored == "null" else stored,
        # ext takes `?version=` on both the webhook and the SDK's RPC start; an empty
        # value is taken as none given.
        version=queries.read_query(request).get("version") or None,
    )
    return await _wait_or_check_status(request, instance_id)


async def _wait_or_check_status(request: web.Request, instance_id: str) -> web.Response:
    """`?timeout=&pollingInterval=`: wait for the outcome before answering 202."""
    query = queries.read_query(request)
    timeout = queries.seconds(query, "timeout", most=_MAX_WAIT_S)
    interval = queries.seconds(query, "pollingInterval", most=_MAX_WAIT_S)
    if timeout is None or interval is None:  # ext waits only when given both
        return check_status_response(request, instance_id)
    if interval > timeout:  # checked once the instance exists, as ext does
        raise BadRequest("pollingInterval must not be greater than timeout.")
    management = _management(request)
    if not await management.wait_until_done(instance_id, timeout):
        return check_status_response(request, instance_id)
    status = await management.status(instance_id)
    if status.runtime_status == OrchestrationStatus.COMPLETED.api_name:
        return web.json_response(status.output, status=200)
    return _status_response(status, request, show_input=True, failure_as_500=False)


async def get_status(request: web.Request, params: Params) -> web.Response:
    query = queries.read_query(request)
    show_input = queries.boolean(query, "showInput", True)
    status = await _management(request).status(
        params["instance_id"],
        show_history=queries.boolean(query, "showHistory", False),
        show_history_output=queries.boolean(query, "showHistoryOutput", False),
        show_input=show_input,
    )
    failure_as_500 = queries.boolean(query, "returnInternalServerErrorOnFailure", False)
    return _status_response(status, request, show_input=show_input, failure_as_500=failure_as_500)


def _instance_query(query: queries.Query) -> InstanceQuery:
    return InstanceQuery(
        created_from=queries.moment(query, "createdTimeFrom"),
        created_to=queries.moment(query, "createdTimeTo"),
        statuses=queries.statuses(query),
        instance_id_prefix=query.get("instanceidprefix") or None,
        entities=None,  # ext's HTTP API lists and purges entity instances too
    )


async def list_instances(request: web.Request, params: Params) -> web.Response:
    query = queries.read_query(request)
    statuses, token = await _management(request).list(
        _instance_query(query),
        top=queries.positive_int(query, "top") or _DEFAULT_PAGE,
        continuation=request.headers.get(_CONTINUATION_HEADER) or None,
    )
    show_input = queries.boolean(query, "showInput", True)
    return _continued([s.to_json(show_input=show_input) for s in statuses], token)


async def purge_instance(request: web.Request, params: Params) -> web.Response:
    instance_id = params["instance_id"]
    if not await _management(request).purge(instance_id):
        raise NotFound(f"No instance with ID '{instance_id}' found.")
    return web.json_response({"instancesDeleted": 1})


async def purge_instances(request: web.Request, params: Params) -> web.Response:
    query = queries.read_query(request)
    if query.get("instanceidprefix"):
        raise BadRequest(
            "instanceIdPrefix is no purge filter: the extension ignores it and would purge "
            "every instance in the time range."
        )
    deleted = await _management(request).purge_by(_instance_query(query))
    if deleted == 0:
        raise NotFound("No instances matched the purge filter.")
    return web.json_response({"instancesDeleted": deleted})


async def raise_event(request: web.Request, params: Params) -> web.Response:
    """ext checks the instance (404, 410) before the body: JSON only, and not empty."""
    management = _management(request)
    live = await management.live_record(params["instance_id"])
    if not queries.is_json_media_type(request):
        raise BadRequest("Only application/json request content is supported")
    data = queries.compact_json(await request.read())
    if data is None:
        raise BadRequest("Invalid JSON content: the event data is empty; send JSON (null for none).")
    await management.raise_event(params["instance_id"], params["event"], data, live=live)
    return web.Response(status=202)


async def command(request: web.Request, params: Params) -> web.Response:
    """terminate / suspend / resume / rewind: `?reason=`, 202 when accepted."""
    operation = getattr(_management(request), params["operation"].lower())
    await operation(params["instance_id"], queries.read_query(request).get("reason"))
    return web.Response(status=202)


async def restart(request: web.Request, params: Params) -> web.Response:
    query = queries.read_query(request)
    instance_id = await _management(request).restart(
        params["instance_id"], new_instance_id=queries.boolean(query, "restartWithNewInstanceId", True)
    )
    return await _wait_or_check_status(request, instance_id)


# --- entities --------------------------------------------------------------------------


def _entity_key(params: Params) -> str:
    """`$` names the empty key (ext `HandleGetEntityRequestAsync`)."""
    key = params.get("key", "")
    return "" if key == "$" else key


async def read_entity(request: web.Request, params: Params) -> web.Response:
    status = await _management(request).entity(params["entity"], _entity_key(params))
    return web.json_response(status.state)


async def signal_entity(request: web.Request, params: Params) -> web.Response:
    """ext `HandlePostEntityOperationRequestAsync`: DELETE is operation `delete`, a
    missing `op` the operation ""; a JSON body is the input as compact JSON text, any
    other body the text itself (sent as a JSON string), no body no input."""
    if "key" not in params:  # ext: `new EntityId(name, null)` throws
        raise BadRequest("Invalid entity id: entity key must not be null.")
    operation = "delete" if request.method == "DELETE" else queries.read_query(request).get("op", "")
    raw = await request.read()
    if not raw:
        operation_input = None
    elif queries.is_json_media_type(request):
        operation_input = queries.compact_json(raw)
        if operation_input is None:
            raise BadRequest("Could not parse JSON content: the body holds only white space.")
    else:
        operation_input = queries.json_string(raw.decode("utf-8", errors="replace"))
    await _management(request).signal_entity(params["entity"], params["key"], operation, operation_input)
    return web.Response(status=202)


async def list_entities(request: web.Request, params: Params) -> web.Response:
    query = queries.read_query(request)
    statuses, token = await _management(request).entities(
        name=params.get("entity"),
        top=queries.positive_int(query, "top") or _DEFAULT_PAGE,
        continuation=request.headers.get(_CONTINUATION_HEADER) or None,
        last_operation_from=queries.moment(query, "lastOperationTimeFrom"),
        last_operation_to=queries.moment(query, "lastOperationTimeTo"),
    )
    fetch_state = queries.boolean(query, "fetchState", False)
    return _continued([s.to_json(fetch_state=fetch_state) for s in statuses], token)


_ID = r"(?P<instance_id>[^/]+)"
# (methods, path below the prefix, handler); no methods: any method.
_ROUTES: list[tuple[tuple[str, ...], re.Pattern[str], Handler]] = [
    (methods, re.compile(pattern, re.IGNORECASE), handler)
    for methods, pattern, handler in [
        (("POST",), r"orchestrators/(?P<name>[^/]+)(?:/" + _ID + ")?", start),
        (("GET",), r"instances", list_instances),
        (("DELETE",), r"instances", purge_instances),
        (("GET",), r"instances/" + _ID, get_status),
        (("DELETE",), r"instances/" + _ID, purge_instance),
        (("POST",), r"instances/" + _ID + r"/raiseEvent/(?P<event>[^/]+)", raise_event),
        (("POST",), r"instances/" + _ID + r"/(?P<operation>terminate|suspend|resume|rewind)", command),
        (("POST",), r"instances/" + _ID + r"/restart", restart),
        (("GET",), r"entities(?:/(?P<entity>[^/]+))?", list_entities),
        (("GET",), r"entities/(?P<entity>[^/]+)/(?P<key>[^/]+)", read_entity),
        (("POST", "DELETE"), r"entities/(?P<entity>[^/]+)(?:/(?P<key>[^/]+))?", signal_entity),
        ((), r"makeprimary", make_primary),  # any method
    ]
]
