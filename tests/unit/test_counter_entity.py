"""The `Counter` entity run through the SDK's entity entry point with real batch JSON."""

import json
from typing import Any, Optional

from devhost.protocol import EntityBatchResult, EntityRequest, entity_batch, parse_entity_result
from entities import Counter

_NO_INPUT = object()


def op(operation: str, value: Any = _NO_INPUT, *, signal: bool = True) -> EntityRequest:
    """A request as ext delivers it: input as a JSON string literal of the JSON text (E)."""
    wire = None if value is _NO_INPUT else json.dumps(json.dumps(value))
    return EntityRequest(id=f"req-{operation}", operation=operation, is_signal=signal, input=wire)


def run(*requests: EntityRequest, state: Optional[int] = None) -> EntityBatchResult:
    batch = entity_batch(
        name="counter",
        key="k1",
        exists=state is not None,
        state=None if state is None else json.dumps(state),
        requests=list(requests),
    )
    return parse_entity_result(Counter._function.get_user_function()(batch))


def results(outcome: EntityBatchResult) -> list[Any]:
    return [json.loads(item.result) for item in outcome.outcomes]


def test_adds_accumulate_from_zero_and_get_returns_the_value() -> None:
    outcome = run(op("add", 5), op("add", 3), op("get", signal=False))

    assert outcome.exists
    assert json.loads(outcome.state) == 8
    assert results(outcome) == [None, None, 8]
    assert not any(item.is_error for item in outcome.outcomes)


def test_state_carries_over_between_batches() -> None:
    outcome = run(op("add", -2), op("get", signal=False), state=10)

    assert results(outcome)[-1] == 8


def test_reset_sets_zero() -> None:
    outcome = run(op("reset"), state=42)

    assert outcome.exists
    assert json.loads(outcome.state) == 0


def test_get_of_a_new_counter_is_zero() -> None:
    outcome = run(op("get", signal=False))

    assert results(outcome) == [0]
    assert json.loads(outcome.state) == 0


def test_delete_removes_the_entity() -> None:
    outcome = run(op("delete"), state=7)

    assert not outcome.exists
    assert outcome.state == "null"


def test_bad_add_input_is_an_error_result_and_keeps_the_state() -> None:
    as_http_api_sends_json = EntityRequest(id="req-raw", operation="add", is_signal=True, input="1")
    outcome = run(op("add", "5"), op("add", True), op("add"), as_http_api_sends_json, op("add", 1), state=10)

    errors = [(item.is_error, json.loads(item.result)) for item in outcome.outcomes[:4]]
    undecodable = "add needs an integer input the SDK can decode: the JSON object must be str, bytes or bytearray"
    assert errors == [
        (True, "add needs an integer input, got '5'"),
        (True, "add needs an integer input, got True"),
        (True, f"{undecodable}, not NoneType"),
        (True, f"{undecodable}, not int"),
    ]
    assert not outcome.outcomes[4].is_error
    assert json.loads(outcome.state) == 11


def test_bad_add_on_a_new_counter_does_not_create_it() -> None:
    outcome = run(op("add", "x"))

    assert not outcome.exists


def test_unknown_operation_is_an_error_result() -> None:
    outcome = run(op("multiply", 2), state=3)

    assert outcome.outcomes[0].is_error
    assert json.loads(outcome.outcomes[0].result).startswith("unknown operation 'multiply'")
    assert json.loads(outcome.state) == 3
