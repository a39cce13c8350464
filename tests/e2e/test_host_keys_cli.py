"""`devhost start --enforce-keys` as a user runs it: keys made once per app folder in the
user's data folder, printed with the URLs, kept across restarts; and what a caller on
another machine needs for the routes this machine's callers reach without a key."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from devhost.azurite import free_port
from tests.support.apps import KEYS_APP
from tests.support.processes import DevhostProcess, call


@pytest.fixture
def user_environ(tmp_path: Path) -> dict[str, str]:
    """A user whose home and data folders are the test's own, on any platform."""
    environ = {key: value for key, value in os.environ.items() if key != "FUNCTIONS_SECRETS_PATH"}
    data = tmp_path / "data"
    environ.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(data), LOCALAPPDATA=str(data))
    return environ


def _app(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(KEYS_APP / "function_app.py", folder / "function_app.py")
    return folder


def _banner(app_dir: Path, environ: dict[str, str], *args: str) -> tuple[list[str], int]:
    port = free_port()
    command = ("--app-dir", str(app_dir), "--port", str(port), "--storage", "memory", "--enforce-keys", *args)
    with DevhostProcess(*command, environ=environ) as host:
        lines = host.started().lines[:]
        with urllib.request.urlopen(_url(lines, "operator: [GET] ")) as response:
            assert response.read() == b"operator"  # the printed URL works as printed
    return lines, port


def _keys_command(app_dir: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "devhost", "keys", "--app-dir", str(app_dir)]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=60, check=False)


def _url(lines: list[str], prefix: str) -> str:
    return next(line.strip().removeprefix(prefix) for line in lines if line.strip().startswith(prefix))


def _keys_folder(lines: list[str]) -> Path:
    found = next(re.search(r"they are kept in (.+):$", line) for line in lines if "they are kept in" in line)
    assert found is not None
    return Path(found.group(1))


def test_keys_are_made_once_per_app_folder_and_printed_with_the_urls(
    tmp_path: Path, user_environ: dict[str, str]
) -> None:
    first = _app(tmp_path, "first")
    before = _keys_command(first, user_environ)
    assert before.returncode == 1
    assert before.stderr.startswith("error: No keys in '") and "`start --enforce-keys` makes them" in before.stderr
    lines, port = _banner(first, user_environ)
    folder = _keys_folder(lines)
    assert folder.parent == tmp_path / "data" / "devhost" / "secrets"  # outside the app, per app
    host_keys = json.loads((folder / "host.json").read_text(encoding="utf-8"))
    master = host_keys["masterKey"]["value"]
    system = {key["name"]: key["value"] for key in host_keys["systemKeys"]}["durabletask_extension"]
    start_key = json.loads((folder / "start.json").read_text(encoding="utf-8"))["keys"][0]["value"]
    origin = f"http://localhost:{port}"
    assert _url(lines, "start: [POST] ") == f"{origin}/api/orchestrators/{{functionName}}?code={start_key}"
    assert _url(lines, "operator: [GET] ") == f"{origin}/api/operator?code={master}"
    assert _url(lines, "hello: [GET] ") == f"{origin}/api/hello"
    assert _url(lines, "Durable HTTP API: ") == f"{origin}/runtime/webhooks/durabletask?code={system}"
    assert f"\tmaster key: {master}" in lines
    if sys.platform != "win32":
        assert stat.S_IMODE((folder / "host.json").stat().st_mode) == 0o600
    printed = json.loads(_keys_command(first, user_environ).stdout)
    assert (printed["folder"], printed["masterKey"]) == (str(folder), master)
    assert printed["systemKeys"] == {"durabletask_extension": system}
    assert printed["functions"]["start"] == {"default": start_key}

    again, _ = _banner(first, user_environ)
    assert _keys_folder(again) == folder
    assert f"\tmaster key: {master}" in again
    assert json.loads((folder / "host.json").read_text(encoding="utf-8")) == host_keys

    other, _ = _banner(_app(tmp_path, "second"), user_environ)
    assert _keys_folder(other) != folder
    assert f"\tmaster key: {master}" not in other


def _address_of_this_machine() -> str:
    """This machine's address on its network (connecting a UDP socket sends nothing; it
    only picks the interface a packet would leave by)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("203.0.113.1", 9))
        return str(probe.getsockname()[0])


def test_callers_on_other_machines_need_keys_for_the_rpc_api_and_the_dashboard(
    tmp_path: Path, user_environ: dict[str, str]
) -> None:
    port = free_port()
    args = ("--app-dir", str(_app(tmp_path, "app")), "--host", "0.0.0.0", "--port", str(port))
    with DevhostProcess(*args, "--storage", "memory", "--enforce-keys", environ=user_environ) as host:
        lines = host.started().lines
        folder = _keys_folder(lines)
        host_keys = json.loads((folder / "host.json").read_text(encoding="utf-8"))
        master, system = host_keys["masterKey"]["value"], host_keys["systemKeys"][0]["value"]
        here, there = f"http://127.0.0.1:{port}", f"http://{_address_of_this_machine()}:{port}"
        assert call("GET", f"{here}/durabletask/instances")[0] == 200
        status, body = call("GET", f"{there}/durabletask/instances")
        assert status == 401
        assert "needs the durabletask_extension system key or the master key" in body["error"]
        assert call("GET", f"{there}/durabletask/instances?code={system}")[0] == 200
        with urllib.request.urlopen(f"{here}/devhost/dashboard/") as page:
            assert page.status == 200
        status, body = call("GET", f"{there}/devhost/dashboard/")
        assert (status, body["error"]) == (401, "/devhost/dashboard/ needs the master key: no key came; "
                                                "pass it as ?code= or in the x-functions-key header.")  # fmt: skip
        with urllib.request.urlopen(f"{there}/devhost/dashboard/?code={master}") as page:
            assert page.status == 200
