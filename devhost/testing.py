"""Test Durable Functions apps for real: the host in-process, time under the test's control.

    from datetime import timedelta
    from devhost.testing import DurableHost

    async def test_approval_escalates(durable_host: DurableHost) -> None:
        iid = await durable_host.start("approval_workflow", {"request_id": "r-1"})
        await durable_host.advance(timedelta(hours=72))   # fires due timers, settles
        await durable_host.raise_event(iid, "ApprovalEvent", {"approved": True, "approver": "lead"})
        status = await durable_host.wait(iid)
        assert status.output == {"decision": "approved", "by": "lead", "escalated": True}

`DurableHost` starts the app's host on a free loopback port (memory store and virtual
clock unless told otherwise), so plain HTTP against `base_url` works too. The pytest
plugin (`devhost.pytest_plugin`) gives one per test as the `durable_host` fixture; this
module imports no test framework, so any runner (or a script) can use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .clock import Advanced, Fired
from .config import load_config
from .connections import StorageConnection
from .engine.dispatcher import Engine
from .engine.management import Management
from .engine.statuses import InstanceStatus
from .errors import HostStopped
from .function_keys import HostKeys
from .host import Host
from .protocol import EventType
from .protocol.client import client_encoded
from .stores.base import InstanceRecord

__all__ = ["Advanced", "DurableHost", "Fired"]


# What local.settings.json files say for Azurite on its default ports; the storage SDKs
# read it as the emulator's account (azure-data-tables `_base_client.py`).
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


class DurableHost:
    """An in-process host for one app; use as `async with DurableHost(app_dir) as host:`.

    `storage="azurite"` takes `connection`, else the app's storage setting
    (AzureWebJobsStorage, from the environment or local.settings.json: a connection string
    or its identity-based form, `AzureWebJobsStorage__accountName`...), else Azurite's
    development account: a test suite needs no settings to run on a local Azurite.
    `enforce_keys=True` requires keys on HTTP calls as `devhost start --enforce-keys` does;
    `keys` holds them, kept where that command keeps them (`FUNCTIONS_SECRETS_PATH`
    names another folder, as a test suite should)."""

    def __init__(
        self,
        app_dir: str | Path = ".",
        *,
        storage: str = "memory",
        connection: str | None = None,
        hub: str | None = None,
        virtual_clock: bool = True,
        enforce_keys: bool = False,
    ) -> None:
        self._config = load_config(
            Path(app_dir),
            host="127.0.0.1",
            port=0,
            storage=storage,
            connection=connection,
            hub=hub,
            virtual_clock=virtual_clock,
            enforce_keys=enforce_keys,
        )
        if storage == "azurite" and not self._config.connection:
            self._config = replace(self._config, connection=StorageConnection.of_string(DEVELOPMENT_STORAGE))
        self._host = Host(self._config)

    async def __aenter__(self) -> DurableHost:
        await self._host.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        engine = self._host.engine
        ended = engine.ended if engine is not None else None
        await self._host.stop()
        if ended is not None and ended.done() and exc_info[0] is None:
            # A defect in the host must not pass unnoticed in a test that never waited.
            raise HostStopped(f"devhost stopped: {ended.result()}")

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: the app's routes are under `/api`."""
        return self._host.base_url

    @property
    def keys(self) -> HostKeys:
        """The app's keys (`master`, `function_key(name)`, `durable_key`, ...), read or
        created at start; only with `enforce_keys=True`."""
        assert self._host.keys is not None, "keys are enforced only with DurableHost(..., enforce_keys=True)"
        return self._host.keys

    @property
    def hub(self) -> str:
        """The task hub's name (what Azure Storage's tables and queues are named for)."""
        return self._config.hub

    @property
    def app_module(self) -> Any:
        """The imported `function_app` module, for tests that steer the app."""
        assert self._host.index is not None, "the host is not running"
        return self._host.index.module

    @property
    def now(self) -> datetime:
        return self._engine.clock.now()

    @property
    def management(self) -> Management:
        """Every management operation (terminate, suspend, purge, ...) for advanced tests."""
        assert self._host.management is not None, "the host is not running"
        return self._host.management

    @property
    def _engine(self) -> Engine:
        assert self._host.engine is not None, "the host is not running"
        return self._host.engine

    # Values reach user code exactly as given: starts and signals are encoded the way the
    # SDK client encodes them (the only way a plain string input survives `get_input()`),
    # events the way the HTTP API does (so a dict arrives as a dict, not as JSON text).

    async def start(self, name: str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Starts an orchestration as `client.start_new(name, instance_id, input)` would."""
        return await self.management.start(name, instance_id=instance_id, input_json=client_encoded(input))

    async def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        await self.management.raise_event(instance_id, name, json.dumps(data))

    async def signal_entity(self, name: str, key: str, operation: str, input: Any = None) -> None:
        await self.management.signal_entity(name, key, operation, client_encoded(input))

    async def read_entity(self, name: str, key: str) -> Any:
        """The entity's state after queued work settled; NotFound (a LookupError) if it
        does not exist."""
        await self.settle()
        return (await self.management.entity(name, key)).state

    async def settle(self) -> None:
        """Returns once no work is queued or running (timers not yet due aside)."""
        await self._engine.settle()

    async def advance(self, by: timedelta | float) -> Advanced:
        """Moves the virtual clock; every timer and schedule due on the way fires, in
        order, and the call returns once the work they cause has settled, with the
        moment reached and what fired (`fired`: kind, when, what)."""
        delta = by if isinstance(by, timedelta) else timedelta(seconds=by)
        return await self._engine.advance(delta)

    async def status(self, instance_id: str, *, history: bool = False) -> InstanceStatus:
        return await self.management.status(instance_id, show_history=history, show_history_output=history)

    async def wait(self, instance_id: str, *, timeout: float = 30.0) -> InstanceStatus:
        """Waits until the instance completes, fails or is terminated."""
        if not await self.management.wait_until_done(instance_id, timeout):
            raise AssertionError(await self._describe_wait(instance_id, timeout))
        return await self.status(instance_id)

    async def wait_until(
        self, instance_id: str, condition: Callable[[InstanceStatus], bool], *, timeout: float = 30.0
    ) -> InstanceStatus:
        """Waits until the instance's status satisfies `condition` (say, a custom status
        an orchestrator sets while it waits for an event), re-checked after each commit."""

        def holds(record: InstanceRecord | None) -> bool:
            return record is not None and condition(InstanceStatus.of(record))

        try:
            await self._engine.wait_for(instance_id, holds, timeout)
        except TimeoutError:
            record = await self._engine.store.get_record(instance_id)
            state = (
                "does not exist"
                if record is None
                else f"is {record.status.api_name} with custom status {record.custom_status!r}"
            )
            raise AssertionError(
                f"Instance '{instance_id}' did not reach the awaited state within {timeout}s; it {state}."
            ) from None
        return await self.status(instance_id)

    async def _describe_wait(self, instance_id: str, timeout: float) -> str:
        record = await self._engine.store.get_record(instance_id)
        if record is None:
            return f"Instance '{instance_id}' does not exist."
        history = await self._engine.store.get_history(instance_id)
        fired = {e.get("TimerId") for e in history if e["EventType"] == EventType.TIMER_FIRED}
        timers = [
            e["FireAt"] for e in history if e["EventType"] == EventType.TIMER_CREATED and e["EventId"] not in fired
        ]
        hint = (
            f" It waits for timers due at {', '.join(timers)} (clock is at {self.now.isoformat()}): advance the clock."
            if timers
            else " It may be waiting for an external event."
        )
        return f"Instance '{instance_id}' is still {record.status.api_name} after {timeout}s.{hint}"
