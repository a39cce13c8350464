"""Test function apps the hosts under test load, by folder."""

import json
import shutil
from pathlib import Path
from typing import Any

# The fixture app touching every feature of the host, for devhost's protocol tests.
PROTOCOL_APP = Path(__file__).resolve().parents[1] / "apps" / "protocol_app"

# The SDK's versioning sample, as a user would write it (host.json: defaultVersion 1.0).
VERSIONING_APP = Path(__file__).resolve().parents[1] / "apps" / "versioning_app"


def app_with_settings(source: Path, destination: Path, durable_task: dict[str, Any]) -> Path:
    """A copy of the app in `source` whose host.json has these `extensions.durableTask`
    settings: what a deployment with another host.json would run."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "function_app.py", destination / "function_app.py")
    write_durable_settings(destination, durable_task)
    return destination


def write_durable_settings(app_dir: Path, durable_task: dict[str, Any]) -> None:
    host_json = {"version": "2.0", "extensions": {"durableTask": durable_task}}
    (app_dir / "host.json").write_text(json.dumps(host_json, indent=2), encoding="utf-8")

# HTTP functions that read and answer in every way the worker supports.
HTTP_APP = Path(__file__).resolve().parents[1] / "apps" / "http_app"

# Calls every public method of the SDK's DurableOrchestrationClient from an HTTP function.
CLIENT_APP = Path(__file__).resolve().parents[1] / "apps" / "client_app"

# An activity that never returns.
STUCK_APP = Path(__file__).resolve().parents[1] / "apps" / "stuck_app"

# Table input and output bindings from HTTP functions and an activity.
TABLE_APP = Path(__file__).resolve().parents[1] / "apps" / "table_app"

# Queue triggers and outputs; each queue named by an app setting (tests give their own).
QUEUE_APP = Path(__file__).resolve().parents[1] / "apps" / "queue_app"

# Blob triggers, inputs and outputs on containers named by app settings.
BLOB_APP = Path(__file__).resolve().parents[1] / "apps" / "blob_app"

# One blob trigger and one blob input whose paths and connection come from app settings,
# to be set wrong one at a time.
BLOB_CONFIG_APP = Path(__file__).resolve().parents[1] / "apps" / "blob_config_app"

# Timer functions that record each call (one reads its schedule from TIMER_APP_SCHEDULE).
TIMER_APP = Path(__file__).resolve().parents[1] / "apps" / "timer_app"

# host.json routePrefix "" and a function at `/`: an app that owns the root.
ROOT_ROUTE_APP = Path(__file__).resolve().parents[1] / "apps" / "root_route_app"

# Routes of each authorization level and an orchestration to manage, for `--enforce-keys`.
KEYS_APP = Path(__file__).resolve().parents[1] / "apps" / "keys_app"
