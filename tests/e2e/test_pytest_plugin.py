"""The pytest plugin as a user's project meets it: pytest sessions of their own, in a
folder of their own, choosing the app by the ini file or the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.named_apps import ROOT, run_pytest, write_app

_WHICH_APP_TEST = '''
import os


async def test_the_fixture_runs_the_chosen_app(durable_host):
    status = await durable_host.wait(await durable_host.start("which_app"))
    assert status.output["app"] == os.environ["EXPECTED_APP"]
'''


def _project(tmp_path: Path) -> Path:
    """A project with two apps, its tests in `tests/`, its ini choosing `apps/first`."""
    write_app(tmp_path / "apps" / "first", "first")
    write_app(tmp_path / "apps" / "second", "second")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\ndurable_app_dir = apps/first\n", encoding="utf-8"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(_WHICH_APP_TEST, encoding="utf-8")
    return tmp_path


def test_importing_devhost_testing_imports_no_test_framework() -> None:
    check = (
        "import devhost.testing, sys; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', 'pytest_asyncio')); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True, timeout=60)


def test_the_ini_file_names_the_app_relative_to_the_rootdir(tmp_path: Path) -> None:
    project = _project(tmp_path)
    # Started from tests/: the ini's folder is still read from the rootdir.
    run = run_pytest(project / "tests", "-q", env={"EXPECTED_APP": "first"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_the_command_line_wins_and_is_read_from_where_pytest_started(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = run_pytest(project / "tests", "-q", "--durable-app-dir", "../apps/second", env={"EXPECTED_APP": "second"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_the_header_says_which_app_and_store_the_session_uses(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = run_pytest(project, "--collect-only")
    assert f"devhost: app {project / 'apps' / 'first'}, storage memory (in memory)" in run.stdout


def test_an_unknown_store_in_the_ini_file_is_a_usage_error(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "pytest.ini").write_text("[pytest]\ndurable_storage = sqlite\n", encoding="utf-8")
    run = run_pytest(project, "-q")
    assert run.returncode == 4  # pytest's ExitCode.USAGE_ERROR
    assert "durable_storage must be memory or azurite, not 'sqlite'." in run.stderr
