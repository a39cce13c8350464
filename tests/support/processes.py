"""devhost as a real process, as a user runs it: for CLI, crash and multi-host tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0
T = TypeVar("T")


class DevhostProcess:
    """`python -m devhost start ...` with its console readable line by line."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "start", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []

    def read_until(self, marker: str, timeout: float = STARTUP_TIMEOUT_S) -> list[str]:
        """Console lines up to and including the first one containing `marker`."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        start = len(self.lines)
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if marker in line:
                return self.lines[start:]
        raise AssertionError(f"'{marker}' never printed; output was:\n" + "\n".join(self.lines))

    def started(self) -> "DevhostProcess":
        self.read_until("Press Ctrl+C to stop.")
        return self

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "DevhostProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


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


def eventually(check: Callable[[], Optional[T]], *, timeout: float, what: str) -> T:
    """Polls `check` until it returns a value (not None), against a deadline: for what
    happens in another process, where there is no clock to advance."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}.")
