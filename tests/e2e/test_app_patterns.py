"""Every pattern of the function app, end to end over HTTP on loopback: the app's own
routes and the durable webhooks, served by devhost, blobs in the session's Azurite, time
skipped with the virtual clock."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any, AsyncIterator, Optional

import aiohttp
import pytest_asyncio
from aiohttp import web
from azure.storage.blob.aio import BlobServiceClient

from devhost.testing import DurableHost
from tests.support.http import call
from tests.support.loopback import serving

async def _start(http: aiohttp.ClientSession, host: DurableHost, name: str, body: Any) -> dict[str, Any]:
    status, payload, _ = await call(http, "POST", f"{host.base_url}/api/orchestrators/{name}", json=body)
    assert status == 202, payload
    return payload


async def _finished(http: aiohttp.ClientSession, host: DurableHost, payload: dict[str, Any]) -> dict[str, Any]:
    """Waits in-process, then reads the outcome the way a client does: statusQueryGetUri."""
    await host.wait(payload["id"])
    status, body, _ = await call(http, "GET", payload["statusQueryGetUri"])
    assert status == 200, body
    return body


def _order(simulate: str = "approve", **payment: Any) -> dict[str, Any]:
    return {
        "order_id": f"A-{uuid.uuid4().hex[:8]}",
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "items": [
            {"sku": "BOOK-001", "quantity": 2, "unit_price": 12.5},
            {"sku": "PEN-003", "quantity": 10, "unit_price": 1.2},
        ],
        "payment": {"card": "4242424242424242", "simulate": simulate, **payment},
    }


# --- chaining: process_order --------------------------------------------------------------


async def test_order_completes_and_counts_in_the_aggregator(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    before = await _counter(http, app_host, "orders_completed")
    body = await _finished(http, app_host, await _start(http, app_host, "process_order", _order()))
    output = body["output"]
    assert (body["runtimeStatus"], output["status"], output["total"]) == ("Completed", "completed", 37.0)
    assert output["payment_attempts"] == 1 and output["tracking_number"] and output["notified"]
    assert await _counter(http, app_host, "orders_completed") == (before or 0) + 1


async def test_flaky_payment_is_retried_with_backoff_then_succeeds(
    app_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    payload = await _start(http, app_host, "process_order", _order("flaky", failures=2))
    await app_host.advance(timedelta(seconds=15))
    output = (await _finished(http, app_host, payload))["output"]
    assert (output["status"], output["payment_attempts"]) == ("completed", 3)


async def test_declined_card_releases_the_reserved_stock(
    app_host: DurableHost, http: aiohttp.ClientSession, storage_connection: str
) -> None:
    order = _order("decline")
    output = (await _finished(http, app_host, await _start(http, app_host, "process_order", order)))["output"]
    assert output == {
        "order_id": order["order_id"],
        "status": "payment_failed",
        "reason": "card declined by the issuer",
        "stock_released": True,
    }
    async with BlobServiceClient.from_connection_string(storage_connection) as service:
        reservation = service.get_blob_client("orders", f"reservations/{order['order_id']}.json")
        assert not await reservation.exists()


async def test_unavailable_gateway_exhausts_retries_and_compensates(
    app_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    payload = await _start(http, app_host, "process_order", _order("unavailable"))
    await app_host.advance(timedelta(minutes=2))
    output = (await _finished(http, app_host, payload))["output"]
    assert output["status"] == "payment_failed" and output["stock_released"] is True
    assert output["reason"].startswith("payment failed after 4 attempts")


async def test_starter_rejects_bad_requests_with_json_errors(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    order = _order()
    order["items"][0]["quantity"] = 0
    status, body, _ = await call(http, "POST", f"{app_host.base_url}/api/orchestrators/process_order", json=order)
    assert (status, body) == (400, {"error": "items[0].quantity: must be a positive integer"})
    status, body, _ = await call(http, "POST", f"{app_host.base_url}/api/orchestrators/nope", json={})
    assert status == 404 and "nope" in body["error"]
    async with http.post(f"{app_host.base_url}/api/orchestrators/process_order", data=b"{x") as response:
        assert response.status == 400 and "error" in await response.json()


# --- fan-out/fan-in: summarize_blobs --------------------------------------------------------


async def test_blob_summary_fans_out_in_batches_and_writes_a_report(
    app_host: DurableHost, http: aiohttp.ClientSession, storage_connection: str
) -> None:
    container = f"docs-{uuid.uuid4().hex[:8]}"
    async with BlobServiceClient.from_connection_string(storage_connection) as service:
        client = await service.create_container(container)
        for n in range(120):
            await client.upload_blob(f"notes/{n:03d}.txt", f"line one\nword {n} here\n".encode())
        await client.upload_blob("other/skip.txt", b"not in the prefix")
        body = await _finished(
            http,
            app_host,
            await _start(http, app_host, "summarize_blobs", {"container": container, "prefix": "notes/"}),
        )
        output = body["output"]
        assert (output["status"], output["blobs"], output["batches"]) == ("summarized", 120, 3)
        assert (output["lines"], output["words"]) == (240, 600)
        report_container, report_name = output["report_blob"].split("/", 1)
        report = json.loads(
            await (await service.get_blob_client(report_container, report_name).download_blob()).readall()
        )
    assert report["totals"]["blobs"] == 120 and len(report["blobs"]) == 120


async def test_blob_summary_of_a_missing_container_is_a_clear_result(
    app_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    body = await _finished(
        http, app_host, await _start(http, app_host, "summarize_blobs", {"container": "no-such-container"})
    )
    assert body["runtimeStatus"] == "Completed"
    assert (body["output"]["status"], body["output"]["report_blob"]) == ("container_not_found", None)


# --- async HTTP API: generate_report ----------------------------------------------------------


async def test_report_progress_moves_in_custom_status_while_a_client_polls(
    app_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    request = {"title": "Weekly", "sections": ["orders", "revenue", "inventory"], "pace_seconds": 60}
    payload = await _start(http, app_host, "generate_report", request)
    seen = []
    for _ in range(3):
        await app_host.settle()
        status, body, _ = await call(http, "GET", payload["statusQueryGetUri"])
        seen.append((status, body["customStatus"]))
        await app_host.advance(timedelta(seconds=60))
    assert seen == [
        (202, {"stage": "building", "done": 1, "total": 3}),
        (202, {"stage": "building", "done": 2, "total": 3}),
        (200, {"stage": "completed", "done": 3, "total": 3}),
    ]
    body = await _finished(http, app_host, payload)
    assert body["output"]["title"] == "Weekly"
    assert [section["name"] for section in body["output"]["sections"]] == ["orders", "revenue", "inventory"]


# --- monitor: monitor_job --------------------------------------------------------------------


@pytest_asyncio.fixture
async def job_endpoint() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A job-status endpoint on loopback whose answer the test sets."""
    job: dict[str, Any] = {"status": "running", "progress": 10}

    async def status(_: web.Request) -> web.Response:
        return web.json_response(job)

    app = web.Application()
    app.router.add_get("/job", status)
    async with serving(app) as base_url:
        yield f"{base_url}/job", job


async def test_monitor_polls_until_the_job_completes_then_alerts(
    app_host: DurableHost, http: aiohttp.ClientSession, job_endpoint: tuple[str, dict[str, Any]]
) -> None:
    url, job = job_endpoint
    payload = await _start(http, app_host, "monitor_job", {"status_url": url, "interval_seconds": 60})
    await app_host.advance(timedelta(minutes=3))
    status, body, _ = await call(http, "GET", payload["statusQueryGetUri"])
    assert (status, body["runtimeStatus"]) == (202, "Running")
    job.update(status="completed", progress=100)
    await app_host.advance(timedelta(minutes=1))
    output = (await _finished(http, app_host, payload))["output"]
    assert (output["status"], output["polls"], output["alerted"]) == ("job_completed", 5, True)
    assert output["job"]["progress"] == 100


async def test_monitor_expires_when_the_job_never_finishes(
    app_host: DurableHost, http: aiohttp.ClientSession, job_endpoint: tuple[str, dict[str, Any]]
) -> None:
    url, _ = job_endpoint
    payload = await _start(
        http, app_host, "monitor_job", {"status_url": url, "interval_seconds": 60, "timeout_seconds": 300}
    )
    await app_host.advance(timedelta(minutes=6))
    output = (await _finished(http, app_host, payload))["output"]
    assert output["status"] == "expired"
    history = (await app_host.status(payload["id"], history=True)).history or []
    assert len(history) < 12, "continue_as_new keeps each execution's history short"


# --- human interaction: approval_workflow -----------------------------------------------------


async def _approval(http: aiohttp.ClientSession, host: DurableHost) -> dict[str, Any]:
    payload = await _start(http, host, "approval_workflow", {"request_id": f"r-{uuid.uuid4().hex[:6]}"})
    await host.settle()
    return payload


async def _answer(http: aiohttp.ClientSession, host: DurableHost, instance: str, approved: bool, who: str) -> int:
    decision = {"approved": approved, "approver": who}
    status, _, _ = await call(http, "POST", f"{host.base_url}/api/approvals/{instance}", json=decision)
    return status


async def test_approval_approved_in_time(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    payload = await _approval(http, app_host)
    assert await _answer(http, app_host, payload["id"], True, "manager") == 202
    output = (await _finished(http, app_host, payload))["output"]
    assert output == {"decision": "approved", "by": "manager", "escalated": False}


async def test_approval_rejected(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    payload = await _approval(http, app_host)
    await app_host.advance(timedelta(hours=10))
    assert await _answer(http, app_host, payload["id"], False, "manager") == 202
    output = (await _finished(http, app_host, payload))["output"]
    assert output == {"decision": "rejected", "by": "manager", "escalated": False}


async def test_approval_escalates_after_72_hours_and_accepts_the_raw_webhook_event(
    app_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    payload = await _approval(http, app_host)
    await app_host.advance(timedelta(hours=72))
    assert (await app_host.status(payload["id"])).runtime_status == "Running"
    event_url = payload["sendEventPostUri"].replace("{eventName}", "ApprovalEvent")
    status, _, _ = await call(http, "POST", event_url, json={"approved": True, "approver": "lead"})
    assert status == 202
    output = (await _finished(http, app_host, payload))["output"]
    assert output == {"decision": "approved", "by": "lead", "escalated": True}


async def test_approval_expires_after_the_escalation_window(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    payload = await _approval(http, app_host)
    await app_host.advance(timedelta(hours=72 + 24))
    output = (await _finished(http, app_host, payload))["output"]
    assert output == {"decision": "rejected", "by": None, "escalated": True, "reason": "expired"}
    assert await _answer(http, app_host, payload["id"], True, "late") == 410


async def test_approval_route_rejects_bad_bodies_and_unknown_instances(
    app_host: DurableHost, http: aiohttp.ClientSession
) -> None:
    payload = await _approval(http, app_host)
    url = f"{app_host.base_url}/api/approvals/{payload['id']}"
    status, body, _ = await call(http, "POST", url, json={"approved": "yes"})
    assert status == 400 and "approved" in body["error"]
    assert await _answer(http, app_host, "not-an-instance", True, "x") == 404


# --- aggregator: Counter --------------------------------------------------------------------


async def _counter(http: aiohttp.ClientSession, host: DurableHost, key: str) -> Optional[int]:
    await host.settle()
    status, body, _ = await call(http, "GET", f"{host.base_url}/api/counters/{key}")
    return body["value"] if status == 200 else None


async def test_counter_add_reset_delete(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    base = f"{app_host.base_url}/api/counters/visits"
    assert (await call(http, "POST", f"{base}/add", json=5))[0] == 202
    assert (await call(http, "POST", f"{base}/add", json=3))[0] == 202
    assert await _counter(http, app_host, "visits") == 8
    assert (await call(http, "POST", f"{base}/reset"))[0] == 202
    assert await _counter(http, app_host, "visits") == 0
    assert (await call(http, "POST", f"{base}/delete"))[0] == 202
    await app_host.settle()
    status, body, _ = await call(http, "GET", base)
    assert status == 404 and body["error"]


async def test_counter_rejects_unknown_operations_and_bad_bodies(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    base = f"{app_host.base_url}/api/counters/visits"
    status, body, _ = await call(http, "POST", f"{base}/multiply", json=2)
    assert status == 400 and "multiply" in body["error"]
    status, body, _ = await call(http, "POST", f"{base}/add", json="five")
    assert status == 400 and body["error"]


async def test_counter_through_the_durable_webhook_with_each_body_form(
    app_host: DurableHost, http: aiohttp.ClientSession, caplog: Any
) -> None:
    """The body forms the README lists: text (curl's default) and a JSON string work; a
    bare JSON number reaches the Python entity as ext forwards it, where SDK 1.7's
    `get_input()` cannot decode it, in Azure too. The console says what arrived."""
    webhook = f"{app_host.base_url}/runtime/webhooks/durabletask/entities/Counter/forms?op=add"
    as_json = {"Content-Type": "application/json"}
    assert (await call(http, "POST", webhook, data=b"5", headers={"Content-Type": "text/plain"}))[0] == 202
    assert (await call(http, "POST", webhook, data=b'"3"', headers=as_json))[0] == 202
    assert (await call(http, "POST", webhook, data=b"1", headers=as_json))[0] == 202
    await app_host.settle()
    assert await app_host.read_entity("Counter", "forms") == 8
    failed = next(r.getMessage() for r in caplog.records if "failed 'add' operation" in r.getMessage())
    assert "the SDK can decode: the JSON object must be str, bytes or bytearray, not int" in failed
    assert "Input: 1 (the Python SDK's get_input() cannot decode it" in failed


async def test_deeply_nested_bodies_are_400_on_the_apps_routes(app_host: DurableHost, http: aiohttp.ClientSession) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    for route in ("orchestrators/process_order", "approvals/some-id", "counters/visits/add"):
        status, body, _ = await call(http, "POST", f"{app_host.base_url}/api/{route}", data=deep)
        assert status == 400 and "nested too deeply" in body["error"], route
