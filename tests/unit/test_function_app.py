"""What the Functions host indexes from `function_app.py`: names, triggers, routes, auth."""

import importlib.util
from pathlib import Path

import pytest
from azure.functions.decorators.core import AuthLevel
from azure.functions.decorators.function_app import Function

from orchestrators import STARTABLE

APP_FILE = Path(__file__).resolve().parents[2] / "function_app.py"

ORCHESTRATORS = {
    "process_order",
    "summarize_blobs",
    "summarize_blob_batch",
    "generate_report",
    "monitor_job",
    "approval_workflow",
}
ACTIVITIES = {
    "validate_order",
    "reserve_stock",
    "release_stock",
    "charge_payment",
    "ship_order",
    "notify_customer",
    "list_blobs",
    "analyze_blob",
    "write_blob_report",
    "build_report_section",
    "render_report",
    "check_job_status",
    "send_alert",
    "request_approval",
    "escalate_approval",
    "record_decision",
}
ROUTES = {
    "start_orchestration": ("orchestrators/{functionName}", ["POST"]),
    "answer_approval": ("approvals/{instanceId}", ["POST"]),
    "signal_counter": ("counters/{key}/{operation}", ["POST"]),
    "read_counter": ("counters/{key}", ["GET"]),
}


@pytest.fixture(scope="module")
def functions() -> dict[str, Function]:
    """Indexes a fresh load of the app, as a host does: `get_functions()` works once per app."""
    spec = importlib.util.spec_from_file_location("function_app_under_test", APP_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {function.get_function_name(): function for function in module.app.get_functions()}


def by_trigger(functions: dict[str, Function], trigger: str) -> set[str]:
    return {name for name, function in functions.items() if function.get_trigger().type == trigger}


def test_app_has_every_orchestrator(functions: dict[str, Function]) -> None:
    assert by_trigger(functions, "orchestrationTrigger") == ORCHESTRATORS


def test_app_has_every_activity(functions: dict[str, Function]) -> None:
    assert by_trigger(functions, "activityTrigger") == ACTIVITIES


def test_app_has_the_counter_entity(functions: dict[str, Function]) -> None:
    assert by_trigger(functions, "entityTrigger") == {"Counter"}


def test_http_routes_match_the_contract(functions: dict[str, Function]) -> None:
    assert by_trigger(functions, "httpTrigger") == set(ROUTES)
    for name, (route, methods) in ROUTES.items():
        trigger = functions[name].get_trigger()
        assert trigger.route == route
        assert [str(method) for method in trigger.methods] == methods
        assert trigger.auth_level == AuthLevel.FUNCTION


def test_http_routes_get_a_durable_client(functions: dict[str, Function]) -> None:
    for name in ROUTES:
        types = {binding.type for binding in functions[name].get_bindings()}
        assert types == {"httpTrigger", "http", "durableClient"}


def test_every_startable_orchestrator_is_registered(functions: dict[str, Function]) -> None:
    assert set(STARTABLE) <= ORCHESTRATORS
