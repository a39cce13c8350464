"""`--enforce-keys`: the key each route needs, read and refused as the Functions host does.

A key comes in the `x-functions-key` header or, when that header is absent, the first
`code` query parameter (host `AuthenticationLevelHandler`). What it grants is
`HostKeys.grant`'s; what each route needs is the host's:

- an HTTP function, its `authLevel`: `function` takes one of its own keys, a host
  function key or the master key, `admin` the master key, `anonymous` anything; a
  refusal is an empty 401 in Azure (`FunctionInvocationMiddleware`);
- `/admin/...`, the master key (`PolicyNames.AdminAuthLevel`);
- `/runtime/webhooks/<extension>/...`, that extension's system key (for the Durable
  extension `durabletask_extension`) or the master key, and no function key
  (`PolicyNames.SystemKeyAuthLevel`).

These two policies answer 401 with `WWW-Authenticate: Bearer` when no valid key came
(the host's JWT scheme's challenge) and 403 when a valid key of another kind did.

The RPC API the SDK client calls is the extension's own listener on 127.0.0.1 in Azure,
which checks no key (ext `LocalHttpListener`); devhost serves it on its one port, so it
takes no key from callers on this machine and the webhooks' keys from any other. The
dashboard and devhost's own routes (`/devhost/...`), which the real host does not have,
are treated alike: open on this machine, the master key from elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..function_keys import DURABLE_SYSTEM_KEY, Grant, HostKeys, Level, system_key_name
from ..loader import FunctionInfo
from ..loopback import is_loopback_address
from .keys import HOST_KEYS

KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
_HOW = f"pass it as ?{KEY_QUERY}= or in the {KEY_HEADER} header"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def presented_key(request: web.Request) -> str | None:
    """The header wins even when empty; query names match in any case, as ASP.NET's."""
    if KEY_HEADER in request.headers:
        value = request.headers.getone(KEY_HEADER)
    else:
        value = next((v for name, v in request.query.items() if name.lower() == KEY_QUERY), "")
    return value or None


def function_refusal(request: web.Request, info: FunctionInfo) -> web.Response | None:
    """None when the function may run; else the 401 the host answers (here with JSON)."""
    keys = request.app[HOST_KEYS]
    required = Level.of_trigger(info.trigger)
    if keys is None or required == Level.ANONYMOUS:
        return None
    given = presented_key(request)
    if given is not None and keys.grant(given, info.name).satisfies(required):
        return None
    needed = "the master key" if required == Level.ADMIN else "one of its function keys, a host key or the master key"
    told = "no key came" if given is None else "the key given is none of them"
    return _refused(401, f"Function '{info.name}' ({required.value} level) needs {needed}: {told}; {_HOW}.")


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The host's own routes, checked before they are matched (the host authorizes a
    webhook or admin path before it looks for its handler, so an unknown one is 401)."""
    keys = request.app[HOST_KEYS]
    refusal = None if keys is None else _route_refusal(request, keys)
    return refusal if refusal is not None else await handler(request)


def _route_refusal(request: web.Request, keys: HostKeys) -> web.Response | None:
    parts = request.path.lower().strip("/").split("/")
    if parts[:2] == ["runtime", "webhooks"] and len(parts) > 2 and parts[2]:
        return _policy_refusal(request, keys, Level.SYSTEM, system_key_name(parts[2]))
    if parts[0] == "admin":
        return _policy_refusal(request, keys, Level.ADMIN)
    if parts[0] in ("durabletask", "devhost") and not is_loopback_address(request.remote):
        if parts[0] == "durabletask":
            return _policy_refusal(request, keys, Level.SYSTEM, DURABLE_SYSTEM_KEY)
        return _policy_refusal(request, keys, Level.ADMIN)
    return None


def _policy_refusal(
    request: web.Request, keys: HostKeys, required: Level, key_name: str | None = None
) -> web.Response | None:
    given = presented_key(request)
    grant = keys.grant(given) if given is not None else Grant(Level.ANONYMOUS)
    if grant.satisfies(required, key_name):
        return None
    needed = f"the {key_name} system key or the master key" if key_name else "the master key"
    what = f"{request.path} needs {needed}"
    if grant.level == Level.ANONYMOUS:
        told = "no key came" if given is None else "the key given is not a key of this host"
        return _refused(401, f"{what}: {told}; {_HOW}.", headers={"WWW-Authenticate": "Bearer"})
    return _refused(403, f"{what}; the key given is the {grant.level.value} key '{grant.name}'.")


def _refused(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """JSON where the host's answer is empty: the caller learns which key to bring."""
    return web.json_response({"error": message}, status=status, headers=headers)
