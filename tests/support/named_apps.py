"""Small v2 apps written into a test's folder, all with the same module names (every
app's `function_app`, and a `helpers` package), each saying which app it is: for the
tests that hosts of different apps, or of one app twice, keep apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]

_FUNCTION_APP = '''
import os

import azure.durable_functions as df
import azure.functions as func

from helpers import state

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def which_app(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("count_call", None))


@app.activity_trigger(input_name="payload")
def count_call(payload: None) -> dict:
    """Which app's module ran, how often its state says it ran, and the app's setting."""
    state.calls += 1
    return {"app": state.APP, "calls": state.calls, "setting": os.environ.get(state.SETTING)}


@app.route(route="start", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("which_app")
    return client.create_check_status_response(req, instance_id)
'''


def setting_name(name: str) -> str:
    """The app setting the app `name` has in its local.settings.json (and nothing else)."""
    return f"NAMED_APP_{name.upper()}_SETTING"


def write_app(folder: Path, name: str) -> Path:
    """The app `name` in `folder`: `which_app` answers {"app": name, "calls": n,
    "setting": its local.settings.json value}, `POST /api/start` starts it through the
    SDK's client."""
    (folder / "helpers").mkdir(parents=True)
    (folder / "function_app.py").write_text(_FUNCTION_APP, encoding="utf-8")
    (folder / "helpers" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "helpers" / "state.py").write_text(
        f"APP = {name!r}\nSETTING = {setting_name(name)!r}\ncalls = 0\n", encoding="utf-8"
    )
    settings = {"IsEncrypted": False, "Values": {setting_name(name): f"from {name}"}}
    (folder / "local.settings.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


def run_pytest(cwd: Path, *args: str, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
    """A pytest session of its own in `cwd`, as a user's project runs it, with devhost's
    plugin loaded: by its entry point once devhost is installed, by name until then."""
    installed = any(ep.value == "devhost.pytest_plugin" for ep in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "devhost.pytest_plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=300,
    )
