"""A web page the developer visits cannot drive their running host, and a forged Host
header gets nowhere (DNS rebinding); CORS follows local.settings.json `Host.CORS` as
`func start` reads it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest_asyncio

from devhost.config import public_origin
from devhost.http.guard import Guard, GuardSettings
from devhost.http.urls import WEBHOOK_PATH as API
from devhost.http.urls import Urls
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.http import call


@pytest_asyncio.fixture
async def guarded() -> AsyncIterator[DurableHost]:
    async with DurableHost(PROTOCOL_APP) as host:
        yield host


async def test_a_cross_origin_simple_post_is_refused_and_starts_nothing(
    guarded: DurableHost, http: aiohttp.ClientSession
) -> None:
    headers = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    status, body, _ = await call(http, "POST", f"{guarded.base_url}{API}/orchestrators/sequence", data=b"1", headers=headers)
    assert status == 403 and "Host.CORS" in body["error"]
    signal = f"{guarded.base_url}{API}/entities/Tally/k?op=add"
    assert (await call(http, "POST", signal, data=b"1", headers=headers))[0] == 403
    assert (await call(http, "GET", f"{guarded.base_url}{API}/instances"))[1] == []


async def test_loopback_origins_and_reads_pass(guarded: DurableHost, http: aiohttp.ClientSession) -> None:
    start = f"{guarded.base_url}{API}/orchestrators/sequence"
    assert (await call(http, "POST", start, json=1, headers={"Origin": "http://localhost:3000"}))[0] == 202
    assert (await call(http, "GET", f"{guarded.base_url}{API}/instances", headers={"Origin": "https://evil.example"}))[0] == 200


async def test_a_host_header_that_names_no_one_here_is_400(guarded: DurableHost, http: aiohttp.ClientSession) -> None:
    url = f"{guarded.base_url}{API}/instances"
    status, body, _ = await call(http, "GET", url, headers={"Host": "rebound.evil.example:7071"})
    assert status == 400 and "--allowed-hosts" in body["error"]
    assert (await call(http, "GET", url, headers={"Host": "localhost:7071"}))[0] == 200


async def test_cors_origins_from_local_settings_get_preflights_and_headers(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    app = tmp_path / "app"
    shutil.copytree(PROTOCOL_APP, app)
    (app / "local.settings.json").write_text(json.dumps({"Values": {}, "Host": {"CORS": "https://app.example"}}))
    async with DurableHost(app) as host:
        start = f"{host.base_url}{API}/orchestrators/sequence"
        preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
        async with http.options(start, headers=preflight) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        async with http.post(start, json=1, headers={"Origin": "https://app.example"}) as response:
            assert response.status == 202
            assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        other = {"Origin": "https://other.example", "Access-Control-Request-Method": "POST"}
        assert (await call(http, "OPTIONS", start, headers=other))[0] == 403


def test_allowed_host_names_and_ipv6_urls() -> None:
    guard = Guard(GuardSettings(allowed_hosts=("devbox.internal",)))
    assert guard.host_allowed("devbox.internal:7071") and guard.host_allowed("[::1]:7071")
    assert guard.host_allowed("192.168.1.20:7071") and not guard.host_allowed("evil.example")
    assert public_origin("::1", 7071) == "http://[::1]:7071"
    binding = json.loads(Urls("http://[::1]:7071", "Hub", "http://[::1]:7071").client_binding())
    assert binding["rpcBaseUrl"] == "http://[::1]:7071/durabletask/"
    assert binding["managementUrls"]["statusQueryGetUri"].startswith("http://[::1]:7071/runtime/webhooks/durabletask/")


async def test_same_origin_pages_pass_and_cross_site_fetches_do_not(
    guarded: DurableHost, http: aiohttp.ClientSession
) -> None:
    """A page served by this host itself (on its IP, say) may post; any request a browser
    marks cross-site (an `<img>` GET at a starter that takes any method) may not."""
    port = guarded.base_url.rsplit(":", 1)[1]
    start = f"{guarded.base_url}{API}/orchestrators/sequence"
    same = {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}"}
    assert (await call(http, "POST", start, json=1, headers=same))[0] == 202
    lan = {"Host": f"192.168.1.20:{port}", "Origin": f"http://192.168.1.20:{port}"}
    assert (await call(http, "POST", start, json=1, headers=lan))[0] == 202
    image = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    status, body, _ = await call(http, "GET", f"{guarded.base_url}/api/start/sequence", headers=image)
    assert status == 403 and "another site" in body["error"]


async def test_malformed_host_and_origin_headers_are_refused_not_500(
    guarded: DurableHost, http: aiohttp.ClientSession
) -> None:
    url = f"{guarded.base_url}{API}/instances"
    assert (await call(http, "GET", url, headers={"Host": "[::1"}))[0] == 400
    assert (await call(http, "GET", url, headers={"Host": "evil.example@localhost"}))[0] == 400
    assert (await call(http, "POST", f"{url}/x/terminate", headers={"Origin": "http://[::1"}))[0] == 403


def test_the_name_the_host_listens_on_is_allowed(tmp_path: Path) -> None:
    from devhost.config import load_config

    config = load_config(PROTOCOL_APP, host="devbox", environ={})
    assert Guard(config.guard).host_allowed("devbox:7071")
