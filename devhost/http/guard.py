"""Keeps web pages and forged names from driving a developer's running host.

A browser sends a cross-origin "simple" POST (`text/plain`) without asking first, so
any page the developer visits could start orchestrations or signal entities on
`localhost:7071`. Requests that change state and carry an `Origin` other than a loopback
one or one the app allows (`local.settings.json` `Host.CORS`, as `func start` reads it)
are refused with 403; CORS preflights are answered for allowed origins only. A `Host`
header that names neither this machine, an IP address nor a name the user allows is
refused with 400, which also defeats DNS rebinding.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK_NAMES = frozenset({"localhost"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class GuardSettings:
    cors_origins: tuple[str, ...] = ()  # "*" allows every origin
    cors_credentials: bool = False
    allowed_hosts: tuple[str, ...] = ()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    if name.lower() in _LOOPBACK_NAMES or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    def __init__(self, settings: GuardSettings) -> None:
        self._settings = settings
        machine = socket.gethostname().lower()
        self._names = {machine, socket.getfqdn().lower(), *(h.lower() for h in settings.allowed_hosts)}

    def host_allowed(self, host_header: str) -> bool:
        name = (urlsplit(f"//{host_header}").hostname or "").lower()
        return bool(name) and (_is_loopback(name) or _is_ip(name) or name in self._names)

    def origin_allowed(self, origin: str) -> bool:
        if "*" in self._settings.cors_origins or origin in self._settings.cors_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and _is_loopback(parts.hostname or "")

    def _cors_headers(self, origin: str) -> dict[str, str]:
        """What `func start` adds for an origin its CORS setting names (with credentials
        the origin itself, since browsers refuse `*` then)."""
        listed = self._settings.cors_origins
        if origin not in listed and "*" not in listed:
            return {}
        wildcard = "*" in listed and not self._settings.cors_credentials
        headers = {"Access-Control-Allow-Origin": "*" if wildcard else origin}
        if self._settings.cors_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.host_allowed(request.headers.get("Host", "")):
            return web.json_response(
                {"error": f"Host '{request.headers.get('Host', '')}' is not a name of this host; "
                 "allow it with --allowed-hosts."},
                status=400,
            )
        origin = request.headers.get("Origin")
        if origin is None:
            return await handler(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            cors = self._cors_headers(origin)
            if not cors:
                return web.json_response({"error": f"Origin '{origin}' is not allowed (Host.CORS)."}, status=403)
            requested = request.headers.get("Access-Control-Request-Headers")
            cors["Access-Control-Allow-Methods"] = request.headers["Access-Control-Request-Method"]
            if requested:
                cors["Access-Control-Allow-Headers"] = requested
            return web.Response(status=204, headers=cors)
        if request.method not in _SAFE_METHODS and not self.origin_allowed(origin):
            return web.json_response(
                {"error": f"Origin '{origin}' may not change this host's state; list it in "
                 "local.settings.json Host.CORS to allow it."},
                status=403,
            )
        response = await handler(request)
        response.headers.update(self._cors_headers(origin))
        return response
