"""`python -m devhost start` as a user runs it: a real process, its console, its exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from devhost.azurite import free_port

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_APP = ROOT / "tests" / "apps" / "protocol_app"
_STARTUP_TIMEOUT_S = 30.0


def _devhost(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devhost", "start", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    """Console lines up to and including the first one containing `marker`."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"'{marker}' never printed; output was:\n" + "\n".join(lines))


@pytest.fixture
def running_host() -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    port = free_port()
    process = _devhost("--app-dir", str(PROTOCOL_APP), "--port", str(port))
    try:
        lines = _read_until(process, "Press Ctrl+C to stop.")
        yield process, port, lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_start_prints_host_started_then_every_http_url(
    running_host: tuple[subprocess.Popen[str], int, list[str]]
) -> None:
    _, port, lines = running_host
    started = next(i for i, line in enumerate(lines) if "Host started" in line)
    url_lines = [line for line in lines[started:] if f"http://localhost:{port}/api/" in line]
    assert any(line.strip().startswith("echo_request: [GET,POST]") for line in url_lines)
    assert any(line.strip().endswith(f"/api/echo/{{id:int}}/{{name?}}") for line in url_lines)
    assert any("sequence: orchestrationTrigger" in line for line in lines)


def test_executions_are_logged_and_sigterm_stops_cleanly(
    running_host: tuple[subprocess.Popen[str], int, list[str]]
) -> None:
    process, port, _ = running_host
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/async-text") as response:
        assert response.read() == b"invocation async_text"
    executed = _read_until(process, "Executed 'Functions.async_text' (Succeeded")
    assert any("Executing 'Functions.async_text' (Reason=" in line for line in executed)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0


def test_failing_activity_prints_the_users_traceback(
    running_host: tuple[subprocess.Popen[str], int, list[str]]
) -> None:
    process, port, _ = running_host
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/runtime/webhooks/durabletask/orchestrators/fails_in_activity",
        method="POST",
    )
    urllib.request.urlopen(request).close()
    lines = _read_until(process, "ValueError: activity exploded")
    assert any("Executed 'Functions.boom' (Failed" in line for line in lines)
    assert any("Traceback (most recent call last)" in line for line in lines)


def _fails_to_start(*args: str) -> tuple[int, str]:
    process = _devhost(*args)
    output, _ = process.communicate(timeout=_STARTUP_TIMEOUT_S)
    return process.returncode, output


def test_missing_app_dir_is_one_line_and_exit_1(tmp_path: Path) -> None:
    code, output = _fails_to_start("--app-dir", str(tmp_path / "nowhere"), "--port", str(free_port()))
    assert code == 1
    assert output.strip().splitlines() == [f"error: App directory '{tmp_path / 'nowhere'}' does not exist."]


def test_app_that_fails_to_import_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import azure.functions\nraise RuntimeError('bad config')\n")
    code, output = _fails_to_start("--app-dir", str(tmp_path), "--port", str(free_port()))
    assert code == 1
    assert output.startswith(f"error: Importing '{tmp_path / 'function_app.py'}' failed: RuntimeError: bad config")
    assert "Traceback (most recent call last)" in output


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _fails_to_start("--app-dir", str(PROTOCOL_APP), "--port", str(port))
    assert code == 1
    assert output.strip() == f"error: Cannot listen on 127.0.0.1:{port}: Address already in use."
