"""The signals that stop devhost's commands, on POSIX and on Windows alike.

Ctrl+C (SIGINT) and SIGTERM everywhere, and Ctrl+Break (SIGBREAK) where Windows has it:
a parent process there can send a child in a process group of its own only Ctrl+Break
(`CTRL_BREAK_EVENT`), and a terminal's Ctrl+C reaches every process on its console.
SIGTERM from outside does not exist on Windows (`Popen.terminate` is TerminateProcess,
which nothing can catch); handling it costs nothing there.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the launcher in devhost/azurite.py reads STOP_SIGNALS without asyncio
    import asyncio

STOP_SIGNALS: tuple[int, ...] = tuple(
    signum for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)) if signum is not None
)


def on_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> Callable[[], None]:
    """Calls `stop` on `loop` at a stop signal; returns what puts the previous handling
    back. The loop watches the signals where it can (`add_signal_handler`, POSIX only);
    Windows' event loops raise NotImplementedError, so a Python signal handler hands the
    signal to the loop instead (it runs in the main thread, which the Proactor loop
    wakes for: asyncio's `windows_events.py` sets `signal.set_wakeup_fd`)."""
    watched: list[int] = []
    replaced: dict[int, Any] = {}

    def hand_over(_signum: int, _frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(stop)

    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, stop)
            watched.append(signum)
        except NotImplementedError:
            replaced[signum] = signal.signal(signum, hand_over)

    def undo() -> None:
        for signum in watched:
            loop.remove_signal_handler(signum)
        for signum, previous in replaced.items():
            signal.signal(signum, previous)

    return undo
