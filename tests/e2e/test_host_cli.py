"""`python -m devhost start` as a user runs it: a real process, its console, its exit."""

from __future__ import annotations

import signal
import socket
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from devhost.azurite import ACCOUNT_KEY, free_port
from tests.support.apps import PROTOCOL_APP, STUCK_APP
from tests.support.processes import DevhostProcess, call


@pytest.fixture
def running_host() -> Iterator[tuple[DevhostProcess, int]]:
    port = free_port()
    with DevhostProcess("--app-dir", str(PROTOCOL_APP), "--port", str(port), "--storage", "memory") as host:
        host.started()
        yield host, port


def test_start_prints_host_started_then_every_http_url(running_host: tuple[DevhostProcess, int]) -> None:
    host, port = running_host
    lines = host.lines
    started = next(i for i, line in enumerate(lines) if "Host started" in line)
    url_lines = [line for line in lines[started:] if f"http://localhost:{port}/api/" in line]
    assert any(line.strip().startswith("echo_request: [GET,POST]") for line in url_lines)
    assert any(line.strip().endswith("/api/echo/{id:int}/{name?}") for line in url_lines)
    assert any("sequence: orchestrationTrigger" in line for line in lines)


def test_executions_are_logged_and_sigterm_stops_cleanly(running_host: tuple[DevhostProcess, int]) -> None:
    host, port = running_host
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/async-text") as response:
        assert response.read() == b"invocation async_text"
    executed = host.read_until("Executed 'Functions.async_text' (Succeeded")
    assert any("Executing 'Functions.async_text' (Reason=" in line for line in executed)
    host.process.send_signal(signal.SIGTERM)
    assert host.process.wait(timeout=15) == 0


def test_failing_activity_prints_the_users_traceback(running_host: tuple[DevhostProcess, int]) -> None:
    host, port = running_host
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/runtime/webhooks/durabletask/orchestrators/fails_in_activity",
        method="POST",
    )
    urllib.request.urlopen(request).close()
    lines = host.read_until("Stack:")
    assert any("Executed 'Functions.boom' (Failed" in line for line in lines)
    assert any("Exception while executing function: Functions.boom. Result: Failure" in line for line in lines)
    assert any(line == "Exception: ValueError: activity exploded" for line in lines)


def _fails_to_start(*args: str) -> tuple[int, str]:
    with DevhostProcess(*args) as host:
        return host.finished(timeout=60)


def test_missing_app_dir_is_one_line_and_exit_1(tmp_path: Path) -> None:
    code, output = _fails_to_start("--app-dir", str(tmp_path / "nowhere"))
    assert code == 1
    assert output.strip().splitlines() == [f"error: App directory '{tmp_path / 'nowhere'}' does not exist."]


def test_app_that_fails_to_import_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import azure.functions\nraise RuntimeError('bad config')\n")
    code, output = _fails_to_start("--app-dir", str(tmp_path), "--storage", "memory")
    assert code == 1
    assert output.startswith(f"error: Importing '{tmp_path / 'function_app.py'}' failed: RuntimeError: bad config")
    assert "Traceback (most recent call last)" in output


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _fails_to_start("--app-dir", str(PROTOCOL_APP), "--port", str(port), "--storage", "memory")
    assert code == 1
    assert output.strip() == f"error: Cannot listen on 127.0.0.1:{port}: Address already in use."


def test_unreachable_storage_says_to_start_azurite() -> None:
    endpoint = "http://127.0.0.1:1/devstoreaccount1"
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint={endpoint};QueueEndpoint={endpoint};TableEndpoint={endpoint};"
    )
    code, output = _fails_to_start("--app-dir", str(PROTOCOL_APP), "--port", str(free_port()), "--connection", connection)
    assert code == 1
    [line] = output.strip().splitlines()
    assert line.startswith(f"error: Cannot reach Azure Storage at {endpoint}") and "make azurite" in line


def test_malformed_connection_string_is_one_line() -> None:
    code, output = _fails_to_start("--app-dir", str(PROTOCOL_APP), "--port", str(free_port()), "--connection", "nonsense")
    assert code == 1
    assert output.strip().splitlines() == [
        "error: The storage connection string is not valid: Connection string is either blank or malformed."
    ]


def test_hub_name_storage_would_reject_is_one_line() -> None:
    code, output = _fails_to_start(
        "--app-dir", str(PROTOCOL_APP), "--port", str(free_port()),
        "--connection", "UseDevelopmentStorage=true", "--hub", "my-hub!",
    )  # fmt: skip
    assert code == 1
    [line] = output.strip().splitlines()
    assert line.startswith("error: Task hub name 'my-hub!' is not valid for Azure Storage")


def test_ctrl_c_returns_with_user_code_stuck_and_says_what_it_abandoned() -> None:
    port = free_port()
    with DevhostProcess("--app-dir", str(STUCK_APP), "--port", str(port), "--storage", "memory") as host:
        host.started()
        url = f"http://127.0.0.1:{port}/runtime/webhooks/durabletask/orchestrators/waits_on_a_hung_activity"
        assert call("POST", url)[0] == 202
        host.read_until("Executing 'Functions.hangs'")
        host.process.send_signal(signal.SIGINT)
        code, output = host.finished(timeout=30)
    assert code == 0
    assert "Abandoned, still running user code: activity hangs." in output
