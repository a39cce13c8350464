"""A start is atomic for the client: a host killed (SIGKILL) in the middle of a start,
with the storage call it was making hung, leaves either an instance that runs after the
restart or nothing, so the same start again succeeds; never a Pending instance for good.

The storage call is held by a real HTTP proxy in front of Azurite's queue or table
endpoint, so the kill lands at a known step of the start, with no timing involved."""

from __future__ import annotations

import asyncio
import signal
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Optional

from devhost.azurite import AzuriteProcess, connection_string, free_port
from tests.support.http_faults import HANG, FaultyHttpProxy, Hang, Request, faulty_proxy
from tests.support.processes import ROOT, DevhostProcess, call, wait_printed

RECOVERY_APP = ROOT / "tests" / "apps" / "recovery_app"
API = "/runtime/webhooks/durabletask"
_QUEUE, _TABLE = 1, 2  # positions in AzuriteProcess.ports


class StartCrash:
    """A host process on a proxied storage account whose chosen call hangs while
    `hanging` is set; `kill_during_start` kills it once the call was reached."""

    def __init__(self, hanging: Callable[[Request], bool]) -> None:
        self.hub = f"Start{uuid.uuid4().hex[:10]}"
        self.port = free_port()
        self.proxied = ""  # the connection string through the proxy, once it listens
        self.hanging = hanging
        self.armed = False

    @asynccontextmanager
    async def through_proxy(self, azurite: AzuriteProcess, service: int) -> AsyncIterator[FaultyHttpProxy]:
        """Storage through a proxy in front of one of Azurite's services (ports order:
        blob, queue, table), the others direct."""
        ports = list(azurite.ports)
        async with faulty_proxy(ports[service], self.fault) as proxy:
            ports[service] = proxy.port
            self.proxied = connection_string("127.0.0.1", (ports[0], ports[1], ports[2]))
            yield proxy

    def fault(self, request: Request) -> Optional[Hang]:
        return HANG if self.armed and self.hanging(request) else None

    def host(self) -> DevhostProcess:
        return DevhostProcess(
            "--app-dir", str(RECOVERY_APP), "--port", str(self.port), "--storage", "azurite",
            "--connection", self.proxied, "--hub", self.hub,
        ).started()  # fmt: skip

    def start_url(self, instance_id: str) -> str:
        return f"http://127.0.0.1:{self.port}{API}/orchestrators/logged_fan_out/{instance_id}"

    async def kill_during_start(self, proxy: FaultyHttpProxy, instance_id: str, spec: dict[str, Any]) -> None:
        with await asyncio.to_thread(self.host) as host:  # killed for good even if a step fails
            self.armed = True
            request = asyncio.create_task(asyncio.to_thread(_call_or_none, "POST", self.start_url(instance_id), spec))
            await asyncio.wait_for(proxy.hung.wait(), 30)  # the start's storage call is held
            host.process.send_signal(signal.SIGKILL)
            assert await asyncio.to_thread(host.process.wait, 30) == -signal.SIGKILL
            await request
        self.armed = False
        proxy.release_hung()


def _call_or_none(method: str, url: str, body: Any) -> Optional[tuple[int, Any]]:
    """The host is killed while answering: no response is an outcome here."""
    try:
        return call(method, url, body)
    except OSError:
        return None


def _spec(tmp_path: Path) -> dict[str, Any]:
    return {"count": 3, "log": str(tmp_path / "runs.log")}


def _completes(host: DevhostProcess, port: int, instance_id: str) -> dict[str, Any]:
    wait_printed([host], f"{instance_id}: Function 'logged_fan_out (Orchestrator)' completed.", timeout=60)
    return call("GET", f"http://127.0.0.1:{port}{API}/instances/{instance_id}")[1]


async def test_killed_while_sending_the_start_message_the_same_start_succeeds_after_restart(
    azurite: AzuriteProcess, tmp_path: Path
) -> None:
    instance_id = f"start-{uuid.uuid4().hex[:8]}"
    crash = StartCrash(lambda r: r.method == "POST" and "-control-" in r.path and "/messages" in r.path)
    async with crash.through_proxy(azurite, _QUEUE) as proxy:
        await crash.kill_during_start(proxy, instance_id, _spec(tmp_path))

        with await asyncio.to_thread(crash.host) as host:
            status, body = await asyncio.to_thread(call, "POST", crash.start_url(instance_id), _spec(tmp_path))
            assert status == 202, body  # not 409 for a Pending instance nobody runs
            finished = await asyncio.to_thread(_completes, host, crash.port, instance_id)
    assert (finished["runtimeStatus"], finished["output"]) == ("Completed", 3)


async def test_killed_while_writing_the_pending_row_the_instance_runs_after_restart(
    azurite: AzuriteProcess, tmp_path: Path
) -> None:
    instance_id = f"start-{uuid.uuid4().hex[:8]}"
    crash = StartCrash(lambda r: "Instances" in r.path and instance_id.encode() in r.body)
    async with crash.through_proxy(azurite, _TABLE) as proxy:
        await crash.kill_during_start(proxy, instance_id, _spec(tmp_path))

        with await asyncio.to_thread(crash.host) as host:
            finished = await asyncio.to_thread(_completes, host, crash.port, instance_id)
    assert (finished["runtimeStatus"], finished["output"]) == ("Completed", 3)
