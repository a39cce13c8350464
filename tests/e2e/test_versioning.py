"""Orchestration versioning as the Durable extension 3.x does it, driven over HTTP
through the SDK's versioning sample (`tests/apps/versioning_app`).

Rules followed: the extension's `DurableTaskOptions` (defaultVersion, CurrentOrOlder,
Reject by default), DTFx `TaskOrchestrationDispatcher.OnProcessWorkItemAsync` (the check
before every work item, `Fail`'s VersionMismatch) and
`VersioningSettings.CompareVersions`.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.engine.statuses import InstanceStatus
from devhost.errors import StartupError
from devhost.http.urls import WEBHOOK_PATH as API
from devhost.stores.base import InstanceQuery
from devhost.testing import DurableHost
from tests.support.apps import VERSIONING_APP, app_with_settings, write_durable_settings
from tests.support.http import call

MISMATCH = "VersionMismatch: Orchestration version did not comply with Worker Versioning"


def _sample_output(version: str, sub_orchestration_default: str, greeting: str) -> list[str]:
    """What the sample returns: its README's three lines (orchestration version, the
    sub-orchestration's default version, the greeting) plus the explicit 0.9 child the
    sample's code has gained since."""
    return [
        f"Orchestration version: {version}",
        "Suborchestration version (explicit): 0.9",
        f"Suborchestration version (default): {sub_orchestration_default}",
        greeting,
    ]


async def _start(http: aiohttp.ClientSession, host: DurableHost, query: str = "") -> str:
    status, body, _ = await call(http, "POST", f"{host.base_url}/api/orchestrators/my_orchestrator{query}")
    assert status == 202, body
    return str(body["id"])


async def _status(http: aiohttp.ClientSession, host: DurableHost, instance_id: str) -> dict[str, Any]:
    _, body, _ = await call(http, "GET", f"{host.base_url}{API}/instances/{instance_id}")
    return dict(body)


async def _continue(http: aiohttp.ClientSession, host: DurableHost, instance_id: str) -> None:
    url = f"{host.base_url}{API}/instances/{instance_id}/raiseEvent/Continue"
    status, _, _ = await call(http, "POST", url, json=None, headers={"Content-Type": "application/json"}, data=b"{}")
    assert status == 202


async def _run_sample(http: aiohttp.ClientSession, host: DurableHost, query: str = "") -> InstanceStatus:
    """Starts the sample's orchestrator, lets it reach its event, raises it, waits."""
    instance_id = await _start(http, host, query)
    await host.settle()
    await _continue(http, host, instance_id)
    return await host.wait(instance_id)


async def test_the_sample_follows_the_version_it_was_started_with(
    store_options: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    """README: with defaultVersion 1.0 the legacy path runs and both versions read 1.0."""
    async with DurableHost(VERSIONING_APP, **store_options) as host:
        instance_id = await _start(http, host)
        await host.wait_until(instance_id, lambda s: s.custom_status is not None)
        waiting = await _status(http, host, instance_id)
        assert (waiting["version"], waiting["customStatus"]) == ("1.0", "Waiting for Continue event...")
        await _continue(http, host, instance_id)
        status = await host.wait(instance_id)
    assert status.output == _sample_output("1.0", "1.0", "Hello from A!")


async def test_a_new_default_version_takes_the_new_path(
    tmp_path: Path, store_options: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    app = app_with_settings(VERSIONING_APP, tmp_path / "app", {"defaultVersion": "2.0"})
    async with DurableHost(app, **store_options) as host:
        status = await _run_sample(http, host)
    assert status.output == _sample_output("2.0", "2.0", "Hello from B!")


async def test_start_new_with_a_version_overrides_the_default(
    tmp_path: Path, store_options: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    """The sample's `?version=` reaches `client.start_new(version=...)`, which the RPC
    API stamps on the instance; an older version runs on a newer host (CurrentOrOlder)."""
    app = app_with_settings(VERSIONING_APP, tmp_path / "app", {"defaultVersion": "2.0"})
    async with DurableHost(app, **store_options) as host:
        status = await _run_sample(http, host, "?version=1.0")
    assert status.output == _sample_output("1.0", "2.0", "Hello from A!")


async def test_stop_change_default_version_start_again_raise_the_event(
    tmp_path: Path, azurite: Any, http: aiohttp.ClientSession
) -> None:
    """The README's walk-through on the Azurite store: an instance started under 1.0
    keeps its version and path after the app restarts with 2.0, while the sub-orchestration
    it creates after the restart gets 2.0."""
    app = app_with_settings(VERSIONING_APP, tmp_path / "app", {"defaultVersion": "1.0"})
    options = {"storage": "azurite", "connection": azurite.connection_string, "hub": f"V{uuid.uuid4().hex[:12]}"}
    async with DurableHost(app, **options) as host:
        instance_id = await _start(http, host)
        await host.settle()
        assert (await _status(http, host, instance_id))["customStatus"] == "Waiting for Continue event..."
    write_durable_settings(app, {"defaultVersion": "2.0"})
    async with DurableHost(app, **options) as host:
        await _continue(http, host, instance_id)
        status = await host.wait(instance_id)
        final = await _status(http, host, instance_id)
    assert status.output == _sample_output("1.0", "2.0", "Hello from A!")
    assert (final["version"], final["customStatus"]) == ("1.0", "Continue event received")


async def test_a_newer_instance_waits_for_a_host_that_may_run_it(
    tmp_path: Path, azurite: Any, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """CurrentOrOlder with Reject (the defaults): a host on 1.0 leaves a 2.0 instance
    Pending and its messages queued; a host on 2.0 then runs it."""
    app = app_with_settings(VERSIONING_APP, tmp_path / "app", {"defaultVersion": "1.0"})
    options = {"storage": "azurite", "connection": azurite.connection_string, "hub": f"V{uuid.uuid4().hex[:12]}"}
    async with DurableHost(app, **options) as host:
        instance_id = await _start(http, host, "?version=2.0")
        await host.settle()
        status = await _status(http, host, instance_id)
        assert (status["runtimeStatus"], status["version"]) == ("Pending", "2.0")
        assert f"{instance_id}: Orchestration version '2.0' is not processed by this host" in caplog.text
    write_durable_settings(app, {"defaultVersion": "2.0"})
    async with DurableHost(app, **options) as host:
        await host.wait_until(instance_id, lambda s: s.custom_status == "Waiting for Continue event...")
        await _continue(http, host, instance_id)
        status = await host.wait(instance_id)
    assert status.output[0] == "Orchestration version: 2.0"
    assert status.output[-1] == "Hello from B!"


async def test_a_rejected_instance_ignores_terminate_and_can_be_purged(
    store_options: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    """DTFx checks the version before anything else in a work item, terminate included:
    the command is accepted (202) and waits with the rest; purge removes the instance."""
    async with DurableHost(VERSIONING_APP, **store_options) as host:
        instance_id = await _start(http, host, "?version=2.0")
        url = f"{host.base_url}{API}/instances/{instance_id}"
        assert (await call(http, "POST", f"{url}/terminate?reason=stop"))[0] == 202
        await host.settle()
        assert (await _status(http, host, instance_id))["runtimeStatus"] == "Pending"
        assert (await call(http, "DELETE", url))[:2] == (200, {"instancesDeleted": 1})
        assert (await call(http, "GET", url))[0] == 404


async def test_fail_strategy_fails_a_newer_instance_without_running_it(
    tmp_path: Path, store_options: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    app = app_with_settings(
        VERSIONING_APP, tmp_path / "app", {"defaultVersion": "1.0", "versionFailureStrategy": "Fail"}
    )
    async with DurableHost(app, **store_options) as host:
        instance_id = await _start(http, host, "?version=1.5")
        status = await host.wait(instance_id)
        history = (await host.status(instance_id, history=True)).history
    assert (status.runtime_status, status.output) == ("Failed", MISMATCH)
    assert [e["EventType"] for e in history or []] == ["ExecutionStarted", "ExecutionCompleted"]
    assert history[-1]["FailureDetails"]["ErrorType"] == "VersionMismatch"


async def test_strict_matching_fails_a_sub_orchestration_of_another_version(
    tmp_path: Path, store_options: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    """Strict accepts only the host's own version: the sample's explicit 0.9 child fails
    with VersionMismatch, and its parent sees the failure DTFx sends (no reason, no
    details, which SDK 1.7 reports as "None \\n None")."""
    app = app_with_settings(
        VERSIONING_APP,
        tmp_path / "app",
        {"defaultVersion": "1.0", "versionMatchStrategy": "strict", "versionFailureStrategy": "fail"},
    )
    async with DurableHost(app, **store_options) as host:
        instance_id = await _start(http, host)
        await host.settle()
        await _continue(http, host, instance_id)
        status = await host.wait(instance_id)
        instances, _ = await host.management.list(InstanceQuery())
    child = next(c for c in instances if c.name == "my_sub_orchestrator")
    assert (child.runtime_status, child.version, child.output) == ("Failed", "0.9", MISMATCH)
    assert status.runtime_status == "Failed"
    assert status.output == "Orchestrator function 'my_orchestrator' failed: None \n None"


async def test_continue_as_new_keeps_the_version(
    tmp_path: Path, azurite: Any, http: aiohttp.ClientSession
) -> None:
    app = app_with_settings(VERSIONING_APP, tmp_path / "app", {"defaultVersion": "1.0"})
    options = {"storage": "azurite", "connection": azurite.connection_string, "hub": f"V{uuid.uuid4().hex[:12]}"}
    async with DurableHost(app, **options) as host:
        status, body, _ = await call(http, "POST", f"{host.base_url}/api/orchestrators/continues_once")
        instance_id = body["id"]
        await host.settle()
    write_durable_settings(app, {"defaultVersion": "2.0"})
    async with DurableHost(app, **options) as host:
        await _continue(http, host, instance_id)
        assert (await host.wait(instance_id)).output == "1.0"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"versionMatchStrategy": "Newest"}, "'versionMatchStrategy' must be one of None, Strict, CurrentOrOlder"),
        ({"versionFailureStrategy": "Retry"}, "'versionFailureStrategy' must be one of Reject, Fail"),
        ({"defaultVersion": 2}, "'defaultVersion' must be a string"),
    ],
)
def test_bad_versioning_settings_stop_the_host_with_a_clear_error(
    tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    app = app_with_settings(VERSIONING_APP, tmp_path / "app", settings)
    with pytest.raises(StartupError, match=message):
        DurableHost(app)
