"""`/api/...`: the app's HTTP-triggered functions, called as the Functions host and the
Python worker call them (conversions in `conversion.py`).

A function that raises, or returns what the worker cannot encode, answers 500 with an
empty body, as the host does: the exception (which may hold a secret) goes to the
console, never to the caller.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ..loader import FunctionInfo
from .authorization import function_refusal
from .conversion import host_response, routed_path, worker_request
from .keys import FUNCTION_ROUTES, INVOKER, ROUTE_PREFIX

logger = logging.getLogger(__name__)


async def handle(request: web.Request) -> web.StreamResponse:
    prefix = request.app[ROUTE_PREFIX]
    path = routed_path(request)[len(prefix) :]
    route, values, allowed = request.app[FUNCTION_ROUTES].match(request.method, path)
    if route is None:  # the host answers an empty 404, also for a method the route lacks
        hint = f" (this route accepts {', '.join(sorted(allowed))})" if allowed else ""
        logger.warning("No function handles %s %s%s (404).", request.method, request.path, hint)
        return web.Response(status=404)
    info: FunctionInfo = route.target
    refusal = function_refusal(request, info)  # after the match, as the host authorizes
    if refusal is not None:
        return refusal
    # The host sends a body only when the request declares its length (a chunked
    # request reaches the function empty: `ToRpcHttp` checks ContentLength > 0).
    body = await request.read() if (request.content_length or 0) > 0 else b""
    http_request = worker_request(request, values, body)
    try:
        return await request.app[INVOKER].run_http(info, http_request, host_response)
    except Exception:  # logged by the invoker with the worker's failure lines
        return web.Response(status=500)
