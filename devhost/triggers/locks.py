"""Listeners that only one host of several runs: a blob lease as the lock.

WebJobs runs a listener marked `[Singleton(Mode = SingletonMode.Listener)]` (the timer's)
only on the host holding a lease on `azure-webjobs-hosts/locks/{hostId}/{lockId}`, where
the lock id is the function's full name plus `.Listener` (`SingletonListener`,
`SingletonManager.FormatLockId`, `BlobLeaseDistributedLockManager`). The holder renews the
lease halfway through its period (host.json `singleton.listenerLockPeriod`, 60 s), sooner
after a failed renewal; the others try again every
`singleton.listenerLockRecoveryPollingInterval` (60 s) and take over once the holder
released the lease (a stop) or it lapsed (a host that died).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob.aio import BlobLeaseClient

from ..errors import StartupError
from ..supervision import Supervisor
from .timespans import TICKS_PER_SECOND, format_timespan, parse_timespan

logger = logging.getLogger(__name__)

# The blob lease limits, which `SingletonOptions` enforces for its lock periods.
_MIN_LEASE_S = 15
_MAX_LEASE_S = 60
# `SingletonManager.MinimumLeaseRenewalInterval`: the shortest wait between renewals.
_MIN_RENEWAL_S = 1.0


@dataclass(frozen=True)
class SingletonSettings:
    """host.json `singleton`, the part listener locks use (WebJobs `SingletonOptions`)."""

    listener_lock_period: int = _MAX_LEASE_S
    recovery_interval: float = 60.0

    @classmethod
    def from_host_json(cls, section: Mapping[str, Any]) -> SingletonSettings:
        period = _seconds(section, "listenerLockPeriod", _MAX_LEASE_S)
        if not _MIN_LEASE_S <= period <= _MAX_LEASE_S:
            raise StartupError(
                f"host.json singleton.listenerLockPeriod must be between 00:00:{_MIN_LEASE_S} and "
                f"00:01:00 (what a blob lease can last); it is {format_timespan(round(period * TICKS_PER_SECOND))}."
            )
        recovery = _seconds(section, "listenerLockRecoveryPollingInterval", 60.0)
        if recovery < _MIN_LEASE_S:
            raise StartupError(
                f"host.json singleton.listenerLockRecoveryPollingInterval must be at least "
                f"00:00:{_MIN_LEASE_S}; it is {format_timespan(round(recovery * TICKS_PER_SECOND))}."
            )
        if period != int(period):
            raise StartupError("host.json singleton.listenerLockPeriod must be whole seconds (a blob lease's are).")
        return cls(int(period), recovery)


def _seconds(section: Mapping[str, Any], name: str, default: float) -> float:
    """A TimeSpan setting (keys ignore case, as the host's configuration does)."""
    value = next((value for key, value in section.items() if key.lower() == name.lower()), None)
    if value is None:
        return default
    ticks = parse_timespan(str(value))
    if ticks is None:
        raise StartupError(
            f"Failed to convert configuration value at 'AzureFunctionsJobHost:singleton:{name}' "
            f"to type 'System.TimeSpan' ('{value}')."
        )
    return ticks / TICKS_PER_SECOND


class LockLost(Exception):
    """Raised when a renewal finds the lease gone (taken by another host after it lapsed)."""


class ListenerLock:
    """One listener's lock: `start` takes it if free and then starts the listener
    (`started`), else keeps trying in the background; a lost lease stops the listener
    (`stopped`) until the lock is taken again. The WebJobs host restarts itself on a lost
    lease instead; devhost keeps running and goes back to trying."""

    def __init__(
        self,
        container: Any,
        function: str,
        lock_id: str,
        settings: SingletonSettings,
        *,
        started: Callable[[], Awaitable[None]],
        stopped: Callable[[], Awaitable[None]],
        transient: tuple[type[BaseException], ...],
    ) -> None:
        self.lock_id = lock_id
        self._function = function
        self._blob = container.get_blob_client(f"locks/{lock_id}")
        self._container = container
        self._settings = settings
        self._started = started
        self._stopped = stopped
        self._transient = transient
        self._unreachable: tuple[type[BaseException], ...] = (*transient, OSError, asyncio.TimeoutError)
        self._lease: BlobLeaseClient | None = None
        self._listening = False
        self._taken = False  # the last try found another host holding the lock
        self._renewal_s = settings.listener_lock_period / 2
        self._last_renewal = datetime.now(UTC)
        self._renewal_ms = 0
        self._loops: Supervisor | None = None

    @property
    def listening(self) -> bool:
        """This host holds the lock and its listener started."""
        return self._listening

    @property
    def _loop_name(self) -> str:
        return f"lock:{self.lock_id}"

    async def start(self, loops: Supervisor) -> None:
        """One try at once (so a virtual clock's first advance already sees the listener
        started), then the background loop: renewals, or more tries. Storage failing at
        the start does not stop the host: as WebJobs `FunctionListener` does, the
        listener is said to be unable to start and is retried in the background."""
        self._loops = loops
        try:
            if await self._try_acquire():
                await self._started()
                self._listening = True
        except self._unreachable as error:
            cause = str(error).strip().splitlines()
            logger.error(
                "The listener for function 'Functions.%s' was unable to start. %s: %s",
                self._function, type(error).__name__, cause[0] if cause else "",
            )  # fmt: skip
        loops.spawn(self._loop_name, self._keep, max_backoff=_MIN_RENEWAL_S, transient=self._transient)

    async def stop(self) -> None:
        """Stops the listener first, then releases the lease, so another host takes over
        at once (`SingletonListener.StopAsync`)."""
        if self._loops is not None:
            self._loops.cancel(self._loop_name)
        if self._listening:
            self._listening = False
            await self._stopped()
        lease, self._lease = self._lease, None
        if lease is None:
            return
        try:
            await lease.release()
        except HttpResponseError as error:
            if error.status_code not in (404, 409):  # gone, or another's lease now: nothing to do
                self._not_released(error)
            return
        except self._unreachable as error:
            self._not_released(error)
            return
        logger.debug("Singleton lock released (%s)", self.lock_id)

    def _not_released(self, error: BaseException) -> None:
        """The stop goes on: the lease lapses by itself."""
        logger.warning(
            "Singleton lock %s was not released (%s); another host takes it once its lease lapses.",
            self.lock_id, type(error).__name__,
        )  # fmt: skip

    async def _keep(self) -> None:
        """Renews the lease while held; else tries for the lock every recovery interval
        (at once after a try that storage failed), and starts the listener once held."""
        while True:
            if self._lease is None:
                if self._taken:
                    await asyncio.sleep(self._settings.recovery_interval)
                if not await self._try_acquire():
                    continue
            if not self._listening:
                await self._started()
                self._listening = True
            await asyncio.sleep(self._renewal_s)
            try:
                await self._renew()
            except LockLost as lost:
                logger.error("%s devhost stops the listener and tries to take the lock again.", lost)
                self._lease = None
                self._listening = False
                await self._stopped()

    async def _try_acquire(self) -> bool:
        """`BlobLeaseDistributedLockManager.TryAcquireLeaseAsync`: the lease is asked for
        only when the blob says it is free (sparing the 409s), the blob made if missing."""
        try:
            # Storage that does not answer fails the try at once rather than after the
            # SDK's retries (seconds): the loop tries again, and the start goes on.
            properties = await self._blob.get_blob_properties(retry_connect=0)
            free = properties.lease.state in ("available", "expired", "broken")
        except ResourceNotFoundError:
            await self._create_blob()
            free = True
        if free:
            lease = BlobLeaseClient(self._blob)
            try:
                await lease.acquire(lease_duration=self._settings.listener_lock_period)
            except HttpResponseError as error:
                if error.status_code != 409:
                    raise
            else:
                self._lease = lease
                self._renewal_s = self._settings.listener_lock_period / 2
                self._last_renewal = datetime.now(UTC)
                self._taken = False
                logger.debug("Singleton lock acquired (%s)", self.lock_id)
                return True
        self._taken = True
        logger.debug("Unable to acquire Singleton lock (%s).", self.lock_id)
        return False

    async def _create_blob(self) -> None:
        """An empty blob to lease; another host making it first is as good."""
        for attempt in range(2):
            try:
                await self._blob.upload_blob(b"", overwrite=False)
                return
            except ResourceExistsError:
                return
            except HttpResponseError as error:
                if error.status_code == 412:  # made and leased by another host meanwhile
                    return
                if error.status_code != 404 or attempt:
                    raise
            with contextlib.suppress(ResourceExistsError):
                await self._container.create_container()

    async def _renew(self) -> None:
        """`SingletonLockHandle.RenewAsync` with `LinearSpeedupStrategy`: a renewal that
        fails on the server's side (or does not get through) is tried again sooner, down
        to a second apart; any other refusal means the lease is lost."""
        assert self._lease is not None
        period = self._settings.listener_lock_period / 2
        began = time.monotonic()
        try:
            await self._lease.renew()
        except HttpResponseError as error:
            if error.status_code is not None and error.status_code < 500:
                raise LockLost(self._lost_line(error)) from None
            logger.warning(
                "Singleton lock renewal failed for blob '%s' with error code %s.", self.lock_id, _code(error)
            )
            self._renewal_s = max(self._renewal_s / 2, _MIN_RENEWAL_S)
            return
        except BaseException:
            self._renewal_s = max(self._renewal_s / 2, _MIN_RENEWAL_S)
            raise
        self._renewal_ms = round((time.monotonic() - began) * 1000)
        self._last_renewal = datetime.now(UTC)
        self._renewal_s = period

    def _lost_line(self, error: HttpResponseError) -> str:
        now = datetime.now(UTC)
        ago = round((now - self._last_renewal).total_seconds() * 1000)
        return (
            f"Singleton lock renewal failed for blob '{self.lock_id}' with error code {_code(error)}. "
            f"The last successful renewal completed at {self._last_renewal:%Y-%m-%dT%H:%M:%S}."
            f"{self._last_renewal.microsecond // 1000:03d}Z ({ago} milliseconds ago) with a duration "
            f"of {self._renewal_ms} milliseconds. The lease period was "
            f"{self._settings.listener_lock_period * 1000} milliseconds."
        )


def _code(error: HttpResponseError) -> str:
    code = getattr(error, "error_code", None)
    return f"{error.status_code}: {code}" if code else str(error.status_code)
