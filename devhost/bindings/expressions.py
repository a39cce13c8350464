"""Binding expressions: `%Setting%` from app settings, `{name}` from the trigger's data.

The WebJobs host resolves `%...%` once, when it indexes a function (a missing setting
stops the start: WebJobs `NameResolverExtensions`, "'%X%' does not resolve to a value"), and
`{...}` on each call, from the trigger's binding data: its metadata (`{queueTrigger}`,
`{name}` of a blob path), the properties of a JSON payload (`{OrderId}`, `{a.b}`), and
the built-ins `{rand-guid}`/`{sys.randguid}` and `{DateTime}`/`{sys.utcnow}` (WebJobs
`BindingTemplateSource`, `SystemBindingData`). Names match ignoring case.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

_PARAMETER = re.compile(r"\{([^{}]+)\}")


class BindingExpressionError(ValueError):
    """A `{name}` the trigger's data does not hold: the call fails, naming it."""


def parameter_names(template: str) -> list[str]:
    """The `{...}` expressions of a template, in order (repeats included)."""
    return [match.group(1).strip() for match in _PARAMETER.finditer(template)]


def substitute(template: str, value: Callable[[str], str]) -> str:
    """The template with each `{expression}` replaced by `value(expression)`."""
    return _PARAMETER.sub(lambda match: value(match.group(1).strip()), template)


class SettingError(ValueError):
    """A `%Setting%` reference that resolves to nothing; the message is the host's."""


def resolve_settings(text: str, settings: Mapping[str, str]) -> str:
    """Each `%NAME%` replaced by that app setting's value, as WebJobs' `INameResolver`
    `ResolveWholeString` does: left to right, values not resolved again, an unmatched
    `%` and a missing setting both errors."""
    resolved: list[str] = []
    position = 0
    while position < len(text):
        start = text.find("%", position)
        if start < 0:
            resolved.append(text[position:])
            break
        end = text.find("%", start + 1)
        if end < 0:
            raise SettingError(f"The '%' at position {start} does not have a closing '%'")
        name = text[start + 1 : end]
        value = _setting(settings, name) if name else None
        if value is None:
            raise SettingError(f"'%{name}%' does not resolve to a value.")
        resolved.append(text[position:start])
        resolved.append(value)
        position = end + 1
    return "".join(resolved)


def _setting(settings: Mapping[str, str], name: str) -> str | None:
    """The app setting the host's configuration would answer for `name`: its keys ignore
    case, and a setting written `A__B` (as environment variables must) is the key `A:B`."""
    if name in settings:
        return settings[name]
    wanted = name.replace("__", ":").casefold()
    for key, value in settings.items():
        if key.replace("__", ":").casefold() == wanted:
            return value
    return None


def resolve_binding_settings(binding: Mapping[str, Any], settings: Mapping[str, str]) -> dict[str, Any]:
    """Every string property of a binding with its `%Setting%` references resolved;
    raises SettingError."""
    return {
        key: resolve_settings(value, settings) if isinstance(value, str) and key not in ("name", "type") else value
        for key, value in binding.items()
    }


class BindingData:
    """The values a call's `{...}` expressions read: the trigger's data, then the
    properties of a JSON object payload (a queue message holding an order: the host
    adds them for a trigger whose content parses as a JSON object), parsed only when an
    expression needs a value; then the built-ins."""

    def __init__(self, values: Mapping[str, Any], now: datetime, payload: str | None = None) -> None:
        self._given = values
        self._payload = payload
        self._values: dict[str, Any] | None = None
        self._now = now

    def _all(self) -> dict[str, Any]:
        if self._values is None:
            merged: dict[str, Any] = {}
            if self._payload:
                try:
                    parsed = json.loads(self._payload)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    merged.update(parsed)
            merged.update(self._given)
            self._values = {key.lower(): value for key, value in merged.items()}
        return self._values

    def resolve(self, template: str) -> str:
        return substitute(template, self._value)

    def _value(self, expression: str) -> str:
        name = expression.strip()
        lowered = name.lower()
        if lowered in ("rand-guid", "sys.randguid"):
            return str(uuid.uuid4())
        if lowered in ("datetime", "sys.utcnow"):
            # WebJobs formats `{DateTime}` for use in blob names: no colons.
            return self._now.strftime("%Y-%m-%dT%H-%M-%SZ")
        head, *path = lowered.split(".")
        values = self._all()
        if head not in values:
            raise BindingExpressionError(f"No value for named parameter '{name}'.")
        value: Any = values[head]
        for part in path:
            if not isinstance(value, dict):
                raise BindingExpressionError(f"No value for named parameter '{name}'.")
            matches = {key.lower(): item for key, item in value.items()}
            if part not in matches:
                raise BindingExpressionError(f"No value for named parameter '{name}'.")
            value = matches[part]
        return value if isinstance(value, str) else _json_text(value)


def _json_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else str(value)
