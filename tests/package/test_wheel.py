"""devhost as another project gets it: a wheel built from this checkout, installed into a
fresh virtual environment in a temporary folder outside the repository, the `devhost`
command serving a copy of a test app there, and a pytest run in that folder whose only
link to devhost is the installed package (no conftest.py, no -p, no ini file).

Two environments: one with the wheel alone (the memory store works, the Azure Storage
parts say which extra to install), one with `[azure,testing]`. pip's cache is used as
usual; each install prints how long it took (`pytest -s` shows it).
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from devhost.azurite import AzuriteProcess, free_port
from tests.support.apps import PROTOCOL_APP
from tests.support.processes import ROOT, DevhostProcess, call

DIST_INFO = "durable_devhost-0.1.0.dist-info/"
_SCRIPTS = "Scripts" if os.name == "nt" else "bin"
MISSING = (
    "needs the Azure Storage SDKs, and azure.core, azure.data.tables, azure.storage.blob, "
    "azure.storage.queue are not installed: pip install 'durable-devhost[azure]'."
)
# Variables through which a shell could hand pytest or Python a configuration: a user's
# fresh folder has none of them.
_CONFIGURING = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")

# The user's test file: the fixture, nothing else. (`pytest.mark.asyncio` because a
# project without pytest settings runs pytest-asyncio in its strict mode.)
USER_TESTS = '''
from datetime import timedelta

import pytest

from devhost.testing import DurableHost

pytestmark = pytest.mark.asyncio


async def test_sequence_adds_one_three_times(durable_host: DurableHost) -> None:
    iid = await durable_host.start("sequence", 1)
    assert (await durable_host.wait(iid)).output == 4


async def test_a_two_day_timer_fires_when_the_clock_moves_two_days(durable_host: DurableHost) -> None:
    iid = await durable_host.start("sleeper", 48)
    advanced = await durable_host.advance(timedelta(hours=48))
    assert [fired.what for fired in advanced.fired] == [iid]
    assert (await durable_host.wait(iid)).runtime_status == "Completed"
'''

# An app with a storage trigger (the timer's status and lock are blobs).
TIMER_APP = '''
import azure.functions as func

app = func.FunctionApp()


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
def tick(timer: func.TimerRequest) -> None:
    pass
'''


@dataclass(frozen=True)
class Environment:
    """A fresh virtual environment with the wheel installed, and a project folder beside
    it holding a copy of the protocol app."""

    venv: Path
    project: Path

    @property
    def python(self) -> Path:
        return self.venv / _SCRIPTS / "python"

    @property
    def devhost(self) -> Path:
        """The console command."""
        return self.venv / _SCRIPTS / "devhost"

    def host(self, *args: str, app_dir: Optional[Path] = None) -> DevhostProcess:
        """`devhost start --app-dir . ...` in the app's folder (default: the project)."""
        command = [str(self.devhost)]
        return DevhostProcess("--app-dir", ".", *args, command=command, cwd=app_dir or self.project, environ=_user_environ())


def _user_environ() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in _CONFIGURING}


def _run(*command: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    arguments = [str(part) for part in command]
    return subprocess.run(arguments, cwd=cwd, env=_user_environ(), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `pip install <checkout>` builds, through pyproject.toml's build backend."""
    dist = tmp_path_factory.mktemp("dist")
    built = _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", dist, ROOT, cwd=dist)
    assert built.returncode == 0, built.stderr
    (path,) = dist.glob("*.whl")
    return path


def _install(tmp_path_factory: pytest.TempPathFactory, wheel: Path, extras: str) -> Environment:
    folder = tmp_path_factory.mktemp("adopter")
    began = time.monotonic()
    created = _run(sys.executable, "-m", "venv", folder / "venv", cwd=folder)
    assert created.returncode == 0, created.stderr
    made = time.monotonic()
    environment = Environment(folder / "venv", folder / "project")
    installed = _run(environment.python, "-m", "pip", "install", "-q", f"{wheel}{extras}", cwd=folder)
    assert installed.returncode == 0, installed.stderr
    took = time.monotonic() - made
    print(f"\nfresh venv in {made - began:.1f}s; pip install {wheel.name}{extras} in {took:.1f}s")
    shutil.copytree(PROTOCOL_APP, environment.project, ignore=shutil.ignore_patterns("__pycache__"))
    return environment


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Environment:
    return _install(tmp_path_factory, wheel, "")


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Environment:
    return _install(tmp_path_factory, wheel, "[azure,testing]")


def _run_sequence(host: DevhostProcess, port: int) -> None:
    """Starts `sequence` through the app's own route and reads the outcome from the
    statusQueryGetUri it answered with, once the host printed that the instance ended."""
    status, started = call("POST", f"http://127.0.0.1:{port}/api/start/sequence", 1)
    assert status == 202, started
    host.read_until(f"{started['id']}: Function 'sequence (Orchestrator)' completed.")
    status, body = call("GET", started["statusQueryGetUri"])
    assert (status, body["runtimeStatus"], body["output"]) == (200, "Completed", 4)


def _stops_cleanly(host: DevhostProcess) -> None:
    host.process.send_signal(signal.SIGINT)
    code, console = host.finished(timeout=30)
    assert code == 0, console
    assert "Stopping the host..." in console


def test_the_wheel_holds_the_devhost_package_alone_with_its_pages_and_type_hints(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(f"{DIST_INFO}entry_points.txt").decode())
    package = {name for name in names if not name.startswith(DIST_INFO)}
    on_disk = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "devhost").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert package == on_disk  # so nothing of the function app beside it
    assert {
        "devhost/py.typed",
        "devhost/dashboard/templates/base.html",
        "devhost/dashboard/static/dashboard.css",
        "devhost/pytest_plugin.py",
    } <= package
    assert dict(entry_points["console_scripts"]) == {"devhost": "devhost.cli:main"}
    assert dict(entry_points["pytest11"]) == {"devhost": "devhost.pytest_plugin"}


def test_the_devhost_command_is_python_m_devhost(bare: Environment) -> None:
    command = _run(bare.devhost, "start", "--help", cwd=bare.project)
    module = _run(bare.python, "-m", "devhost", "start", "--help", cwd=bare.project)
    assert command.stdout.startswith("usage: devhost start [-h] [--app-dir APP_DIR]"), command
    assert module.stdout.startswith("usage: python -m devhost start [-h]"), module
    assert command.stdout.partition("options:")[2] == module.stdout.partition("options:")[2] != ""


def test_without_extras_devhost_start_serves_an_app_on_the_memory_store(bare: Environment) -> None:
    imported = _run(bare.python, "-c", "import devhost; print(devhost.__file__)", cwd=bare.project)
    assert Path(imported.stdout.strip()).is_relative_to(bare.venv), imported  # not this checkout's
    assert _run(bare.python, "-c", "import azure.storage.blob", cwd=bare.project).returncode != 0
    port = free_port()
    with bare.host("--port", str(port), "--storage", "memory") as host:
        host.started()
        _run_sequence(host, port)
        _stops_cleanly(host)


def test_a_project_with_pytest_but_not_pytest_asyncio_keeps_its_tests_running(bare: Environment, tmp_path: Path) -> None:
    """pytest loads the plugin wherever devhost is installed: without the [testing] extra
    a project's own tests still run, and only the fixture says what it needs."""
    installed = _run(bare.python, "-m", "pip", "install", "-q", "pytest", cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    (tmp_path / "test_plain.py").write_text(
        "def test_plain() -> None:\n    assert True\n\n\n"
        "def test_wants_the_host(durable_host: object) -> None:\n    pass\n",
        encoding="utf-8",
    )
    result = _run(bare.python, "-m", "pytest", "-q", "test_plain.py", cwd=tmp_path)
    assert "1 passed" in result.stdout and "1 error" in result.stdout, result.stdout + result.stderr
    assert "pip install 'durable-devhost[testing]'" in result.stdout


def test_without_extras_the_azure_storage_parts_name_the_extra_to_install(bare: Environment, tmp_path: Path) -> None:
    with bare.host("--port", "0", "--storage", "azurite", "--connection", "UseDevelopmentStorage=true") as host:
        code, console = host.finished()
    assert (code, console) == (1, f"error: The Azure Storage store (--storage azurite) {MISSING}\n")

    (tmp_path / "function_app.py").write_text(TIMER_APP, encoding="utf-8")
    with bare.host("--port", "0", "--storage", "memory", app_dir=tmp_path) as host:
        code, console = host.finished()
    # Before it, the SDK's own line about auth levels on a FunctionApp without HTTP functions.
    assert (code, console.splitlines()[-1]) == (1, f"error: Function 'tick' (timerTrigger) {MISSING}")


def test_with_the_azure_extra_devhost_start_keeps_the_app_in_azure_storage(
    full: Environment, azurite: AzuriteProcess
) -> None:
    port = free_port()
    hub = f"Wheel{uuid.uuid4().hex[:12]}"
    storage = ("--storage", "azurite", "--connection", azurite.connection_string, "--hub", hub)
    with full.host("--port", str(port), *storage) as host:
        host.started()
        _run_sequence(host, port)
        _stops_cleanly(host)


def test_the_durable_host_fixture_needs_no_plugin_configuration(full: Environment) -> None:
    (full.project / "test_app.py").write_text(USER_TESTS, encoding="utf-8")
    assert sorted(path.name for path in full.project.iterdir()) == ["function_app.py", "test_app.py"]
    result = _run(full.python, "-m", "pytest", "test_app.py", cwd=full.project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rootdir: {full.project}" in result.stdout
    assert "2 passed" in result.stdout
