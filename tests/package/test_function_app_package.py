"""The function app's deployment package, as `make package` builds and checks it
(scripts/package.py): what it holds, under Core Tools' rules for `.funcignore`; that
requirements.txt installs into a fresh virtual environment on its own; and that with
only that environment the unzipped package indexes every function of the app, as the
Python worker indexes it. pip's cache is used as usual (`pytest -s` shows the times).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from scripts.package import FuncIgnore, build, forbidden, fresh_environment, index, package_files, trigger, unzip
from tests.support.processes import ROOT

# The app, read from its blueprints: function name -> trigger type.
ORCHESTRATORS = (
    "process_order", "summarize_blobs", "summarize_blob_batch", "generate_report", "monitor_job", "approval_workflow",
)  # fmt: skip
ACTIVITIES = (
    "validate_order", "reserve_stock", "release_stock", "charge_payment", "ship_order", "notify_customer",  # orders
    "list_blobs", "analyze_blob", "write_blob_report",  # blobs
    "build_report_section", "render_report",  # reports
    "check_job_status", "send_alert",  # jobs
    "request_approval", "escalate_approval", "record_decision",  # approvals
)  # fmt: skip
EXPECTED_TRIGGERS = {
    **dict.fromkeys(ORCHESTRATORS, "orchestrationTrigger"),
    **dict.fromkeys(ACTIVITIES, "activityTrigger"),
    "Counter": "entityTrigger",
    "start_orchestration": "httpTrigger",
    "answer_approval": "httpTrigger",
    "signal_counter": "httpTrigger",
    "read_counter": "httpTrigger",
    "intake_order": "queueTrigger",
    "nightly_summary": "timerTrigger",
}
# routes.py: function -> (route, methods); every one FUNCTION-level, with a durable client.
ROUTES = {
    "start_orchestration": ("orchestrators/{functionName}", ["POST"]),
    "answer_approval": ("approvals/{instanceId}", ["POST"]),
    "signal_counter": ("counters/{key}/{operation}", ["POST"]),
    "read_counter": ("counters/{key}", ["GET"]),
}
APP_FILES = {"function_app.py", "host.json", "requirements.txt", "routes.py", "starters.py"}
APP_PACKAGES = {"activities", "entities", "orchestrators"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("dist") / "functionapp.zip"
    return out, build(ROOT, out)


@pytest.fixture(scope="module")
def deployed(package: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The unzipped package and a fresh environment from its requirements.txt alone."""
    folder = tmp_path_factory.mktemp("deployed")
    app_dir = unzip(package[0], folder / "wwwroot")
    began = time.monotonic()
    python = fresh_environment(folder / "venv", app_dir / "requirements.txt")
    print(f"\nfresh venv with requirements.txt in {time.monotonic() - began:.1f}s")
    return app_dir, python


def test_the_package_holds_the_function_app_and_nothing_else(package: tuple[Path, list[str]]) -> None:
    _, files = package
    assert {name.split("/")[0] for name in files} == APP_FILES | APP_PACKAGES
    assert forbidden(files) == []
    # Every module of the app's packages goes, and no cache of one.
    for folder in APP_PACKAGES:
        sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob("*.py")}
        assert sources == {name for name in files if name.startswith(f"{folder}/")}


def test_funcignore_reads_as_core_tools_reads_it(tmp_path: Path) -> None:
    for name in (
        "function_app.py", "tests/test_a.py", "tests.py", "app/tests/test_b.py", "notes.log", "keep.log",
        ".git/config", "app/.vscode/settings.json", "app/local.settings.json", ".gitignore",
        "app/__pycache__/m.pyc", "__pycache__/n.pyc", "docs/a/b.md", "app/docs.txt",
    ):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / ".funcignore").write_text("# comment\ntests\n*.log\n!keep.log\n/docs\n**/__pycache__\n")
    # Anchored at the root and ending at a word boundary: `tests` takes tests.py along but
    # not app/tests/; `**/__pycache__` needs a folder above it; .git, .vscode and the
    # settings files are left out wherever they are.
    assert package_files(tmp_path) == [
        "__pycache__/n.pyc", "app/docs.txt", "app/tests/test_b.py", "function_app.py", "keep.log",
    ]  # fmt: skip
    assert FuncIgnore(".git*").accepts(".git")  # a worktree's `.git` file needs its own line
    assert not FuncIgnore("__azurite_db*").accepts("__azurite_db_blob__.json")


def test_the_check_names_what_must_not_be_deployed() -> None:
    problems = forbidden([
        "function_app.py", "host.json", "tests/test_a.py", "devhost/cli.py", "app/.env", "local.settings.json",
        "__azurite_db_queue__.json", ".azurite/blob", "activities/__pycache__/a.cpython-311.pyc", "certs/site.pem",
    ])  # fmt: skip
    assert problems == [
        "requirements.txt: missing (Core Tools refuses to publish without it)",
        "tests/test_a.py: tests/ is not part of the function app",
        "devhost/cli.py: devhost/ is not part of the function app",
        "app/.env: settings or secrets stay local",
        "local.settings.json: settings or secrets stay local",
        "__azurite_db_queue__.json: local storage data",
        ".azurite/blob: local storage data",
        "activities/__pycache__/a.cpython-311.pyc: a local cache",
        "certs/site.pem: settings or secrets stay local",
    ]


def test_with_requirements_txt_alone_the_package_indexes_every_function(deployed: tuple[Path, Path]) -> None:
    app_dir, python = deployed
    functions: dict[str, Any] = {f["name"]: f for f in index(python, app_dir)}
    assert {name: trigger(f) for name, f in functions.items()} == EXPECTED_TRIGGERS
    for name, (route, methods) in ROUTES.items():
        http = next(b for b in functions[name]["bindings"] if b["type"] == "httpTrigger")
        assert (http["route"], http["methods"], http["authLevel"]) == (route, methods, "FUNCTION")
        assert any(b["type"] == "durableClient" for b in functions[name]["bindings"])
    queue = {b["type"]: b for b in functions["intake_order"]["bindings"]}
    assert (queue["queueTrigger"]["queueName"], queue["queue"]["queueName"]) == ("orders-incoming", "orders-incoming-poison")
    timer = next(b for b in functions["nightly_summary"]["bindings"] if b["type"] == "timerTrigger")
    assert timer["schedule"] == "%NIGHTLY_SUMMARY_SCHEDULE%"


def test_the_fresh_environment_is_the_deployment_s_alone(deployed: tuple[Path, Path]) -> None:
    app_dir, python = deployed
    # What activities/storage.py imports only for an identity-based connection is there,
    # and nothing of the development side is.
    probe = "import azure.identity.aio\ntry:\n    import devhost\nexcept ImportError:\n    print('alone')\n"
    run = subprocess.run([str(python), "-I", "-c", probe], cwd=app_dir, capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip()) == (0, "alone"), run.stderr
