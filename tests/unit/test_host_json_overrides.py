"""App settings named `AzureFunctionsJobHost__...` override host.json, as the Functions host
reads them (infra/ sets the task hub this way in Azure)."""

from __future__ import annotations

import json
from pathlib import Path

from devhost.config import load_config


def _app(tmp_path: Path, host_json: dict[str, object], values: dict[str, str]) -> Path:
    (tmp_path / "host.json").write_text(json.dumps(host_json))
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return tmp_path


def test_an_app_setting_overrides_host_json_ignoring_case(tmp_path: Path) -> None:
    host_json = {"version": "2.0", "extensions": {"durableTask": {"hubName": "FromHostJson"}}}
    values = {"AzureFunctionsJobHost__Extensions__DurableTask__HubName": "FromSettings"}
    config = load_config(_app(tmp_path, host_json, values), environ={})
    assert config.hub == "FromSettings"


def test_numbers_and_new_sections_come_from_settings_too(tmp_path: Path) -> None:
    values = {
        "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions": "3",
        "AzureFunctionsJobHost__extensions__http__routePrefix": "v1",
    }
    config = load_config(_app(tmp_path, {"version": "2.0"}, values), environ={})
    assert (config.engine.max_concurrent_activities, config.route_prefix) == (3, "v1")


def test_the_environment_wins_over_local_settings(tmp_path: Path) -> None:
    values = {"AzureFunctionsJobHost__extensions__durableTask__hubName": "FromSettings"}
    environ = {"AzureFunctionsJobHost__extensions__durableTask__hubName": "FromEnvironment"}
    config = load_config(_app(tmp_path, {"version": "2.0"}, values), environ=environ)
    assert config.hub == "FromEnvironment"
