"""`POST /admin/functions/{name}`: a function called by hand, as the host's admin API does."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from devhost.testing import DurableHost
from tests.support.apps import HTTP_APP


@pytest_asyncio.fixture
async def host() -> AsyncIterator[DurableHost]:
    async with DurableHost(HTTP_APP) as durable_host:
        yield durable_host


async def test_a_trigger_devhost_does_not_run_is_called_with_the_input(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """A Service Bus function gets the input as its message body (and the metadata a
    message made from a string has), and its durable client works."""
    async with http.post(f"{host.base_url}/admin/functions/payment_received", json={"input": "p-1"}) as response:
        assert response.status == 202
        assert await response.read() == b""
    status = await host.wait_until("payment-p-1", lambda s: s.runtime_status == "Completed")
    assert status.output == "p-1"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("absent", {"input": "x"}, 404, "No function named 'absent'."),
        ("payment_received", ["x"], 400, 'Body must be a JSON object: {"input": "<the trigger\'s input as a string>"}.'),
        ("payment_received", {"input": {"a": 1}}, 400, '"input" must be a string (a JSON document goes as its text).'),
        ("any_verb", {"input": "x"}, 400, "'any_verb' is triggered by httpTrigger: devhost calls HTTP functions through "
         "their routes and durable functions through the durable APIs, not by hand."),
        ("echo_input", {"input": "x"}, 400, "'echo_input' is triggered by orchestrationTrigger: devhost calls HTTP functions "
         "through their routes and durable functions through the durable APIs, not by hand."),
    ],
)
async def test_what_cannot_be_called_is_refused_with_a_reason(
    host: DurableHost, http: aiohttp.ClientSession, path: str, body: object, status: int, message: str
) -> None:
    async with http.post(f"{host.base_url}/admin/functions/{path}", json=body) as response:
        assert response.status == status
        assert (await response.json())["error"] == message


async def test_a_body_that_is_not_json_is_refused(host: DurableHost, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{host.base_url}/admin/functions/payment_received", data=b"{") as response:
        assert response.status == 400
        assert (await response.json())["error"].startswith("Invalid JSON content")
