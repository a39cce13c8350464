"""Hosts in one process keep apart, one after the other or side by side: each runs its
own app's modules with fresh state, a host that stopped leaves the environment and
`sys.path` as it found them, and stopping one leaves the others' durable clients
working. Every app here has the same module names (`function_app`, `helpers`)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.testing import DurableHost
from tests.support.http import call
from tests.support.named_apps import setting_name, write_app


async def _which(host: DurableHost) -> Any:
    """What the app's activity answers: its name, its module's call count, its setting."""
    return (await host.wait(await host.start("which_app"))).output


async def test_apps_with_the_same_module_names_run_their_own_modules_in_turn(tmp_path: Path) -> None:
    first, second = write_app(tmp_path / "first", "first"), write_app(tmp_path / "second", "second")
    async with DurableHost(first) as host:
        assert await _which(host) == {"app": "first", "calls": 1, "setting": "from first"}
    async with DurableHost(second) as host:
        assert await _which(host) == {"app": "second", "calls": 1, "setting": "from second"}


async def test_the_same_app_started_again_starts_with_fresh_module_state(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", "again")
    for _ in range(2):
        async with DurableHost(app) as host:
            assert (await _which(host))["calls"] == 1
            assert (await _which(host))["calls"] == 2


async def test_apps_side_by_side_each_run_their_own_modules(tmp_path: Path) -> None:
    first, second = write_app(tmp_path / "first", "first"), write_app(tmp_path / "second", "second")
    async with DurableHost(first) as one, DurableHost(second) as two, DurableHost(first) as three:
        assert await _which(one) == {"app": "first", "calls": 1, "setting": "from first"}
        assert await _which(two) == {"app": "second", "calls": 1, "setting": "from second"}
        assert await _which(three) == {"app": "first", "calls": 1, "setting": "from first"}
        assert (one.app_module, one.app_module.state) != (three.app_module, three.app_module.state)


async def test_a_stopped_host_leaves_the_environment_and_sys_path_as_they_were(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", "tidy")
    environment, path, modules = dict(os.environ), list(sys.path), set(sys.modules)
    async with DurableHost(app) as host:
        assert os.environ[setting_name("tidy")] == "from tidy"
        assert sys.modules["helpers.state"] is host.app_module.state
    assert (dict(os.environ), sys.path) == (environment, path)
    assert {"function_app", "helpers", "helpers.state"}.isdisjoint(set(sys.modules) - modules)


async def test_a_setting_stays_until_the_last_host_that_has_it_stops(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", "shared")
    async with DurableHost(app) as staying:
        async with DurableHost(app):
            pass
        assert (await _which(staying))["setting"] == "from shared"
    assert setting_name("shared") not in os.environ


async def test_a_setting_the_environment_already_has_wins_and_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = write_app(tmp_path / "app", "given")
    monkeypatch.setenv(setting_name("given"), "from the shell")
    async with DurableHost(app) as host:
        assert (await _which(host))["setting"] == "from the shell"
    assert os.environ[setting_name("given")] == "from the shell"


async def test_stopping_one_host_leaves_another_s_durable_client_call_under_way_working(
    tmp_path: Path, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's client has one aiohttp session per process: the second host's starter
    is inside `client.start_new` (its request held by the host) while the first stops."""
    first, second = DurableHost(write_app(tmp_path / "first", "first")), DurableHost(write_app(tmp_path / "second", "second"))
    async with second:
        async with first:
            entered, release = asyncio.Event(), asyncio.Event()
            start = second.management.start

            async def held_start(*args: Any, **kwargs: Any) -> str:
                entered.set()
                await release.wait()
                return await start(*args, **kwargs)

            monkeypatch.setattr(second.management, "start", held_start)
            starting = asyncio.ensure_future(call(http, "POST", f"{second.base_url}/api/start"))
            await entered.wait()
        release.set()
        status, body, _ = await starting
        assert status == 202, body
        assert (await second.wait(body["id"])).output["app"] == "second"


async def test_packages_installed_inside_the_app_folder_are_not_the_app_s_modules(tmp_path: Path) -> None:
    """A deployment's `.python_packages` (or a `.venv`) in the app folder: what it installs
    stays imported after the host stops, as any installed package does."""
    app = write_app(tmp_path / "app", "vendored")
    packages = app / ".python_packages" / "lib" / "site-packages"
    packages.mkdir(parents=True)
    (packages / "vendored_tool.py").write_text("NAME = 'tool'\n", encoding="utf-8")
    script = app / "function_app.py"
    script.write_text(
        f"import sys\nsys.path.append({str(packages)!r})\nimport vendored_tool\n" + script.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    try:
        async with DurableHost(app) as host:
            assert (await _which(host))["app"] == "vendored"
        assert "vendored_tool" in sys.modules and "helpers" not in sys.modules
    finally:
        sys.modules.pop("vendored_tool", None)
        sys.path.remove(str(packages))
