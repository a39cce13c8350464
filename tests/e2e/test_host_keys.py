"""`enforce_keys`: each route asks for the keys Azure asks for, over real HTTP, and the
check-status payload carries the Durable extension's key in URLs that work as given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from devhost.errors import StartupError
from devhost.function_keys import DURABLE_SYSTEM_KEY
from devhost.http.urls import WEBHOOK_PATH as API
from devhost.testing import DurableHost
from tests.support.apps import KEYS_APP
from tests.support.http import call

MANAGEMENT_URLS = (
    "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri",
    "restartPostUri", "suspendPostUri", "resumePostUri", "rewindPostUri",
)  # fmt: skip


@pytest.fixture
def secrets_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The host's own setting for where its key files live, so no test writes the user's."""
    folder = tmp_path / "secrets"
    monkeypatch.setenv("FUNCTIONS_SECRETS_PATH", str(folder))
    return folder


@pytest_asyncio.fixture
async def host(secrets_path: Path) -> AsyncIterator[DurableHost]:
    async with DurableHost(KEYS_APP, enforce_keys=True) as durable_host:
        yield durable_host


def _with(key: str | None) -> dict[str, str]:
    return {} if key is None else {"x-functions-key": key}


async def _start(http: aiohttp.ClientSession, host: DurableHost, key: str | None, **query: str) -> Any:
    url = f"{host.base_url}/api/orchestrators/wait_for_approval"
    async with http.post(url, json={"order": 7}, headers=_with(key), params=query) as response:
        return response.status, await response.json(content_type=None), response.headers


# --- HTTP functions ------------------------------------------------------------------------


async def test_an_anonymous_route_takes_any_key_or_none(host: DurableHost, http: aiohttp.ClientSession) -> None:
    for key in (None, "not-a-key", host.keys.master):
        async with http.get(f"{host.base_url}/api/hello", headers=_with(key)) as response:
            assert (response.status, await response.text()) == (200, "hello")


async def test_a_function_route_takes_its_own_key_a_host_key_or_the_master_key(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    keys = host.keys
    for key in (keys.function_key("start"), keys.function_keys["default"], keys.master):
        status, body, _ = await _start(http, host, key)
        assert status == 202, body
    status, body, headers = await _start(http, host, None)
    assert status == 401
    assert "needs one of its function keys, a host key or the master key: no key came" in body["error"]
    assert "WWW-Authenticate" not in headers  # the host's function 401 is a bare one
    # Another function's key, the Durable extension's system key and a made-up one: none opens it.
    for key in (keys.function_key("status"), keys.durable_key, "not-a-key"):
        status, body, _ = await _start(http, host, key)
        assert status == 401
        assert "the key given is none of them" in body["error"]


async def test_the_key_header_wins_over_the_code_query(host: DurableHost, http: aiohttp.ClientSession) -> None:
    key = host.keys.function_key("start")
    assert (await _start(http, host, None, code=key))[0] == 202
    assert (await _start(http, host, None, CODE=key))[0] == 202  # query names match in any case
    assert (await _start(http, host, key, code="not-a-key"))[0] == 202
    assert (await _start(http, host, "not-a-key", code=key))[0] == 401
    assert (await _start(http, host, "", code=key))[0] == 401  # an empty header still wins


async def test_an_admin_level_route_takes_only_the_master_key(host: DurableHost, http: aiohttp.ClientSession) -> None:
    keys = host.keys
    for key in (None, keys.function_key("operator"), keys.function_keys["default"], keys.durable_key):
        status, body, _ = await call(http, "GET", f"{host.base_url}/api/operator", headers=_with(key))
        assert status == 401
        assert "(admin level) needs the master key" in body["error"]
    async with http.get(f"{host.base_url}/api/operator", params={"code": keys.master}) as response:
        assert (response.status, await response.text()) == (200, "operator")


async def test_an_unknown_route_stays_404_without_a_key(host: DurableHost, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{host.base_url}/api/nowhere") as response:
        assert (response.status, await response.read()) == (404, b"")


# --- the host's own routes -----------------------------------------------------------------


async def test_the_admin_api_takes_only_the_master_key(host: DurableHost, http: aiohttp.ClientSession) -> None:
    url = f"{host.base_url}/admin/functions/hello"
    status, body, headers = await call(http, "POST", url, json={})
    assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")
    assert body["error"].startswith("/admin/functions/hello needs the master key: no key came")
    status, body, _ = await call(http, "POST", url, json={}, headers=_with(host.keys.function_keys["default"]))
    assert status == 403  # a valid key of another kind: forbidden, not unauthenticated
    assert body["error"].endswith("the key given is the function key 'default'.")
    status, body, _ = await call(http, "POST", url, json={}, headers=_with(host.keys.master))
    assert status == 400  # through to the admin API, which names the route to use instead
    status, _, _ = await call(http, "POST", f"{host.base_url}/admin/functions/missing", json={})
    assert status == 401  # checked before the function is looked up


async def test_the_durable_api_takes_its_system_key_or_the_master_key(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    keys = host.keys
    url = f"{host.base_url}{API}/instances"
    for key in (keys.durable_key, keys.master):
        status, body, _ = await call(http, "GET", url, headers=_with(key))
        assert (status, body) == (200, [])
    status, body, headers = await call(http, "GET", url)
    assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")
    assert f"needs the {DURABLE_SYSTEM_KEY} system key or the master key: no key came" in body["error"]
    status, body, _ = await call(http, "GET", url, headers=_with(keys.function_keys["default"]))
    assert status == 403  # the host accepts no function key on an extension's webhook
    # A function's own key is looked up only for that function: here it is no key at all.
    assert (await call(http, "GET", url, headers=_with(keys.function_key("start"))))[0] == 401
    status, _, _ = await call(http, "GET", f"{host.base_url}{API}/no-such-route")
    assert status == 401  # checked before the route is matched
    status, _, _ = await call(http, "GET", f"{host.base_url}/runtime/webhooks/other/x", headers=_with(keys.durable_key))
    assert status == 403  # another extension's webhook needs that extension's key


async def test_the_rpc_api_and_devhosts_pages_are_open_on_this_machine(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """The SDK client inside the app calls the RPC API as the extension's own listener
    lets it, without a key (the starter above depends on it too)."""
    status, body, _ = await call(http, "GET", f"{host.base_url}/durabletask/instances")
    assert (status, body) == (200, [])
    for path in ("/", "/devhost/dashboard/"):
        async with http.get(f"{host.base_url}{path}") as response:
            assert response.status == 200


# --- the check-status payload --------------------------------------------------------------


async def test_check_status_urls_carry_the_system_key_and_work_as_given(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    status, payload, headers = await _start(http, host, host.keys.function_key("start"))
    assert status == 202
    code = f"code={host.keys.durable_key}"
    assert {name: payload[name].endswith(code) for name in MANAGEMENT_URLS} == dict.fromkeys(MANAGEMENT_URLS, True)
    assert headers["Location"] == payload["statusQueryGetUri"]
    instance_id = payload["id"]

    await host.wait_until(instance_id, lambda s: s.runtime_status == "Running")
    async with http.get(payload["statusQueryGetUri"]) as response:
        assert (response.status, (await response.json())["runtimeStatus"]) == (202, "Running")
    for operation, reached in (("suspendPostUri", "Suspended"), ("resumePostUri", "Running")):
        async with http.post(payload[operation].replace("{text}", "checking")) as response:
            assert response.status == 202
        await host.wait_until(instance_id, lambda s, reached=reached: s.runtime_status == reached)
    event_url = payload["sendEventPostUri"].replace("{eventName}", "Approval")
    async with http.post(event_url, json={"by": "lead"}) as response:
        assert response.status == 202
    finished = await host.wait(instance_id)
    assert finished.output == {"input": {"order": 7}, "approval": {"by": "lead"}}
    async with http.get(payload["statusQueryGetUri"]) as response:
        assert (response.status, (await response.json())["output"]) == (200, finished.output)
    async with http.get(f"{host.base_url}/api/status/{instance_id}", headers=_with(host.keys.master)) as response:
        assert await response.text() == "Completed"  # the SDK client's RPC read, from inside the app
    async with http.post(payload["restartPostUri"]) as response:
        assert response.status == 202
        restarted = (await response.json())["id"]
    terminate = f"{host.base_url}{API}/instances/{restarted}/terminate"
    async with http.post(terminate, params={"code": host.keys.master}) as response:
        assert response.status == 202
    await host.wait(restarted)
    async with http.delete(payload["purgeHistoryDeleteUri"]) as response:
        assert (response.status, await response.json()) == (200, {"instancesDeleted": 1})


async def test_the_durable_apis_own_start_answers_with_keyed_urls(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    url = f"{host.base_url}{API}/orchestrators/wait_for_approval"
    status, payload, headers = await call(http, "POST", url, json=1, headers=_with(host.keys.durable_key))
    assert status == 202
    assert headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].endswith(f"&code={host.keys.durable_key}")
    async with http.post(payload["terminatePostUri"].replace("{text}", "done")) as response:
        assert response.status == 202
    assert (await host.wait(payload["id"])).runtime_status == "Terminated"


# --- where the keys come from --------------------------------------------------------------


async def test_keys_written_by_hand_in_the_hosts_format_are_honoured(
    secrets_path: Path, http: aiohttp.ClientSession
) -> None:
    secrets_path.mkdir()
    own = {"keys": [{"name": "ci", "value": "a-key-of-our-own", "encrypted": False}]}
    (secrets_path / "start.json").write_text(json.dumps(own), encoding="utf-8")
    async with DurableHost(KEYS_APP, enforce_keys=True) as host:
        assert (await _start(http, host, "a-key-of-our-own"))[0] == 202
        assert host.keys.function_key("start") == "a-key-of-our-own"
    written = json.loads((secrets_path / "host.json").read_text(encoding="utf-8"))
    assert [key["name"] for key in written["systemKeys"]] == [DURABLE_SYSTEM_KEY]
    assert (written["masterKey"]["name"], written["functionKeys"][0]["name"]) == ("master", "default")


async def test_a_malformed_key_file_stops_the_start_naming_it(secrets_path: Path) -> None:
    secrets_path.mkdir()
    (secrets_path / "host.json").write_text('{"masterKey": "plain"}', encoding="utf-8")
    with pytest.raises(StartupError, match=r"host\.json': 'masterKey' must hold keys"):
        async with DurableHost(KEYS_APP, enforce_keys=True):
            pass


async def test_without_enforce_keys_nothing_is_checked_or_written(
    secrets_path: Path, http: aiohttp.ClientSession
) -> None:
    async with DurableHost(KEYS_APP) as host:
        status, payload, _ = await _start(http, host, None)
        assert status == 202
        assert not any("code=" in payload[name] for name in MANAGEMENT_URLS)
        async with http.get(f"{host.base_url}/api/operator") as response:
            assert response.status == 200
        assert (await call(http, "GET", payload["statusQueryGetUri"]))[0] == 202
        assert (await call(http, "POST", f"{host.base_url}/admin/functions/hello", json={}))[0] == 400
    assert not secrets_path.exists()
