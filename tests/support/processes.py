"""devhost as a real process, as a user runs it: for CLI, crash and multi-host tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0


# Notified whenever any host process prints a line or closes its console: what the
# waits below wake on, instead of polling against the clock.
_PRINTED = threading.Condition()


class DevhostProcess:
    """`python -m devhost start ...` with its console read as it is printed (by a thread,
    so a chatty host never blocks on a full pipe); `command`, `cwd` and `environ` run
    another installation of devhost (say, the `devhost` command of a fresh environment)."""

    def __init__(
        self,
        *args: str,
        command: Sequence[str] = (sys.executable, "-m", "devhost"),
        cwd: Path = ROOT,
        environ: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.args = args
        self.process = subprocess.Popen(
            [*command, "start", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**(os.environ if environ is None else environ), "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.closed = False
        self._read = 0
        threading.Thread(target=self._drain, name="devhost-console", daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with _PRINTED:
                self.lines.append(line.rstrip("\n"))
                _PRINTED.notify_all()
        with _PRINTED:
            self.closed = True
            _PRINTED.notify_all()

    def read_until(self, marker: str, timeout: float = STARTUP_TIMEOUT_S) -> list[str]:
        """Console lines since the last read, up to and including the first containing `marker`."""
        first = self._read
        _, found = wait_printed([self], marker, timeout=timeout, since=first)
        self._read = found + 1
        return self.lines[first : found + 1]

    def started(self) -> "DevhostProcess":
        """Once the banner is printed; a host that never gets there is not left running."""
        try:
            self.read_until("Press Ctrl+C to stop.")
        except BaseException:
            self.stop()
            raise
        return self

    def finished(self, timeout: float = STARTUP_TIMEOUT_S) -> tuple[int, str]:
        """The exit code and the whole console, once the process has ended."""
        code = self.process.wait(timeout=timeout)
        with _PRINTED:
            if not _PRINTED.wait_for(lambda: self.closed, timeout=timeout):
                raise AssertionError("The host exited but its console stayed open.")
        return code, "".join(line + "\n" for line in self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "DevhostProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def wait_printed(
    hosts: Sequence[DevhostProcess], marker: str, *, timeout: float, since: int = 0
) -> tuple[DevhostProcess, int]:
    """Waits until one of `hosts` prints a line containing `marker` (from line `since`
    on) and returns that host and the line's index. Wakes on each printed line only; fails
    with the consoles when the deadline passes or every host has exited."""

    scanned = [since] * len(hosts)

    def found() -> Optional[tuple[DevhostProcess, int]]:
        for n, host in enumerate(hosts):
            for index in range(scanned[n], len(host.lines)):
                if marker in host.lines[index]:
                    return host, index
            scanned[n] = len(host.lines)
        return None

    deadline = time.monotonic() + timeout
    with _PRINTED:
        while True:
            match = found()
            if match is not None:
                return match
            remaining = deadline - time.monotonic()
            if all(host.closed for host in hosts) or remaining <= 0:
                break
            _PRINTED.wait(remaining)
    consoles = "\n".join("\n".join(host.lines) for host in hosts)
    raise AssertionError(f"'{marker}' never printed within {timeout}s; output was:\n{consoles}")


def wait_until(ready: Callable[[], bool], timeout: float) -> bool:
    """Waits until `ready()` holds, checking it again each time any host prints a line
    or closes its console; False when the deadline passes first."""
    with _PRINTED:
        return _PRINTED.wait_for(ready, timeout)


def call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """A JSON request; the status and the parsed body (None when empty)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text) if text else None
