"""The app's functions as `func start` lists them: HTTP functions with their methods and
URL, then every other function with its trigger. The console banner prints this list and
the welcome page shows it, so both always say the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from .function_keys import HostKeys, Level
from .loader import HTTP_TRIGGER, FunctionIndex, FunctionInfo


@dataclass(frozen=True)
class ListedFunction:
    name: str
    trigger_type: str
    # HTTP functions only: the methods the route takes and the URL it answers on.
    methods: tuple[str, ...] = ()
    url: str | None = None


def function_url(origin: str, route_path: str, route: str) -> str:
    """`http://localhost:7071/api/orders/{id}`: the template as the host prints it."""
    return f"{origin}{route_path}/{route.strip('/')}"


def keyed_url(origin: str, route_path: str, info: FunctionInfo, keys: HostKeys | None) -> str:
    """The URL with the key it needs, as the portal's "Get function URL" gives it: the
    function's `default` key, the master key for an admin-level one, none if anonymous."""
    url = function_url(origin, route_path, info.route)
    level = Level.of_trigger(info.trigger)
    if keys is None or level == Level.ANONYMOUS:
        return url
    return f"{url}?code={keys.master if level == Level.ADMIN else keys.function_key(info.name)}"


def listed_functions(
    index: FunctionIndex, origin: str, route_path: str, keys: HostKeys | None = None
) -> list[ListedFunction]:
    """HTTP functions first, then the rest, each group by name in any case, as `func
    start` orders its list; `origin` is the URL the caller reaches the host on, `keys`
    the keys to put into the URLs (the console's banner only: a page shows none)."""
    http = [
        ListedFunction(
            info.name,
            info.trigger_type,
            info.methods,
            keyed_url(origin, route_path, info, keys),
        )
        for info in sorted(index.http, key=lambda f: f.name.lower())
    ]
    others = [
        ListedFunction(info.name, info.trigger_type)
        for info in sorted(index.functions, key=lambda f: f.name.lower())
        if info.trigger_type != HTTP_TRIGGER
    ]
    return http + others
