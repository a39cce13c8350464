"""The extension's built-in `BuiltIn::HttpActivity`: the real HTTP call behind `call_http`.

ext `TaskHttpActivityShim` sends `content` verbatim with the request's headers (a
`Content-Type` of text/plain unless given) and returns `DurableHttpResponse` JSON;
network errors fail the task (docs/protocol.md D.4).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

_TIMEOUT = aiohttp.ClientTimeout(total=100)


class HttpActivityError(Exception):
    """Raised when the request cannot be made; reported to the orchestrator as TaskFailed."""


async def run_http_activity(request: dict[str, Any]) -> str:
    """Performs the request; returns the DurableHttpResponse as JSON text."""
    if request.get("tokenSource"):
        raise HttpActivityError(
            "Managed identity tokens (tokenSource) are not available in devhost; "
            "call the endpoint without a token source locally."
        )
    headers: dict[str, str] = {}
    for name, value in (request.get("headers") or {}).items():
        headers[name] = ", ".join(value) if isinstance(value, list) else str(value)
    content = request.get("content")
    if content is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "text/plain"
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.request(
                str(request.get("method") or "GET").upper(),
                str(request["uri"]),
                data=content.encode() if isinstance(content, str) else content,
                headers=headers,
            ) as response,
        ):
            body = await response.text()
            return json.dumps(
                {
                    "statusCode": response.status,
                    "headers": dict(response.headers.items()),
                    "content": body,
                }
            )
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        raise HttpActivityError(f"{type(error).__name__}: {error}") from error
