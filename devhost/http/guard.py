"""Keeps web pages and forged names from driving a developer's running host.

A browser sends some cross-site requests without asking first: a "simple" POST
(`text/plain`), or a GET from an `<img>` to a starter route that takes any method. So
requests a browser marks cross-site (`Sec-Fetch-Site`), and state-changing requests whose
`Origin` is neither this host's own, a loopback one nor one the app allows
(`local.settings.json` `Host.CORS`, as `func start` reads it), are refused with 403. With
`Host.CORS` set, CORS preflights are answered here, as the Functions host does; without
it they reach the app. A `Host` header that names neither this machine, the address it
listens on, an IP address nor a name the user allows is refused with 400, which also
defeats DNS rebinding.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from ..loopback import is_loopback_name

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class GuardSettings:
    cors_origins: tuple[str, ...] = ()  # "*" allows every origin
    cors_credentials: bool = False
    allowed_hosts: tuple[str, ...] = ()  # besides loopback names, IP addresses, this machine's


def _hostname(authority: str) -> str | None:
    """The host part of `name[:port]`, or None for what no client sends (userinfo, a
    broken bracket)."""
    if "@" in authority:
        return None
    try:
        return (urlsplit(f"//{authority}").hostname or "").lower() or None
    except ValueError:
        return None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@functools.cache
def _machine_names() -> frozenset[str]:
    """Looked up on the first miss only: `getfqdn` can wait on DNS."""
    return frozenset({socket.gethostname().lower(), socket.getfqdn().lower()})


class Guard:
    def __init__(self, settings: GuardSettings) -> None:
        self._settings = settings
        self._allowed = frozenset(h.lower() for h in settings.allowed_hosts)

    def host_allowed(self, host_header: str) -> bool:
        name = _hostname(host_header)
        if name is None:
            return False
        return is_loopback_name(name) or _is_ip(name) or name in self._allowed or name in _machine_names()

    def _listed(self, origin: str) -> bool:
        return "*" in self._settings.cors_origins or origin in self._settings.cors_origins

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        """Listed, loopback, or this very host (same origin, once its Host passed)."""
        if self._listed(origin):
            return True
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        if parts.scheme not in ("http", "https"):
            return False
        return is_loopback_name(parts.hostname or "") or parts.netloc.lower() == host_header.lower()

    def _cors_headers(self, origin: str) -> dict[str, str]:
        """What `func start` adds for an origin its CORS setting names (with credentials
        the origin itself, since browsers refuse `*` then)."""
        if not self._listed(origin):
            return {}
        wildcard = "*" in self._settings.cors_origins and not self._settings.cors_credentials
        headers = {"Access-Control-Allow-Origin": "*" if wildcard else origin}
        if not wildcard:
            headers["Vary"] = "Origin"
        if self._settings.cors_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host_header = request.headers.get("Host", "")
        if not self.host_allowed(host_header):
            return _refused(
                400,
                f"Host '{host_header}' is not a name of this host; allow it with --allowed-hosts.",
            )
        origin = request.headers.get("Origin")
        if origin is not None and self._settings.cors_origins and _is_preflight(request):
            return self._preflight(request, origin)
        cross_site = request.headers.get("Sec-Fetch-Site") == "cross-site"
        if cross_site and not (origin is not None and self._listed(origin)):
            return _refused(
                403, "A page on another site may not call this host; list its origin in local.settings.json Host.CORS."
            )
        if origin is not None and request.method not in _SAFE_METHODS and not self.origin_allowed(origin, host_header):
            return _refused(
                403,
                f"Origin '{origin}' may not change this host's state; list it in local.settings.json Host.CORS.",
            )
        response = await handler(request)
        if origin is not None:
            response.headers.update(self._cors_headers(origin))
        return response

    def _preflight(self, request: web.Request, origin: str) -> web.Response:
        cors = self._cors_headers(origin)
        if not cors:
            return _refused(403, f"Origin '{origin}' is not allowed (local.settings.json Host.CORS).")
        cors["Access-Control-Allow-Methods"] = request.headers["Access-Control-Request-Method"]
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            cors["Access-Control-Allow-Headers"] = requested
        return web.Response(status=204, headers=cors)


def _is_preflight(request: web.Request) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def _refused(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
