"""In a real browser, a web page on another site cannot drive devhost: the requests a
page may send without asking (a `no-cors` fetch with a text body, a form post) reach
the host and are refused, and no orchestration starts. The same page on an origin
listed in local.settings.json `Host.CORS` starts every one of them, which shows it is
the host that refuses, not the browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser

from devhost.http.urls import WEBHOOK_PATH as API
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.browser import chromium, visit
from tests.support.http import call
from tests.support.loopback import serving

ATTACKER = "evil.test"
PARTNER = "partner.test"  # listed in the app's Host.CORS

# Everything a page may send cross-site without a preflight, each aimed at a way to start
# an orchestration: the durable webhook and the app's own HTTP starter (fetches with a
# text body), and a form whose text/plain body is valid JSON (its field's name and value
# make `{"from":"=form"}`), the classic way to post JSON from a form.
PAGE = """<!doctype html>
<title>running</title>
<form id="form" method="post" enctype="text/plain" target="sink">
  <input name='{"from":"' value='form"}'>
</form>
<iframe name="sink"></iframe>
<script>
const host = new URLSearchParams(location.search).get("host");
const webhook = `${host}/runtime/webhooks/durabletask/orchestrators/echo_back`;
async function post(url) {
  const simple = {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: "1"};
  try { await fetch(url, simple); } catch (refused) { /* the host's state tells */ }
}
(async () => {
  await post(webhook);
  await post(`${host}/api/start/echo_back`);
  const sink = document.querySelector("iframe");
  const answered = new Promise(resolve => sink.addEventListener("load", resolve, {once: true}));
  const form = document.getElementById("form");
  form.action = webhook;
  form.submit();
  await answered;
  document.title = "done";
})();
</script>
"""

# What the page sends, in order: two fetches, then the form.
ATTEMPTS = 3


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


@pytest_asyncio.fixture
async def pages() -> AsyncIterator[int]:
    """The port of a loopback server that serves PAGE to any name."""
    app = web.Application()
    app.router.add_get("/", _page)
    async with serving(app) as base_url:
        yield int(base_url.rsplit(":", 1)[1])


@pytest_asyncio.fixture
async def devhost(pages: int, tmp_path: Path) -> AsyncIterator[DurableHost]:
    """The protocol app, with the partner's origin (on the pages' port) in Host.CORS."""
    app_dir = tmp_path / "app"
    shutil.copytree(PROTOCOL_APP, app_dir)
    settings = {"Values": {}, "Host": {"CORS": f"http://{PARTNER}:{pages}"}}
    (app_dir / "local.settings.json").write_text(json.dumps(settings), encoding="utf-8")
    async with DurableHost(app_dir) as running:
        yield running


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium(loopback_names=(ATTACKER, PARTNER)) as launched:
        yield launched


async def _instances(host: DurableHost, http: aiohttp.ClientSession) -> list[dict[str, object]]:
    status, body, _ = await call(http, "GET", f"{host.base_url}{API}/instances?showInput=true")
    assert status == 200
    return list(body)


async def _visit_from(site: str, pages: int, host: DurableHost, browser: Browser) -> list[int]:
    """Runs the page as served on `site`; the statuses the host answered it, in order."""
    _, responses = await visit(
        browser, f"http://{site}:{pages}/?host={host.base_url}", loopback_names=(ATTACKER, PARTNER)
    )
    return [response.status for response in responses if response.url.startswith(host.base_url)]


async def test_a_page_on_another_site_cannot_start_orchestrations(
    pages: int, devhost: DurableHost, browser: Browser, http: aiohttp.ClientSession
) -> None:
    assert await _visit_from(ATTACKER, pages, devhost, browser) == [403] * ATTEMPTS
    assert await _instances(devhost, http) == []


async def test_the_same_page_on_an_origin_listed_in_host_cors_starts_them(
    pages: int, devhost: DurableHost, browser: Browser, http: aiohttp.ClientSession
) -> None:
    assert await _visit_from(PARTNER, pages, devhost, browser) == [202] * ATTEMPTS
    started = await _instances(devhost, http)
    assert len(started) == ATTEMPTS and {"from": "=form"} in [item["input"] for item in started]
