"""A client that keeps reading a host's durable HTTP API during a run, as a dashboard or
a polling client would, and records how each request ended: what a user sees of a host
while its storage fails or it restarts.

The host promises to answer within its storage-call bound (10 s) even while storage
hangs, with 503 `{"error": "storage unavailable: ..."}` if need be, so a request still
unanswered well past that bound is a hang. Answer times are figures, printed."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import aiohttp

from devhost.http.urls import WEBHOOK_PATH as API
from devhost.stores.base import STORAGE_CALL_TIMEOUT_S
from tests.support.http import call

# Past the host's bound, plus room for a busy 2-core machine: unanswered by then, hung.
GIVE_UP_S = STORAGE_CALL_TIMEOUT_S + 5
# The probe samples the API; it does not wait for anything, so it runs on a cadence.
_CADENCE_S = 0.5


@dataclass
class Sample:
    path: str
    seconds: float
    status: Optional[int]  # None: no answer
    body: Any = None
    error: str = ""


@dataclass
class ApiProbe:
    """GETs one instance's status and the first page of instances, in turn, until
    stopped. `down` counts requests that found no host: refused, or cut off by the host
    dying; only a test that kills the host expects any."""

    http: aiohttp.ClientSession
    base_url: str
    instance_id: str
    samples: list[Sample] = field(default_factory=list)
    down: int = 0
    _task: Optional[asyncio.Task[None]] = None

    async def __aenter__(self) -> "ApiProbe":
        self._task = asyncio.get_running_loop().create_task(self._run(), name="api-probe")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        paths = [f"{API}/instances/{self.instance_id}", f"{API}/instances?top=10"]
        timeout = aiohttp.ClientTimeout(total=GIVE_UP_S)
        for n in range(1_000_000):
            path = paths[n % 2]
            began = time.monotonic()
            try:
                status, body, _ = await call(self.http, "GET", self.base_url + path, timeout=timeout)
                self.samples.append(Sample(path, time.monotonic() - began, status, body))
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):  # refused, or reset
                self.down += 1
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                self.samples.append(Sample(path, time.monotonic() - began, None, error=repr(error)))
            await asyncio.sleep(_CADENCE_S)

    @property
    def unavailable(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 503]

    @property
    def max_seconds(self) -> float:
        return max((s.seconds for s in self.samples), default=0.0)

    def check(self, *, host_killed: bool = False) -> None:
        """Every request answered (none hung), each with a status or a 503 saying storage
        is unavailable; no other error, and no request without a host unless it was
        killed."""
        assert self.samples, "the probe never got an answer"
        assert host_killed or not self.down, f"{self.down} requests found no host"
        unanswered = [s for s in self.samples if s.status is None]
        assert not unanswered, f"requests left unanswered: {unanswered[:5]}"
        odd = [
            s for s in self.samples
            if s.status not in (200, 202, 503)
            or (s.status == 503 and not str((s.body or {}).get("error", "")).startswith("storage unavailable"))
        ]  # fmt: skip
        assert not odd, f"unexpected answers: {odd[:5]}"

    def summary(self) -> str:
        return (
            f"API probe: {len(self.samples)} answers, {len(self.unavailable)} of them 503, "
            f"{self.down} refused (host down), max {self.max_seconds:.2f}s"
        )
