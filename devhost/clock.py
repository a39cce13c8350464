"""The host's notion of now: the system clock, or a virtual one that moves only when told.

Everything that timestamps (episodes, timers, status times) reads the clock through
this interface, so a test can skip a 72-hour timeout by moving the virtual clock. What
a move fired on its way (`Advanced`) is told to every caller alike: the test API, the
HTTP route and the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

__all__ = ["Advanced", "Fired"]


class Clock(Protocol):
    @property
    def is_virtual(self) -> bool: ...

    def now(self) -> datetime: ...


class SystemClock:
    is_virtual = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """Starts at the real time (or `start`) and moves only forward, through `set`."""

    is_virtual = True

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment


@dataclass(frozen=True)
class Fired:
    """One thing a virtual clock fired on its way: a durable timer (`what` is its
    instance's id, `when` the timer's fire time) or a timer trigger's schedule (`what` is
    the function's name, `when` the occurrence it ran)."""

    kind: Literal["timer", "schedule"]
    when: datetime
    what: str


@dataclass(frozen=True)
class Advanced:
    """What moving a virtual clock did: the moment it reached, and what fired, in order."""

    now: datetime
    fired: tuple[Fired, ...] = ()
