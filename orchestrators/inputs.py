"""Typed inputs for orchestrations and events, read by one parser.

Frozen dataclasses say what each orchestrator (and the approval event) accepts; `parse`
checks a raw value against one and names the wrong field, so the HTTP starter answers 400
before starting and an orchestrator fails with the same message (style.md, Errors).
"""

import dataclasses
import json
import math
import types
import typing
from datetime import datetime, timezone
from typing import Any, Callable, Literal, TypeVar, Union

from entities.counter import is_json_int

T = TypeVar("T")

_RULE = "rule"


class InputError(ValueError):
    """Raised when a value does not fit the dataclass it is parsed into; names the field."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """A check beyond the field's type, with the message shown when it fails."""

    holds: Callable[[Any], bool]
    message: str


def rule(holds: Callable[[Any], bool], message: str) -> dict[str, Rule]:
    """Field metadata for a check: `count: int = field(metadata=rule(...))`."""
    return {_RULE: Rule(holds, message)}


POSITIVE_INT = rule(lambda value: value > 0, "must be a positive integer")
NON_NEGATIVE_INT = rule(lambda value: value >= 0, "must be 0 or a positive integer")
POSITIVE = rule(lambda value: value > 0, "must be greater than 0")
NON_NEGATIVE = rule(lambda value: value >= 0, "must be 0 or more")
NON_EMPTY = rule(
    lambda value: len(value.strip() if isinstance(value, str) else value) > 0, "must not be empty"
)


def parse(cls: type[T], raw: Any) -> T:
    """Reads `raw` into the dataclass `cls`; raises InputError naming the first bad field.

    `raw` may be a dict, None (read as `{}`, so the first required field is named), or
    JSON text holding an object: SDK clients send inputs and event payloads as a JSON
    string of JSON text, which reaches the orchestrator still encoded once
    (docs/protocol.md I.1).
    """
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InputError("input: must be a JSON object, got text that is not JSON") from None
    return _read_dataclass(cls, {} if raw is None else raw, "")


def _read_dataclass(cls: type[T], raw: Any, path: str) -> T:
    if not isinstance(raw, dict):
        raise InputError(f"{path or 'input'}: must be a JSON object")
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        expected = ", ".join(fields)
        raise InputError(f"{_join(path, unknown[0])}: unknown field (expected {expected})")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        where = _join(path, name)
        if name not in raw:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise InputError(f"{where}: is required")
            continue
        value = _read_value(hints[name], raw[name], where)
        check = field.metadata.get(_RULE)
        if check is not None and value is not None and not check.holds(value):
            raise InputError(f"{where}: {check.message}")
        values[name] = value
    return cls(**values)


def _read_value(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [arg for arg in args if arg is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"{where}: parse() supports Optional[T], not {hint!r}")
        return _read_value(inner[0], value, where)
    if origin is Literal:
        # `type(...) is` keeps True from matching 1, as JSON keeps them apart.
        if any(value == choice and type(value) is type(choice) for choice in args):
            return value
        raise InputError(f"{where}: must be one of {', '.join(json.dumps(a) for a in args)}")
    if origin is list:
        if not isinstance(value, list):
            raise InputError(f"{where}: must be a list")
        return [_read_value(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if dataclasses.is_dataclass(hint):
        return _read_dataclass(hint, value, where)  # type: ignore[arg-type]
    return _read_scalar(hint, value, where)


def _read_scalar(hint: Any, value: Any, where: str) -> Any:
    # bool is a subclass of int in Python but not a number in JSON: keep them apart.
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and is_json_int(value):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value):
            return float(value)
    if hint is str and isinstance(value, str):
        return value
    if hint is Any:
        return value
    if hint not in _TYPE_NAMES:
        raise TypeError(f"{where}: parse() does not support fields of type {hint!r}")
    raise InputError(f"{where}: must be {_TYPE_NAMES[hint]}")


_TYPE_NAMES: dict[Any, str] = {
    bool: "true or false",
    int: "an integer",
    float: "a finite number",
    str: "a string",
}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# Times travel between orchestrations, activities and callers as ISO 8601 UTC text.


def iso_utc(moment: datetime) -> str:
    """`2024-05-01T10:00:00Z`: how every time in inputs and outputs is written."""
    text = moment.astimezone(timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def parse_iso_utc(text: str) -> datetime:
    """Reads ISO 8601 text with a `Z` or an offset; a time without a zone is refused."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(timezone.utc)


def _is_iso_utc(text: str) -> bool:
    try:
        parse_iso_utc(text)
    except ValueError:
        return False
    return True


ISO_UTC = rule(_is_iso_utc, "must be an ISO 8601 time with a zone, e.g. 2024-05-01T10:00:00Z")
