"""The one input parser: types, defaults, unknown fields, rules, and where errors point."""

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal, Optional

import pytest

from orchestrators import STARTABLE, InputError, OrderInput, parse
from orchestrators.inputs import ISO_UTC, NON_EMPTY, POSITIVE_INT, iso_utc, parse_iso_utc


@dataclass(frozen=True)
class Part:
    name: str = field(metadata=NON_EMPTY)
    count: int = field(default=1, metadata=POSITIVE_INT)


@dataclass(frozen=True)
class Assembly:
    title: str
    parts: list[Part]
    mode: Literal["fast", "slow"] = "fast"
    weight: float = 0.0
    note: Optional[str] = None
    active: bool = True
    due: Optional[str] = field(default=None, metadata=ISO_UTC)


def test_reads_nested_dataclasses_and_fills_defaults() -> None:
    parsed = parse(Assembly, {"title": "t", "parts": [{"name": "a"}, {"name": "b", "count": 3}]})

    assert parsed == Assembly(title="t", parts=[Part("a", 1), Part("b", 3)])


def test_json_text_of_an_object_reads_like_the_object() -> None:
    raw = {"title": "t", "parts": [], "weight": 2}

    assert parse(Assembly, json.dumps(raw)) == parse(Assembly, raw)


def test_integer_weight_is_accepted_as_a_float() -> None:
    assert parse(Assembly, {"title": "t", "parts": [], "weight": 2}).weight == 2.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"parts": []}, "title: is required"),
        ({"title": 5, "parts": []}, "title: must be a string"),
        ({"title": "t", "parts": {}}, "parts: must be a list"),
        (
            {"title": "t", "parts": [{"name": "a", "count": 0}]},
            "parts[0].count: must be a positive integer",
        ),
        (
            {"title": "t", "parts": [{"name": "a"}, {"name": " "}]},
            "parts[1].name: must not be empty",
        ),
        (
            {"title": "t", "parts": [{"name": "a", "count": True}]},
            "parts[0].count: must be an integer",
        ),
        (
            {"title": "t", "parts": [{"name": "a", "count": 1.5}]},
            "parts[0].count: must be an integer",
        ),
        ({"title": "t", "parts": [], "weight": True}, "weight: must be a finite number"),
        ({"title": "t", "parts": [], "active": 1}, "active: must be true or false"),
        ({"title": "t", "parts": [], "mode": "warp"}, 'mode: must be one of "fast", "slow"'),
        ({"title": "t", "parts": ["a"]}, "parts[0]: must be a JSON object"),
        ({"title": "t", "parts": [], "due": "tomorrow"}, "due: must be an ISO 8601 time"),
        ({"title": "t", "parts": [], "colour": "red"}, "colour: unknown field"),
        ({"title": "t", "parts": [{"name": "a", "size": 1}]}, "parts[0].size: unknown field"),
    ],
)
def test_errors_name_the_field_and_what_was_wrong(raw: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(Assembly, raw)

    assert str(caught.value).startswith(message)


def test_optional_fields_accept_null() -> None:
    assert parse(Assembly, {"title": "t", "parts": [], "note": None}).note is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "input: must be a JSON object, got text that is not JSON"),
        ("[1, 2]", "input: must be a JSON object"),
        ([1, 2], "input: must be a JSON object"),
    ],
)
def test_anything_but_an_object_is_refused_as_a_whole(raw: object, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        parse(Assembly, raw)


def test_missing_input_names_the_first_required_field() -> None:
    with pytest.raises(InputError, match="^title: is required$"):
        parse(Assembly, None)


def test_input_error_is_a_value_error() -> None:
    assert issubclass(InputError, ValueError)


def test_order_quantity_error_reads_as_in_the_docs() -> None:
    order = {
        "order_id": "o-1",
        "customer": {"id": "c-1", "email": "ann@example.com"},
        "items": [{"sku": "BOOK-001", "quantity": 0, "unit_price": 1.0}],
        "payment": {"card": "4242"},
    }

    with pytest.raises(InputError, match=r"^items\[0\]\.quantity: must be a positive integer$"):
        parse(OrderInput, order)


def test_every_startable_orchestrator_has_an_input_dataclass() -> None:
    assert set(STARTABLE) == {
        "process_order",
        "summarize_blobs",
        "generate_report",
        "monitor_job",
        "approval_workflow",
    }


def test_times_are_written_in_utc_with_z_and_read_back() -> None:
    moment = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)

    assert iso_utc(moment) == "2024-05-01T10:00:00Z"
    assert parse_iso_utc("2024-05-01T12:00:00+02:00") == moment


def test_a_time_without_zone_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_iso_utc("2024-05-01T10:00:00")
