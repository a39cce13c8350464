"""Binding expressions: `%Setting%` at start, `{name}` per call, as WebJobs resolves them."""

import re
from datetime import datetime, timezone

import pytest

from devhost.bindings.expressions import (
    BindingData,
    BindingExpressionError,
    SettingError,
    resolve_binding_settings,
    resolve_settings,
)

NOW = datetime(2026, 12, 1, 2, 3, 4, tzinfo=timezone.utc)


def test_setting_references_are_replaced_by_their_values() -> None:
    settings = {"NightlySchedule": "0 0 2 * * *", "Hour": "2", "Schedules__Weekly": "0 0 3 * * 1"}
    assert resolve_settings("%NightlySchedule%", settings) == "0 0 2 * * *"
    assert resolve_settings("0 0 %Hour% * * %Hour%", settings) == "0 0 2 * * 2"
    # The host's configuration ignores case and reads A__B as A:B.
    assert resolve_settings("%nightlyschedule%", settings) == "0 0 2 * * *"
    assert resolve_settings("%Schedules:Weekly%", settings) == "0 0 3 * * 1"
    assert resolve_settings("0 0 2 * * *", settings) == "0 0 2 * * *"


def test_a_value_is_not_resolved_again() -> None:
    assert resolve_settings("%A%", {"A": "%B%", "B": "x"}) == "%B%"


def test_a_missing_setting_is_refused_by_name() -> None:
    with pytest.raises(SettingError, match=r"'%NightlySchedule%' does not resolve to a value\."):
        resolve_settings("%NightlySchedule%", {})


def test_an_unclosed_reference_is_refused() -> None:
    with pytest.raises(SettingError, match="The '%' at position 0 does not have a closing '%'"):
        resolve_settings("%NightlySchedule", {"NightlySchedule": "x"})


def test_a_binding_keeps_its_name_and_type_as_written() -> None:
    binding = {"name": "%x%", "type": "queue", "queueName": "%Q%", "direction": "OUT"}
    assert resolve_binding_settings(binding, {"Q": "orders"}) == {
        "name": "%x%", "type": "queue", "queueName": "orders", "direction": "OUT"
    }


def test_names_resolve_from_trigger_data_ignoring_case_then_payload_properties() -> None:
    data = BindingData({"QueueTrigger": "raw", "name": "a.txt"}, NOW, '{"OrderId": "A-1", "customer": {"Id": 7}}')
    assert data.resolve("in/{name}") == "in/a.txt"
    assert data.resolve("{queuetrigger}") == "raw"
    assert data.resolve("orders/{orderId}/{customer.id}.json") == "orders/A-1/7.json"


def test_the_triggers_own_values_win_over_payload_properties() -> None:
    assert BindingData({"id": "message-id"}, NOW, '{"id": "payload-id"}').resolve("{id}") == "message-id"


def test_built_ins() -> None:
    data = BindingData({}, NOW)
    assert data.resolve("{DateTime}") == "2026-12-01T02-03-04Z"
    assert re.fullmatch(r"[0-9a-f-]{36}", data.resolve("{rand-guid}"))
    assert data.resolve("{rand-guid}") != data.resolve("{sys.randguid}")


@pytest.mark.parametrize("template", ["{missing}", "{customer.missing}", "{text.deeper}"])
def test_an_unknown_name_fails_the_call_naming_it(template: str) -> None:
    data = BindingData({"text": "plain"}, NOW, '{"customer": {"id": 1}}')
    with pytest.raises(BindingExpressionError, match="No value for named parameter"):
        data.resolve(template)


def test_a_payload_that_is_not_a_json_object_adds_nothing() -> None:
    with pytest.raises(BindingExpressionError):
        BindingData({}, NOW, "[1, 2]").resolve("{0}")
    with pytest.raises(BindingExpressionError):
        BindingData({}, NOW, "not json").resolve("{not}")
