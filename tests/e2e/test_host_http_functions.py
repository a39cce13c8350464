"""HTTP-triggered functions served under /api as the Functions host serves them.

What a function sees follows the host's `GrpcMessageConversionExtensions.ToRpcHttp` and
`azure.functions.http.HttpRequestConverter`; what the caller gets follows
`HttpResponseConverter.encode` and the host's `HttpBinding.CreateResult` /
`RawScriptResult` (tests/apps/http_app).
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from devhost.testing import DurableHost
from tests.support.apps import HTTP_APP


@pytest_asyncio.fixture
async def http_host(store_options: dict[str, Any]) -> AsyncIterator[DurableHost]:
    async with DurableHost(HTTP_APP, **store_options) as durable_host:
        yield durable_host


@pytest_asyncio.fixture
async def memory_http_host() -> AsyncIterator[DurableHost]:
    async with DurableHost(HTTP_APP) as durable_host:
        yield durable_host


async def _inspect(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> dict[str, Any]:
    async with http.post(url, **kwargs) as response:
        assert response.status == 200
        return dict(await response.json())


# --- the request -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"{not json"])
async def test_get_json_raises_the_workers_error_for_an_empty_or_invalid_body(
    http_host: DurableHost, http: aiohttp.ClientSession, body: bytes
) -> None:
    url = f"{http_host.base_url}/api/orchestrators/echo_input"
    async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert await response.json() == {
            "error": "HTTP request does not contain valid JSON data",
            "cause": "JSONDecodeError",
        }


async def test_get_json_starts_with_the_parsed_body(http_host: DurableHost, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{http_host.base_url}/api/orchestrators/echo_input", json={"n": [1, 2]}) as response:
        assert response.status == 202
        instance_id = (await response.json())["id"]
    assert (await http_host.wait(instance_id)).output == {"n": [1, 2]}


async def test_the_request_object_is_the_workers(memory_http_host: DurableHost, http: aiohttp.ClientSession) -> None:
    """Header names lower-cased and repeats joined with `,`; query repeats joined, empty
    values dropped; the URL rebuilt from Host, path and raw query; a body of bytes."""
    base = memory_http_host.base_url
    seen = await _inspect(
        http,
        f"{base}/api/inspect/a/b?tag=x&tag=y&empty=&q=1%202",
        data=b"raw bytes",
        headers=[("X-Probe", "one"), ("X-Probe", "two"), ("Content-Type", "text/plain")],
    )
    assert seen["type"] == "azure.functions.http.HttpRequest"
    assert seen["method"] == "POST"
    assert seen["url"] == f"{base}/api/inspect/a/b?tag=x&tag=y&empty=&q=1%202"
    assert seen["headers"]["x-probe"] == "one,two"
    assert seen["params"] == {"tag": "x,y", "q": "1 2"}
    assert seen["route_params"] == {"rest": "a/b"}
    assert seen["body"] == "raw bytes"
    assert seen["traceparent"].startswith("00-") and seen["retry_count"] == 0
    assert seen["thread_knows_invocation"] is True


async def test_an_encoded_slash_stays_in_one_route_value(
    memory_http_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    seen = await _inspect(http, f"{memory_http_host.base_url}/api/inspect/a%2Fb")
    assert seen["route_params"] == {"rest": "a%2Fb"}
    assert seen["url"].endswith("/api/inspect/a%2Fb")


async def test_a_route_without_methods_takes_any_method(
    memory_http_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    async with http.request("PURGE", f"{memory_http_host.base_url}/api/any-verb") as response:
        assert (response.status, await response.text()) == (200, "PURGE")


async def test_form_and_multipart_bodies_parse_as_in_azure(
    memory_http_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    url = f"{memory_http_host.base_url}/api/inspect/form"
    seen = await _inspect(http, url, data={"name": "ada", "role": "admin"})
    assert seen["form"] == {"name": ["ada"], "role": ["admin"]}
    upload = aiohttp.FormData()
    upload.add_field("note", "hello")
    upload.add_field("file", b"file content", filename="a.txt", content_type="text/plain")
    seen = await _inspect(http, url, data=upload)
    assert (seen["form"], seen["files"]) == ({"note": ["hello"]}, {"file": "file content"})


async def test_a_chunked_body_reaches_the_function_empty(
    memory_http_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """The host forwards a body only when Content-Length is above 0."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"streamed"

    seen = await _inspect(http, f"{memory_http_host.base_url}/api/inspect/chunked", data=chunks())
    assert seen["body"] == ""


# --- the response ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "body"),
    [
        ("text", 200, "text/plain; charset=utf-8", "plain text"),
        # A returned str is read as JSON by the host: other JSON is rendered by Json.NET...
        ("json-text", 200, "text/plain; charset=utf-8", '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}'),
        # ...and an object with a `body` is a response object.
        ("response-object", 201, "text/plain; charset=utf-8", "made"),
        ("json-response", 200, "application/json", '{"ok": true}'),
        ("html", 200, "text/html; charset=utf-8", "<p>hi</p>"),
        ("boolean-status", 200, "text/plain; charset=utf-8", "made"),  # true is no number to .NET
    ],
)
async def test_return_values_answer_as_the_host_answers(
    memory_http_host: DurableHost, http: aiohttp.ClientSession, kind: str, status: int, content_type: str, body: str
) -> None:
    async with http.get(f"{memory_http_host.base_url}/api/returns/{kind}") as response:
        assert response.status == status
        assert response.headers["Content-Type"] == content_type
        assert await response.text() == body


async def test_headers_keep_the_last_value_and_cookies_are_reissued(
    memory_http_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{memory_http_host.base_url}/api/returns/headers") as response:
        assert response.status == 202
        assert response.headers.getall("X-Repeated") == ["last"]
        assert response.headers.getall("Set-Cookie") == [
            "session=a%20b; domain=; path=/; httponly",
            "theme=dark; max-age=60; domain=; path=; secure; samesite=strict",
        ]


async def test_a_response_set_on_an_out_parameter_or_left_unset(
    memory_http_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{memory_http_host.base_url}/api/out/yes") as response:
        assert (response.status, await response.text()) == (201, "set on Out")
    async with http.get(f"{memory_http_host.base_url}/api/out/no") as response:
        assert (response.status, await response.read()) == (204, b"")


@pytest.mark.parametrize("kind", ["dict", "bytes", "none", "impossible-status"])
async def test_a_value_the_worker_cannot_encode_fails_the_invocation(
    memory_http_host: DurableHost, http: aiohttp.ClientSession, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with http.get(f"{memory_http_host.base_url}/api/returns/{kind}") as response:
        assert (response.status, await response.read()) == (500, b"")
    failure = next(r for r in caplog.records if "Executed 'Functions.returns' (Failed" in r.getMessage())
    reason = "status code 99999" if kind == "impossible-status" else "TypeError: unable to encode outgoing TypedData"
    assert reason in getattr(failure, "user_traceback")


async def test_an_unhandled_exception_answers_an_empty_500_and_logs_the_failure(
    memory_http_host: DurableHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The caller never sees the exception's text (it may hold a secret); the console does."""
    async with http.get(f"{memory_http_host.base_url}/api/raises") as response:
        assert (response.status, await response.read()) == (500, b"")
    failure = next(r for r in caplog.records if "Executed 'Functions.raises' (Failed" in r.getMessage())
    details = getattr(failure, "user_traceback")
    assert "Exception: RuntimeError: database password is hunter2" in details
    assert "Stack:" in details and "in raises" in details


# --- routes (the protocol app) ---------------------------------------------------------------


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


async def test_a_binding_devhost_does_not_fill_fails_the_call_naming_it(
    memory_http_host: DurableHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with http.get(f"{memory_http_host.base_url}/api/documents/a.txt") as response:
        assert response.status == 500
    failure = next(r for r in caplog.records if "Executed 'Functions.read_document' (Failed" in r.getMessage())
    assert "devhost does not bind 'cosmosDB' bindings: parameter 'document'" in getattr(failure, "user_traceback")
