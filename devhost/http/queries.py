"""Query parameters and bodies of the durable HTTP API, read as ext `HttpApiHandler` and
`HttpRequestMessageExtensions.GetQueryNameValuePairs` read them: names case-insensitive,
repeated values joined with `,`, booleans like .NET's `bool.TryParse`, status names as
`Enum.TryParse` takes them (case-sensitive, or their numbers).

Where the extension silently ignores a value it cannot parse (a misspelt status, a
boolean `1`), devhost answers 400 naming it: the extension would quietly drop the
filter, and a caller's mistake should not look like a working query.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from ..errors import BadRequest
from ..protocol import OrchestrationStatus, parse_timestamp

Query = dict[str, str]


def read_query(request: web.Request) -> Query:
    joined: dict[str, list[str]] = {}
    for name, value in request.query.items():
        joined.setdefault(name.lower(), []).append(value.strip())
    return {name: ",".join(values) for name, values in joined.items()}


def boolean(query: Query, name: str, default: bool) -> bool:
    value = query.get(name.lower())
    if value is None or value == "":
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"Query parameter '{name}' must be true or false, not '{value}'.")


def positive_int(query: Query, name: str) -> int | None:
    value = query.get(name.lower())
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1_000_000:
        raise BadRequest(f"Query parameter '{name}' must be a positive integer, not '{value}'.")
    return int(value)


def moment(query: Query, name: str) -> datetime | None:
    value = query.get(name.lower())
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError):
        raise BadRequest(f"Query parameter '{name}' must be an ISO 8601 time, not '{value}'.") from None


def statuses(query: Query) -> frozenset[OrchestrationStatus] | None:
    """`runtimeStatus=Running,Pending` (or numbers); names are case-sensitive, as .NET's
    `Enum.TryParse` without ignoreCase takes them."""
    value = query.get("runtimestatus")
    if not value:
        return None
    found: set[OrchestrationStatus] = set()
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        match = next((s for s in OrchestrationStatus if part in (s.api_name, str(s.value))), None)
        if match is None:
            raise BadRequest(
                f"runtimeStatus '{part}' is not one of "
                + ", ".join(s.api_name for s in OrchestrationStatus)
                + " (names are case-sensitive, as in Azure)."
            )
        found.add(match)
    return frozenset(found)


def seconds(query: Query, name: str, *, most: float) -> float | None:
    value = query.get(name.lower())
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"Query parameter '{name}' must be a number of seconds, not '{value}'.") from None
    if not 0 <= number <= most:
        raise BadRequest(f"Query parameter '{name}' must be between 0 and {most:g} seconds.")
    return number


# Json.NET's default `MaxDepth`, which the extension's reader keeps: deeper is invalid.
MAX_JSON_DEPTH = 64


def json_value(raw: bytes) -> Any:
    """A JSON body's value; invalid JSON, or JSON nested deeper than Json.NET reads, is
    the caller's error (400), never a crash."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise BadRequest(f"Invalid JSON content: {reason}") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise BadRequest(f"Invalid JSON content: nested deeper than {MAX_JSON_DEPTH} levels.")
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def compact_json(raw: bytes) -> str | None:
    """A JSON body re-serialized compactly, as ext stores the JToken it parsed; None for
    an empty body."""
    if not raw.strip():
        return None
    return json.dumps(json_value(raw), separators=(",", ":"), ensure_ascii=False)


def is_json_media_type(request: web.Request) -> bool:
    return request.content_type.lower() == "application/json"


def json_string(text: str) -> str:
    """A text sent as a JSON string, as ext's data converter serializes a .NET string."""
    return json.dumps(text, ensure_ascii=False)
