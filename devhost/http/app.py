"""The aiohttp application: routes, and the one place errors become responses.

Host errors (`DevhostError`) answer their status with a JSON body; anything else is a
defect, logged once with its traceback and answered 500 without one. Error bodies carry
`error` (this project's convention) plus `Message`/`ExceptionMessage`, the real host's
fields, which the SDK client reads (it raises `body["ExceptionMessage"]` on a 400).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..dashboard import pages
from ..engine.dispatcher import Engine
from ..engine.management import Management
from ..errors import DevhostError
from ..function_keys import HostKeys
from ..invoker import Invoker
from ..loader import FunctionIndex, FunctionInfo
from ..triggers.runner import Triggers
from . import admin, authorization, devtools, functions, webhooks
from .guard import Guard, GuardSettings
from .keys import (
    ENGINE,
    FUNCTION_ROUTES,
    HOST_KEYS,
    INVOKER,
    MANAGEMENT,
    MAX_REQUEST_BYTES,
    ROUTE_PREFIX,
    STORAGE,
    TRIGGERS,
    URLS,
)
from .routing import Router
from .urls import Urls

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_body(message: str) -> dict[str, str]:
    return {"error": message, "Message": message, "ExceptionMessage": message}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DevhostError as error:
        return web.json_response(error_body(error.message), status=error.status)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[MAX_REQUEST_BYTES]
        return web.json_response(
            error_body(f"Request body too large: the host accepts at most {limit} bytes."),
            status=413,
        )
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return web.json_response(error_body(error.reason), status=error.status)
    except Exception:
        logger.exception("Unhandled error serving %s %s", request.method, request.path)
        return web.json_response(error_body("The host failed to handle this request; see its console."), status=500)


def create_app(
    *,
    engine: Engine,
    management: Management,
    invoker: Invoker,
    triggers: Triggers,
    index: FunctionIndex,
    urls: Urls,
    route_path: str,
    storage: str,
    max_request_bytes: int,
    guard: GuardSettings,
    keys: HostKeys | None = None,
) -> web.Application:
    """`keys`: the keys to require (`--enforce-keys`); without them nothing is checked."""
    checks = [Guard(guard).middleware] + ([authorization.middleware] if keys is not None else [])
    app = web.Application(middlewares=[*checks, errors], client_max_size=max_request_bytes)
    app[HOST_KEYS] = keys
    app[ENGINE] = engine
    app[MANAGEMENT] = management
    app[INVOKER] = invoker
    app[TRIGGERS] = triggers
    app[URLS] = urls
    app[MAX_REQUEST_BYTES] = max_request_bytes
    app[ROUTE_PREFIX] = route_path
    app[STORAGE] = storage
    router: Router[FunctionInfo] = Router()
    for info in index.http:
        router.add(info.route, frozenset() if info.any_method else frozenset(info.methods), info)
    app[FUNCTION_ROUTES] = router
    webhooks.add_routes(app)
    admin.add_routes(app)
    if engine.clock.is_virtual:
        devtools.add_routes(app)
    # Before the app's catch-all, which with an empty routePrefix would take `/devhost`
    # too; `/` itself goes to the app whenever one of its routes matches it.
    pages.add_routes(app)
    prefix = app[ROUTE_PREFIX]
    app.router.add_route("*", f"{prefix}/{{tail:.*}}" if prefix else "/{tail:.*}", functions.handle)
    return app
