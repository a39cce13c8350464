"""HTTP-triggered functions served under /api as the Functions host serves them."""

from __future__ import annotations

import aiohttp

from devhost.testing import DurableHost


async def test_route_values_query_headers_and_body_reach_the_function(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    url = f"{host.base_url}/api/echo/5/widget?color=red"
    async with http.post(url, data=b"payload", headers={"X-Probe": "yes"}) as response:
        assert response.status == 201
        assert response.headers["X-Handled-By"] == "echo_request"
        assert response.content_type == "application/json"
        body = await response.json()
    assert body == {
        "method": "POST",
        "route": {"id": "5", "name": "widget"},
        "query": {"color": "red"},
        "header": "yes",
        "body": "payload",
        "url": url,
    }


async def test_optional_and_typed_route_parameters(host: DurableHost, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{host.base_url}/api/echo/7") as response:
        assert (await response.json())["route"] == {"id": "7"}
    async with http.get(f"{host.base_url}/api/echo/seven") as response:
        assert response.status == 404


async def test_async_function_gets_its_context_and_text_result(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{host.base_url}/api/async-text") as response:
        assert response.status == 200
        assert await response.text() == "invocation async_text"


async def test_failing_function_answers_500_json_without_a_traceback(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{host.base_url}/api/broken") as response:
        assert response.status == 500
        body = await response.json()
    assert body == {"error": "Function 'broken' failed: RuntimeError: the handler broke"}
