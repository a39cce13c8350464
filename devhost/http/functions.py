"""`/api/...`: the app's HTTP-triggered functions, called as the Python worker calls them.

The request becomes a `func.HttpRequest` (method, URL, headers, query, route values,
body); what the function returns becomes the response: an `HttpResponse` as given, a
string as 200 text, None as 204. A function that raises answers 500 with a JSON body
naming the error; its traceback goes to the console, not to the caller.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
from aiohttp import web

from ..errors import NotFound
from ..loader import FunctionInfo
from .keys import FUNCTION_ROUTES, INVOKER, ROUTE_PREFIX


async def handle(request: web.Request) -> web.StreamResponse:
    prefix = request.app[ROUTE_PREFIX]
    path = request.path[len(prefix) :]
    route, values, allowed = request.app[FUNCTION_ROUTES].match(request.method, path)
    if route is None:
        hint = f" (this route accepts {', '.join(sorted(allowed))})" if allowed else ""
        raise NotFound(f"No function handles {request.method} {request.path}{hint}.")
    info: FunctionInfo = route.target
    http_request = func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        params={name: request.query.getone(name) for name in request.query.keys()},
        route_params=values,
        body=await request.read(),
    )
    try:
        result = await request.app[INVOKER].run_http(info, http_request)
    except Exception as error:
        return web.json_response(
            {"error": f"Function '{info.name}' failed: {type(error).__name__}: {error}"},
            status=500,
        )
    return to_response(result)


def to_response(result: Any) -> web.Response:
    if result is None:
        return web.Response(status=204)
    if isinstance(result, func.HttpResponse):
        headers = dict(result.headers)
        if not any(name.lower() == "content-type" for name in headers) and result.mimetype:
            charset = f"; charset={result.charset}" if result.charset else ""
            headers["Content-Type"] = f"{result.mimetype}{charset}"
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if isinstance(result, (bytes, bytearray)):
        return web.Response(body=bytes(result), content_type="application/octet-stream")
    if isinstance(result, str):
        return web.Response(text=result, content_type="text/plain")
    return web.Response(text=json.dumps(result), content_type="application/json")
