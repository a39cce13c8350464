"""`check_job_status` against a real HTTP server on loopback, and `send_alert`."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from function_invoker import run_activity

from activities import check_job_status, send_alert
from activities.gateways import sent_notifications
from devhost.azurite import free_port
from tests.support.loopback import serving


async def _running(request: web.Request) -> web.Response:
    return web.json_response({"status": "running", "progress": 40})


async def _completed(request: web.Request) -> web.Response:
    return web.json_response({"status": "completed", "result": "ok"})


async def _html(request: web.Request) -> web.Response:
    return web.Response(text="<html>maintenance</html>", content_type="text/html")


async def _broken(request: web.Request) -> web.Response:
    return web.json_response({"status": "completed"}, status=503)


@pytest.fixture
async def job_server() -> AsyncIterator[str]:
    """A job API on a free loopback port; yields its base URL."""
    app = web.Application()
    app.router.add_get("/running", _running)
    app.router.add_get("/completed", _completed)
    app.router.add_get("/html", _html)
    app.router.add_get("/broken", _broken)
    async with serving(app) as base_url:
        yield base_url


async def test_running_job_reports_its_state_and_body(job_server: str) -> None:
    result = await run_activity(check_job_status, f"{job_server}/running")

    assert result == {
        "state": "running",
        "job": {"status": "running", "progress": 40},
        "http_status": 200,
    }


async def test_completed_job_reports_completed(job_server: str) -> None:
    result = await run_activity(check_job_status, f"{job_server}/completed")

    assert result["state"] == "completed"
    assert result["job"] == {"status": "completed", "result": "ok"}


async def test_body_that_is_not_json_is_unreachable_not_an_error(job_server: str) -> None:
    result = await run_activity(check_job_status, f"{job_server}/html")

    assert result["state"] == "unreachable"
    assert "not JSON" in result["error"]


async def test_server_error_is_unreachable(job_server: str) -> None:
    result = await run_activity(check_job_status, f"{job_server}/broken")

    assert result == {"state": "unreachable", "error": "HTTP 503"}


async def test_closed_port_is_unreachable_not_an_error() -> None:
    result = await run_activity(check_job_status, f"http://127.0.0.1:{free_port()}/jobs/1")

    assert result["state"] == "unreachable"
    assert "Connect" in result["error"]


async def test_alert_goes_to_the_notifier() -> None:
    alert = {"to": "on-call", "subject": "Job completed: x", "body": "done"}

    result = await run_activity(send_alert, alert)

    assert result == alert
    assert sent_notifications()[-1].subject == "Job completed: x"
