"""HTTP routes: every request they reject before touching the durable client.

The client's binding points at a loopback port nobody listens on, so a route that calls
the durable host by mistake fails the test (the app answers that with a JSON 500).
"""

import json
from typing import Any, Optional

import azure.functions as func
import pytest

import routes
from devhost.azurite import free_port
from devhost.http.urls import Urls

ORDER = {
    "order_id": "o-1",
    "customer": {"id": "c-1", "email": "ann@example.com"},
    "items": [{"sku": "BOOK-001", "quantity": 1, "unit_price": 12.5}],
    "payment": {"card": "4242"},
}


@pytest.fixture
def client_binding() -> str:
    """The durable client binding JSON (docs/protocol.md F) with an unused rpcBaseUrl."""
    rpc_origin = f"http://127.0.0.1:{free_port()}"
    return Urls("http://localhost:7071", "TestHub", rpc_origin).client_binding()


async def call(
    route: Any,
    binding: str,
    method: str,
    url: str,
    route_params: dict[str, str],
    body: Optional[bytes] = None,
) -> tuple[int, Any]:
    request = func.HttpRequest(
        method,
        url,
        headers={"Content-Type": "application/json"},
        route_params=route_params,
        body=body or b"",
    )
    response = await route._function.get_user_function()(req=request, client=binding)
    assert response.mimetype == "application/json"
    return response.status_code, json.loads(response.get_body())


def start(binding: str, name: str, body: Optional[bytes]) -> Any:
    url = f"http://localhost:7071/api/orchestrators/{name}"
    return call(routes.start_orchestration, binding, "POST", url, {"functionName": name}, body)


async def test_unknown_orchestrator_is_404(client_binding: str) -> None:
    status, body = await start(client_binding, "summarize_blob_batch", None)

    assert status == 404
    assert body["error"].startswith("no orchestrator named 'summarize_blob_batch' can be started")


async def test_body_that_is_not_json_is_400(client_binding: str) -> None:
    status, body = await start(client_binding, "process_order", b"{not json")

    assert status == 400
    assert body["error"].startswith("request body is not valid JSON")


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("process_order", {**ORDER, "items": []}, "items: must not be empty"),
        (
            "process_order",
            {**ORDER, "items": [{"sku": "BOOK-001", "quantity": 0, "unit_price": 1}]},
            "items[0].quantity: must be a positive integer",
        ),
        ("process_order", None, "order_id: is required"),
        ("summarize_blobs", {"container": "docs", "recursive": True}, "recursive: unknown field"),
        ("generate_report", {"title": ""}, "title: must not be empty"),
        (
            "monitor_job",
            {"status_url": "http://x", "interval_seconds": 0},
            "interval_seconds: must be a positive integer",
        ),
        (
            "approval_workflow",
            {"request_id": "r", "timeout_hours": -1},
            "timeout_hours: must be greater than 0",
        ),
        ("approval_workflow", [1], "input: must be a JSON object"),
    ],
)
async def test_invalid_input_is_400_naming_the_field(
    client_binding: str, name: str, payload: Any, message: str
) -> None:
    body_bytes = None if payload is None else json.dumps(payload).encode()

    status, body = await start(client_binding, name, body_bytes)

    assert status == 400
    assert body["error"].startswith(message)


async def test_unreachable_durable_host_is_a_json_500(client_binding: str) -> None:
    status, body = await start(client_binding, "process_order", json.dumps(ORDER).encode())

    assert status == 500
    assert body == {"error": "start_orchestration failed; the function log has details"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "approved: is required"),
        (b"yes", "request body is not valid JSON"),
        (
            json.dumps({"approved": "yes", "approver": "a"}).encode(),
            "approved: must be true or false",
        ),
        (json.dumps({"approved": True}).encode(), "approver: is required"),
        (
            json.dumps({"approved": True, "approver": "a", "note": 1}).encode(),
            "note: unknown field",
        ),
    ],
)
async def test_bad_approval_body_is_400(client_binding: str, payload: bytes, message: str) -> None:
    url = "http://localhost:7071/api/approvals/abc"

    status, body = await call(
        routes.answer_approval, client_binding, "POST", url, {"instanceId": "abc"}, payload
    )

    assert status == 400
    assert body["error"].startswith(message)


def signal(binding: str, operation: str, body: Optional[bytes] = None) -> Any:
    url = f"http://localhost:7071/api/counters/k1/{operation}"
    return call(
        routes.signal_counter, binding, "POST", url, {"key": "k1", "operation": operation}, body
    )


async def test_unknown_counter_operation_is_400(client_binding: str) -> None:
    status, body = await signal(client_binding, "multiply", b"2")

    assert status == 400
    assert body["error"] == "unknown operation 'multiply'; expected one of add, reset, get, delete"


@pytest.mark.parametrize("payload", [b"", b'"5"', b"true", b"1.5", b"{}"])
async def test_add_without_an_integer_body_is_400(client_binding: str, payload: bytes) -> None:
    status, body = await signal(client_binding, "add", payload)

    assert status == 400
    assert body["error"] == "add needs an integer JSON body, e.g. 5"


async def test_counter_body_that_is_not_json_is_400(client_binding: str) -> None:
    status, body = await signal(client_binding, "reset", b"zero")

    assert status == 400
    assert body["error"].startswith("request body is not valid JSON")


async def test_adding_zero_is_accepted_without_signalling(client_binding: str) -> None:
    status, body = await signal(client_binding, "add", b"0")

    assert status == 202
    assert body == {"key": "k1", "operation": "add"}


def test_error_response_is_json_with_one_error_field() -> None:
    response = routes.error_response(418, "short and stout")

    assert response.status_code == 418
    assert response.mimetype == "application/json"
    assert json.loads(response.get_body()) == {"error": "short and stout"}
