"""One way for tests to call a host over real HTTP and read its JSON answer."""

from __future__ import annotations

from typing import Any, Optional

import aiohttp
from multidict import CIMultiDictProxy


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    json: Any = None,
    data: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
    timeout: Optional[aiohttp.ClientTimeout] = None,
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    """Status, JSON body (None when empty) and headers of one request.

    `json` is sent as a JSON body, `data` as raw bytes. The body is parsed whatever its
    content type, so a test sees the payload of an error page too. `timeout` replaces
    the session's for this request.
    """
    limits = {} if timeout is None else {"timeout": timeout}
    async with http.request(method, url, json=json, data=data, headers=headers, **limits) as response:
        text = await response.text()
        body = await response.json(content_type=None) if text else None
        return response.status, body, response.headers
