"""What devhost's commands do where a POSIX call is missing (Windows), each fallback run
here with the call taken away: the stop signals, Azurite's process group and the wait
beside it, and the listener's hold on its port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from devhost import azurite
from devhost.host import _listen
from devhost.signals import on_stop_signals


async def test_a_loop_that_cannot_watch_signals_still_hears_a_stop_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()

    def unsupported(*_args: object) -> None:
        raise NotImplementedError  # Windows' event loops (asyncio/events.py)

    monkeypatch.setattr(loop, "add_signal_handler", unsupported)
    before = signal.getsignal(signal.SIGTERM)
    stopped = asyncio.Event()
    restore = on_stop_signals(loop, stopped.set)
    try:
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(stopped.wait(), timeout=10)
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is before


def test_without_signal_pause_the_launcher_waits_until_a_stop_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signal is sent to the main thread once it waits, as Ctrl+C would interrupt it."""
    monkeypatch.delattr(signal, "pause")
    waiting, real_sleep = threading.Event(), time.sleep

    def sleep(seconds: float) -> None:
        waiting.set()
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=lambda: (waiting.wait(), signal.pthread_kill(main, signal.SIGTERM))).start()
    try:
        azurite.wait_for_stop()
    finally:
        signal.signal(signal.SIGTERM, before)
    assert waiting.is_set()


def test_without_setsid_azurite_gets_a_process_group_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    assert azurite.own_process_group() == {"start_new_session": True}
    monkeypatch.delattr(os, "setsid")
    monkeypatch.setattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200, raising=False)  # its value on Windows
    assert azurite.own_process_group() == {"creationflags": 0x200}


def test_a_signal_the_platform_cannot_send_a_child_is_not_forwarded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' `Popen.send_signal` refuses SIGINT (the console gave the child its Ctrl+C)."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:

        def refuse(self: subprocess.Popen[bytes], signum: int) -> None:
            raise ValueError(f"Unsupported signal: {signum}")

        monkeypatch.setattr(subprocess.Popen, "send_signal", refuse)
        azurite.forward(child, signal.SIGINT)
        assert child.poll() is None
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


def test_where_ports_can_be_held_exclusively_the_listener_holds_its_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' SO_EXCLUSIVEADDRUSE does not exist here: another option's number stands
    in for it, to see which option the listener set."""
    with _listen("127.0.0.1", 0) as posix:
        assert posix.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
    monkeypatch.setattr(socket, "SO_EXCLUSIVEADDRUSE", socket.SO_KEEPALIVE, raising=False)
    with _listen("127.0.0.1", 0) as windows:
        assert windows.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        assert windows.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
