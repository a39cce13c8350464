"""How the host reads an app's settings, as `func start` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.config import load_config
from devhost.errors import StartupError


def _app(tmp_path: Path, host: dict, values: dict) -> Path:
    (tmp_path / "host.json").write_text(json.dumps(host))
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": values}))
    return tmp_path


def test_local_settings_fill_in_what_the_environment_lacks_and_leave_it_alone(tmp_path: Path) -> None:
    """Only a running host puts them into the environment (tests/e2e/test_host_isolation.py)."""
    env = {"Existing": "from-shell", "HubSetting": "FromShell"}
    host = {"extensions": {"durableTask": {"hubName": "%HubSetting%"}}}
    values = {"Existing": "from-file", "New": "value", "HubSetting": "FromFile", "Unset": None}
    config = load_config(_app(tmp_path, host, values), environ=env)
    assert (config.hub, config.connection) == ("FromShell", None)
    assert config.app_settings == {"Existing": "from-file", "New": "value", "HubSetting": "FromFile"}
    assert env == {"Existing": "from-shell", "HubSetting": "FromShell"}


def test_hub_name_resolution(tmp_path: Path) -> None:
    host = {"extensions": {"durableTask": {"hubName": "%HubSetting%"}}}
    app = _app(tmp_path, host, {"HubSetting": "FromSetting"})
    assert load_config(app, environ={}).hub == "FromSetting"
    assert load_config(app, hub="FromFlag", environ={}).hub == "FromFlag"
    assert load_config(_app(tmp_path, {}, {}), environ={"WEBSITE_SITE_NAME": "site"}).hub == "site"
    assert load_config(_app(tmp_path, {}, {}), environ={}).hub == "TestHubName"


def test_durable_settings_come_from_host_json(tmp_path: Path) -> None:
    host = {
        "extensions": {
            "durableTask": {"maxConcurrentActivityFunctions": 3, "maxEntityOperationBatchSize": 7},
            "http": {"routePrefix": "/v1/"},
        }
    }
    config = load_config(_app(tmp_path, host, {}), environ={})
    assert (config.engine.max_concurrent_activities, config.engine.max_entity_batch) == (3, 7)
    assert config.route_prefix == "v1"


def test_bad_settings_are_startup_errors(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{broken")
    with pytest.raises(StartupError, match="not valid JSON"):
        load_config(tmp_path, environ={})
    bad = {"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 0}}}
    with pytest.raises(StartupError, match="positive integer"):
        load_config(_app(tmp_path, bad, {}), environ={})


def test_an_unsupported_durable_setting_is_said_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "host.json").write_text(
        '{"extensions": {"durableTask": {"overridableExistingInstanceStates": "AnyState"}}}'
    )
    load_config(tmp_path, environ={})
    assert "overridableExistingInstanceStates AnyState is not supported" in caplog.text


def test_a_virtual_clock_on_azure_storage_gets_its_own_hub_unless_one_is_named(tmp_path: Path) -> None:
    app = _app(tmp_path, {"extensions": {"durableTask": {"hubName": "Orders"}}}, {})
    assert load_config(app, storage="azurite", virtual_clock=True, environ={}).hub == "OrdersVirtualClock"
    assert load_config(app, storage="azurite", virtual_clock=True, hub="Mine", environ={}).hub == "Mine"
    assert load_config(app, storage="azurite", environ={}).hub == "Orders"
    assert load_config(app, storage="memory", virtual_clock=True, environ={}).hub == "Orders"


def _provider(tmp_path: Path, **settings: object) -> Path:
    return _app(tmp_path, {"extensions": {"durableTask": {"storageProvider": settings}}}, {})


def test_queue_visibility_is_the_extensions_five_minutes_unless_host_json_sets_it(tmp_path: Path) -> None:
    default = load_config(_provider(tmp_path), environ={})
    assert (default.control_visibility_s, default.work_item_visibility_s) == (300, 300)
    app = _provider(tmp_path, controlQueueVisibilityTimeout="00:00:10", workItemQueueVisibilityTimeout="00:02:30.5")
    config = load_config(app, environ={})
    assert (config.control_visibility_s, config.work_item_visibility_s) == (10, 150.5)


def test_a_number_of_visibility_is_days_as_the_configuration_binder_reads_it(tmp_path: Path) -> None:
    assert load_config(_provider(tmp_path, controlQueueVisibilityTimeout=2), environ={}).control_visibility_s == 172800


@pytest.mark.parametrize("value", ["soon", "00:00:00", "-00:01:00", "8.00:00:00", 30, True])
def test_a_queue_visibility_out_of_the_queues_range_stops_the_start(tmp_path: Path, value: object) -> None:
    app = _provider(tmp_path, workItemQueueVisibilityTimeout=value)
    with pytest.raises(StartupError, match="'workItemQueueVisibilityTimeout' must be a TimeSpan"):
        load_config(app, environ={})
