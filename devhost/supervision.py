"""One owner for the host's background loops: queue pollers, workers, renewals, leases,
timers.

A loop that fails on storage (the store's `unavailable_errors`, a timeout, an `OSError`)
is restarted after a pause that doubles up to `MAX_BACKOFF_S`; each distinct failure is
logged as one line (then again only after `_HEALTHY_S` without it), the rest at debug
level, so an outage that every loop runs into does not flood the console. A loop that
ends any other way (it returned, or raised anything else: a devhost defect) must not
leave the host half alive: `ended` is resolved with one line saying which loop and why,
and whoever runs the host stops it (the CLI exits 1, the test harness raises).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 10.0
# A loop that ran this long since its last failure pauses from FIRST_BACKOFF_S again; a
# failure not seen for this long is logged again.
_HEALTHY_S = 30.0

Loop = Callable[[], Awaitable[None]]


class Supervisor:
    """Runs named loops until `stop`; see the module docstring."""

    def __init__(self, transient: tuple[type[BaseException], ...]) -> None:
        self._transient: tuple[type[BaseException], ...] = (*transient, asyncio.TimeoutError, OSError)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._all: set[asyncio.Task[None]] = set()  # including those cancelled, until done
        self._ended: asyncio.Future[str] | None = None
        self._logged: dict[str, float] = {}  # failure description: when last seen

    @property
    def ended(self) -> asyncio.Future[str]:
        """Resolved with one line when a loop ended for good."""
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        return self._ended

    def spawn(
        self,
        name: str,
        loop: Loop,
        *,
        max_backoff: float = MAX_BACKOFF_S,
        transient: tuple[type[BaseException], ...] = (),
    ) -> None:
        """Runs `loop` (a coroutine function that never returns) under supervision; a
        loop that must come round within a deadline (renewals) pauses `max_backoff` at
        most; `transient` adds the storage errors of a loop on other storage than the
        store's (trigger listeners)."""
        running = self._tasks.get(name)
        if running is not None and not running.done():
            raise RuntimeError(f"a background loop named '{name}' already runs")
        task = asyncio.get_running_loop().create_task(
            self._supervise(name, loop, max_backoff, (*self._transient, *transient)), name=name
        )
        self._tasks[name] = task
        self._all.add(task)
        task.add_done_callback(self._all.discard)

    def cancel(self, name: str) -> None:
        """Stops one loop on purpose (a partition this host no longer owns); `stop`
        still waits for it to finish."""
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        self._tasks.clear()
        tasks = list(self._all)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(
        self, name: str, loop: Loop, max_backoff: float, transient: tuple[type[BaseException], ...]
    ) -> None:
        clock = asyncio.get_running_loop().time
        backoff = FIRST_BACKOFF_S
        last_failure: float | None = None
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except transient as error:
                now = clock()
                if last_failure is None or now - last_failure > _HEALTHY_S:
                    backoff = FIRST_BACKOFF_S
                last_failure = now
                self._log(name, _describe(error), now)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            except BaseException as error:  # a defect: say so and stop the host
                logger.exception("Background loop %s failed", name)
                self._end(f"background loop '{name}' failed: {_describe(error)}")
                return
            self._end(f"background loop '{name}' ended unexpectedly")
            return

    def _log(self, name: str, failure: str, now: float) -> None:
        seen = self._logged.get(failure)
        if len(self._logged) > 100:  # failures long gone would be logged afresh anyway
            self._logged = {text: at for text, at in self._logged.items() if now - at <= _HEALTHY_S}
        self._logged[failure] = now
        if seen is None or now - seen > _HEALTHY_S:
            logger.warning("Storage failed (%s); retrying with backoff.", failure)
        else:
            logger.debug("%s: storage failed again (%s).", name, failure)

    def _end(self, line: str) -> None:
        if not self.ended.done():
            self.ended.set_result(line)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
