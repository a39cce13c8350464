"""Typed keys for what the aiohttp application carries (one place, no stringly lookups)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..engine.dispatcher import Engine
    from ..engine.management import Management
    from ..function_keys import HostKeys
    from ..invoker import Invoker
    from ..loader import FunctionInfo
    from ..triggers.runner import Triggers
    from .routing import Router
    from .urls import Urls

ENGINE: web.AppKey[Engine] = web.AppKey("engine")
MANAGEMENT: web.AppKey[Management] = web.AppKey("management")
INVOKER: web.AppKey[Invoker] = web.AppKey("invoker")
URLS: web.AppKey[Urls] = web.AppKey("urls")
FUNCTION_ROUTES: web.AppKey[Router[FunctionInfo]] = web.AppKey("function_routes")
ROUTE_PREFIX: web.AppKey[str] = web.AppKey("route_prefix")
MAX_REQUEST_BYTES: web.AppKey[int] = web.AppKey("max_request_bytes")
TRIGGERS: web.AppKey[Triggers] = web.AppKey("triggers")
# Which store the host runs on (`memory`, `azurite`), as `--storage` names it.
STORAGE: web.AppKey[str] = web.AppKey("storage")
# The app's keys with `--enforce-keys`; None when nothing is checked (authorization.py).
HOST_KEYS: web.AppKey[HostKeys | None] = web.AppKey("host_keys")
