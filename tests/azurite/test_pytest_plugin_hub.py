"""The pytest plugin on Azurite: a user's session whose tests each get a fresh host, all
on the one task hub the session named for itself."""

from __future__ import annotations

import re
from pathlib import Path

from devhost.azurite import AzuriteProcess
from tests.support.named_apps import run_pytest, write_app

_SHARED_HUB_TESTS = '''
import os

INSTANCE = "shared-" + os.environ["RUN_ID"]


async def test_one_starts_an_instance(durable_host):
    print(f"HUB={durable_host.hub}")
    await durable_host.wait(await durable_host.start("which_app", instance_id=INSTANCE))


async def test_the_next_host_finds_it_on_the_same_hub(durable_host):
    print(f"HUB={durable_host.hub}")
    assert (await durable_host.status(INSTANCE)).runtime_status == "Completed"
'''


def _session(project: Path, run_id: str, *args: str, env: dict[str, str]) -> set[str]:
    """The hubs one session's tests ran on; its header must name the same."""
    run = run_pytest(project, "-s", "--durable-storage", "azurite", *args, env={"RUN_ID": run_id, **env})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    [header] = re.findall(r"storage azurite \(task hub (\w+)\)", run.stdout)
    hubs = set(re.findall(r"HUB=(\w+)", run.stdout))
    assert hubs == {header}
    return hubs


def test_each_session_runs_its_tests_on_one_hub_of_its_own(tmp_path: Path, azurite: AzuriteProcess) -> None:
    project = tmp_path
    write_app(project / "app", "hub")
    (project / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\ndurable_app_dir = app\n", encoding="utf-8")
    (project / "test_hub.py").write_text(_SHARED_HUB_TESTS, encoding="utf-8")
    # The connection from the command line, then from AzureWebJobsStorage.
    first = _session(project, "1", "--durable-connection", azurite.connection_string, env={})
    second = _session(project, "2", env={"AzureWebJobsStorage": azurite.connection_string})
    assert first != second
