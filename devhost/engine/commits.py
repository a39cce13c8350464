"""Who waits for an instance's next commit: `Engine.wait_for`'s wake-ups, per instance.

A waiter is woken by its own instance's commits only, and handed the record the commit
wrote, so it reads storage only to begin with and on a recheck. Waking every waiter on every
commit made each commit cost one status read per waiter: with thousands of instances
awaited at once (a test harness's `wait`, the HTTP API's `waitForCompletion`), reads grew
with the square of the backlog and Azurite spent its time answering them.

Only the host that leases an instance's partition commits it, so where the store says
this host commits the instance, a commit signal is all a waiter needs, and it re-reads
storage only rarely (`_LOCAL_RECHECK_S`, in case the partition moved to another host:
3,000 waiters re-reading every few seconds were most of what a backlog cost Azurite);
elsewhere it re-reads twice a second (`_REMOTE_RECHECK_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")
_UNKNOWN: Any = object()  # a change whose outcome must be read from storage


class _Commit:
    """The next change of one instance, and what it changed it to if known."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._value: Any = _UNKNOWN

    def happened(self, value: Any) -> None:
        self._value = value
        self._event.set()

    async def wait(self) -> Any:
        await self._event.wait()
        return self._value


_LOCAL_RECHECK_S = 60.0
_REMOTE_RECHECK_S = 0.5


class CommitSignals:
    def __init__(self) -> None:
        self._events: dict[str, tuple[_Commit, int]] = {}  # instance: (next commit, waiters)

    def committed(self, instance_id: str, record: Any = None) -> None:
        """The instance changed: to `record` if given, else to whatever storage says."""
        entry = self._events.pop(instance_id, None)
        if entry is not None:
            entry[0].happened(_UNKNOWN if record is None else record)

    async def wait(
        self,
        instance_id: str,
        read: Callable[[], Awaitable[T]],
        done: Callable[[T], bool],
        *,
        timeout: float,
        local: bool,
    ) -> T:
        """Reads until `done` holds, after each of the instance's commits (or a recheck);
        raises TimeoutError past `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        recheck = _LOCAL_RECHECK_S if local else _REMOTE_RECHECK_S
        value: Any = _UNKNOWN
        while True:
            signal = self._enter(instance_id)
            try:
                if value is _UNKNOWN:
                    value = await read()
                if done(value):
                    return cast(T, value)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(instance_id)
                value = _UNKNOWN
                with contextlib.suppress(TimeoutError):
                    value = await asyncio.wait_for(signal.wait(), timeout=min(remaining, recheck))
            finally:
                self._leave(instance_id, signal)

    def _enter(self, instance_id: str) -> _Commit:
        event, waiters = self._events.get(instance_id) or (_Commit(), 0)
        self._events[instance_id] = (event, waiters + 1)
        return event

    def _leave(self, instance_id: str, event: _Commit) -> None:
        """The last waiter of a signal not yet given takes it away: nothing is kept for
        instances nobody waits for."""
        entry = self._events.get(instance_id)
        if entry is None or entry[0] is not event:
            return
        if entry[1] <= 1:
            del self._events[instance_id]
        else:
            self._events[instance_id] = (event, entry[1] - 1)
